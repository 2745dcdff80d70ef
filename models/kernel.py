"""Greedy decoding of one sentence on the CPU in NumPy.

For one sentence every operand is a vector or a small matrix, so the cost is in the calls, not in
the arithmetic: on this project's CPUs a PyTorch operation costs 3-10 µs of dispatch, a NumPy one
about 1 µs, and OpenBLAS (NumPy's) computes these matrix-vector products about twice as fast as
MKL (PyTorch's) does on AMD processors. ``CpuKernel`` runs ``Seq2Seq.encode`` and
``Decoder.step`` with the same arithmetic as PyTorch (to float rounding), on NumPy views of the
model's own weights (no copies but a few small transposes). It covers soft attention and hard
attention by argmax; sampled hard attention draws from PyTorch's generator and stays on PyTorch.
Tests pin it to the reference decoder (``tests/test_decoding_equivalence.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from .result import ALTERNATIVES, DecodedIds
from .vocab import BOS, EOS

if TYPE_CHECKING:
    from .seq2seq import Seq2Seq  # which imports this module


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor (a copy only when it is not contiguous)."""
    return t.detach().contiguous().numpy()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class _GruDirection(NamedTuple):
    """One direction of the encoder's GRU, hidden size h."""

    w_hh: np.ndarray  # (h, 3h): W_hh transposed (gates r, z, n)
    b_hh: np.ndarray  # (3h,)


class CpuKernel:
    """NumPy views of one model's weights and the arithmetic of ``encode`` and ``step`` for one sentence."""

    def __init__(self, model: Seq2Seq) -> None:
        enc, dec = model.encoder, model.decoder
        rnn = enc.rnn
        self.hidden = dec.cell.hidden_size  # H
        self.src_embed = _np(enc.embed.weight)  # (V_src, E)
        self.w_ih = np.concatenate([_np(rnn.weight_ih_l0), _np(rnn.weight_ih_l0_reverse)]).T  # (E, 6h), both directions
        self.b_ih = np.concatenate([_np(rnn.bias_ih_l0), _np(rnn.bias_ih_l0_reverse)])  # (6h,)
        self.directions = (
            _GruDirection(_np(rnn.weight_hh_l0).T.copy(), _np(rnn.bias_hh_l0)),
            _GruDirection(_np(rnn.weight_hh_l0_reverse).T.copy(), _np(rnn.bias_hh_l0_reverse)),
        )
        self.bridge = _np(enc.bridge.weight).T  # (H, H)
        self.bridge_bias = _np(enc.bridge.bias)
        scorer = dec.attention.scorer
        self.prepare: Callable[[torch.Tensor], torch.Tensor] = scorer.prepare  # once per sentence, on PyTorch
        self.score = scorer.numpy_score()  # q (Q,), keys (S, K) -> e (S,)
        self.hard = dec.attention.mode == "hard"
        w = dec.step_weights()
        self.table, self.query, self.query_bias = _np(w.table), _np(w.query), _np(w.query_bias)
        self.context, self.out, self.out_bias = _np(w.context), _np(w.out), _np(w.out_bias)
        self.split = (w.split[0], w.split[0] + w.split[1])  # where q and the projection's share start in s @ query

    def encode(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Source ids (S,), the end token last -> keys (S, K), values (S, H), s0 (H,)."""
        h2 = self.hidden // 2
        S = len(ids)
        gates_in = self.src_embed[ids] @ self.w_ih + self.b_ih  # (S, 6h): the input side of every step, both directions
        values = np.empty((S, self.hidden), dtype=np.float32)
        last = []
        for d, order in enumerate((range(S), range(S - 1, -1, -1))):
            w = self.directions[d]
            gi = gates_in[:, 3 * h2 * d : 3 * h2 * (d + 1)]  # (S, 3h)
            h = np.zeros(h2, dtype=np.float32)
            for t in order:
                gh = h @ w.w_hh + w.b_hh  # (3h,)
                rz = _sigmoid(gi[t, : 2 * h2] + gh[: 2 * h2])
                n = np.tanh(gi[t, 2 * h2 :] + rz[:h2] * gh[2 * h2 :])
                h = n + rz[h2:] * (h - n)  # (1 - z) n + z h
                values[t, h2 * d : h2 * (d + 1)] = h
            last.append(h)
        s0 = np.tanh(np.concatenate(last) @ self.bridge + self.bridge_bias)  # (H,)
        with torch.inference_mode():
            keys = _np(self.prepare(torch.from_numpy(values)))  # (S, K)
        return keys, values, s0

    def greedy(self, ids: list[int], max_len: int) -> DecodedIds:
        """Greedy decoding of one sentence (source ids, the end token last) for at most max_len
        tokens: what ``greedy_decode`` gives for it."""
        H, (q_at, p_at) = self.hidden, self.split
        keys, values, s = self.encode(ids)
        K = min(ALTERNATIVES, self.out.shape[1])
        gh = s @ self.query[:, :q_at] + self.query_bias[:q_at]  # (3H,) the hidden side of the first step's gates
        y = BOS
        out_ids: list[int] = []
        attention, alt_ids, alt_probs = [], [], []
        for _ in range(max_len):
            row = self.table[y]  # (3H + E,): W_ih E y + b_ih, W_p[:, 2H:] E y + b_p
            rz = _sigmoid(row[: 2 * H] + gh[: 2 * H])
            n = np.tanh(row[2 * H : 3 * H] + rz[:H] * gh[2 * H :])
            s = n + rz[H:] * (s - n)  # (H,) s_t
            mixed = s @ self.query + self.query_bias  # (3H + Q + E,)
            gh = mixed[:q_at]
            e = self.score(mixed[q_at:p_at] if p_at > q_at else s, keys)  # (S,)
            if self.hard:
                a = np.zeros_like(e)
                a[e.argmax()] = 1.0
            else:
                a = np.exp(e - e.max())
                a /= a.sum()
            o = np.tanh((a @ values) @ self.context + row[3 * H :] + mixed[p_at:])  # (E,)
            logits = o @ self.out + self.out_bias  # (V,)
            p = np.exp(logits - logits.max())
            p /= p.sum()
            top = np.argpartition(p, -K)[-K:]
            top = top[np.argsort(-p[top], kind="stable")]  # (K,) most likely first
            y = int(top[0])
            out_ids.append(y)
            attention.append(a)
            alt_ids.append(top)
            alt_probs.append(p[top])
            if y == EOS:
                break
        probs = np.array([q[0] for q in alt_probs], dtype=np.float32)
        return DecodedIds(
            ids=out_ids,
            attention=np.array(attention, dtype=np.float32),
            token_probs=probs,
            alt_ids=np.array(alt_ids, dtype=np.int64),
            alt_probs=np.array(alt_probs, dtype=np.float32),
            score=float(np.log(probs, dtype=np.float64).sum()),
            finished=y == EOS,
        )
