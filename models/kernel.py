"""Decoding on the CPU in NumPy: the encoder, the decoder's step, batched greedy decoding (one
sentence is a batch of one), and the decoder behind beam search.

For one sentence every operand is a vector or a small matrix, so the cost is in the calls, not in
the arithmetic: on this project's CPUs a PyTorch operation costs 3-10 µs of dispatch, a NumPy one
about 1 µs. For batches the cost is in the matrix products, and OpenBLAS (NumPy's) computes them
about twice as fast as MKL (PyTorch's) does on AMD processors. ``CpuKernel`` runs ``Seq2Seq.encode`` and
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

from .result import ALTERNATIVES, DecodedIds, read_record
from .vocab import BOS, EOS

if TYPE_CHECKING:
    from .seq2seq import Seq2Seq  # which imports this module


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor (a copy only when it is not contiguous)."""
    return t.detach().contiguous().numpy()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x), computed in x (callers pass a temporary)."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = x - x.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values along the last axis, largest first: (k,) for a vector,
    (n, k) for rows. Rows take k passes of argmax (five times quicker than argpartition for 64
    rows of a vocabulary), writing -inf over each pick and restoring it afterwards."""
    if x.ndim == 1:  # plain indexing: take_along_axis costs more than the rest for one row
        idx = np.argpartition(-x, k - 1)[:k]
        return idx[np.argsort(-x[idx], kind="stable")]
    rows = np.arange(x.shape[0])
    idx = np.empty((x.shape[0], k), dtype=np.intp)
    picked = np.empty((x.shape[0], k), dtype=x.dtype)
    for j in range(k):
        idx[:, j] = best = x.argmax(axis=1)
        picked[:, j] = x[rows, best]
        x[rows, best] = -np.inf
    for j in range(k):
        x[rows, idx[:, j]] = picked[:, j]
    return idx


class _GruDirection(NamedTuple):
    """One direction of the encoder's GRU, hidden size h."""

    w_hh: np.ndarray  # (h, 3h): W_hh transposed (gates r, z, n)
    b_hh: np.ndarray  # (3h,)


class KernelEncoded(NamedTuple):
    """B sentences of up to S tokens as the decoder reads them (B = 1 for beam search, whose
    beams share one sentence: the arrays broadcast over them)."""

    keys: np.ndarray  # (B, S, K) scorer.prepare(values)
    values: np.ndarray  # (B, S, H) encoder states, zero at padding
    s0: np.ndarray  # (B, H) initial decoder states
    bias: np.ndarray | None  # (B, S) added to the scores: 0 at real positions, -inf at padding; None without padding
    lengths: np.ndarray  # (B,) source lengths

    def select(self, rows: np.ndarray) -> KernelEncoded:
        """The sentences at ``rows`` (a boolean mask or indices)."""
        return KernelEncoded(self.keys[rows], self.values[rows], self.s0[rows], None if self.bias is None else self.bias[rows], self.lengths[rows])


class CpuKernel:
    """NumPy views of one model's weights and the arithmetic of ``encode`` and ``step``."""

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
        self.prepare: Callable[[torch.Tensor], torch.Tensor] = scorer.prepare  # once per batch, on PyTorch
        self.score = scorer.numpy_score()  # q (n, Q), keys (n or 1, S, K) -> e (n, S)
        self.hard = dec.attention.mode == "hard"
        w = dec.step_weights()
        self.table, self.query, self.query_bias = _np(w.table), _np(w.query), _np(w.query_bias)
        self.context, self.out, self.out_bias = _np(w.context), _np(w.out), _np(w.out_bias)
        self.q_at, self.p_at = w.split[0], w.split[0] + w.split[1]  # where q and the projection's share start in s @ query

    def encode(self, id_lists: list[list[int]]) -> KernelEncoded:
        """Source id lists (each ending in the end token) -> the batch, padded to the longest.

        Padding is masked in the recurrence: the forward GRU keeps its state past a sentence's
        end and the backward GRU starts at its last real token, as PyTorch's packed sequences do."""
        h2 = self.hidden // 2
        lengths = np.array([len(x) for x in id_lists])
        B, S = len(id_lists), int(lengths.max())
        padded = np.zeros((B, S), dtype=np.int64)
        for b, ids in enumerate(id_lists):
            padded[b, : len(ids)] = ids
        real = np.arange(S) < lengths[:, None]  # (B, S)
        ragged = not real.all()
        gates_in = (self.src_embed[padded.ravel()] @ self.w_ih + self.b_ih).reshape(B, S, -1)  # (B, S, 6h): the input side of every step, both directions
        values = np.zeros((B, S, self.hidden), dtype=np.float32)
        last = []
        for d, order in enumerate((range(S), range(S - 1, -1, -1))):
            w = self.directions[d]
            gi = gates_in[:, :, 3 * h2 * d : 3 * h2 * (d + 1)]  # (B, S, 3h)
            h = np.zeros((B, h2), dtype=np.float32)
            for t in order:
                gh = h @ w.w_hh + w.b_hh  # (B, 3h)
                rz = _sigmoid(gi[:, t, : 2 * h2] + gh[:, : 2 * h2])
                n = np.tanh(gi[:, t, 2 * h2 :] + rz[:, :h2] * gh[:, 2 * h2 :])
                new = n + rz[:, h2:] * (h - n)  # (1 - z) n + z h
                h = np.where(real[:, t, None], new, h) if ragged else new
                values[:, t, h2 * d : h2 * (d + 1)] = h
            last.append(h)
        if ragged:
            values[~real] = 0.0
        s0 = np.tanh(np.concatenate(last, axis=1) @ self.bridge + self.bridge_bias)  # (B, H)
        with torch.inference_mode():
            keys = _np(self.prepare(torch.from_numpy(values)))  # (B, S, K)
        bias = np.where(real, np.float32(0.0), np.float32(-np.inf)) if ragged else None
        return KernelEncoded(keys, values, s0, bias, lengths)

    def start(self, s: np.ndarray) -> np.ndarray:
        """Decoding state (n, 4H) from states s (n, H): [s ; W_hh s + b_hh], as ``Decoder.start``."""
        return np.concatenate([s, s @ self.query[:, : self.q_at] + self.query_bias[: self.q_at]], axis=1)

    def step(self, y: np.ndarray, state: np.ndarray, enc: KernelEncoded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``Decoder.step`` for n rows: previous tokens y (n,), state (n, 4H), ``enc`` holding n
        sentences or one that every row shares -> logits (n, V), the new state (n, 4H) and the
        attention weights used (n, S)."""
        H = self.hidden
        s, gh = state[:, :H], state[:, H:]  # (n, H), (n, 3H)
        row = self.table[y]  # (n, 3H + E): W_ih E y + b_ih | W_p[:, 2H:] E y + b_p
        rz = _sigmoid(row[:, : 2 * H] + gh[:, : 2 * H])
        n = np.tanh(row[:, 2 * H : 3 * H] + rz[:, :H] * gh[:, 2 * H :])
        s = n + rz[:, H:] * (s - n)  # (n, H) s_t
        mixed = s @ self.query + self.query_bias  # (n, 3H + Q + E): next gates | q | projection's share
        e = self.score(mixed[:, self.q_at : self.p_at] if self.p_at > self.q_at else s, enc.keys)  # (n, S)
        if enc.bias is not None:
            e = e + enc.bias
        if self.hard:
            a = np.zeros_like(e)
            np.put_along_axis(a, e.argmax(axis=1)[:, None], 1.0, axis=1)
        else:
            a = softmax(e)
        context = (a[:, None, :] @ enc.values)[:, 0]  # (n, H)
        o = np.tanh(context @ self.context + row[:, 3 * H :] + mixed[:, self.p_at :])  # (n, E)
        return o @ self.out + self.out_bias, np.concatenate([s, mixed[:, : self.q_at]], axis=1), a

    def greedy(self, id_lists: list[list[int]], max_lens: list[int]) -> list[DecodedIds]:
        """Greedy decoding of B sentences at once (source ids, the end token last): sentence b
        stops at its end token or after max_lens[b] tokens, and then leaves the batch. What
        ``greedy_decode`` gives for them."""
        enc = self.encode(id_lists)
        B, S = enc.bias.shape if enc.bias is not None else (len(id_lists), enc.keys.shape[1])
        K = min(ALTERNATIVES, self.out.shape[1])
        records = np.zeros((B, max(max_lens), 2 * K + S), dtype=np.float32)  # (B, T, 2K + S): as greedy.py's step_record
        lengths = np.zeros(B, dtype=np.int64)
        rows, caps = np.arange(B), np.array(max_lens)  # the sentences still decoding, their caps
        state, y = self.start(enc.s0), np.full(B, BOS)  # (n, 4H), (n,)
        for t in range(records.shape[1]):
            logits, state, a = self.step(y, state, enc)
            p = softmax(logits)  # (n, V)
            top = top_k(p, K)  # (n, K)
            y = top[:, 0]
            records[rows, t, :K] = np.take_along_axis(p, top, axis=1)
            records[rows, t, K : 2 * K] = top
            records[rows, t, 2 * K :] = a
            ended = (y == EOS) | (caps <= t + 1)
            if ended.any():
                lengths[rows[ended]] = t + 1
                if ended.all():
                    break
                live = ~ended
                rows, caps, y, state, enc = rows[live], caps[live], y[live], state[live], enc.select(live)
        src_lens = [len(x) for x in id_lists]
        return [read_record(records[b, : lengths[b]], K, src_lens[b]) for b in range(B)]


class KernelStepper:
    """The kernel as the decoder behind beam search (models/beam.py ``Stepper``) for one sentence."""

    def __init__(self, kernel: CpuKernel, ids: list[int]) -> None:
        self.kernel = kernel
        self.enc = kernel.encode([ids])  # one sentence that every beam shares
        self.state = kernel.start(self.enc.s0)  # (n, 4H)

    def step(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, self.state, a = self.kernel.step(y, self.state, self.enc)
        return log_softmax(logits), a

    def keep(self, rows: np.ndarray) -> None:
        self.state = self.state[rows]
