"""One sentence on the CPU in NumPy: the encoder, the decoder's step, greedy decoding, and the
decoder behind beam search.

For one sentence every operand is a vector or a small matrix, so the cost is in the calls, not in
the arithmetic: on this project's CPUs a PyTorch operation costs 3-10 µs of dispatch, a NumPy one
about 1 µs, and OpenBLAS (NumPy's) computes these small matrix products about twice as fast as
MKL (PyTorch's) does on AMD processors. ``CpuKernel`` runs ``Seq2Seq.encode`` and
``Decoder.step`` with the same arithmetic as PyTorch (to float rounding), on NumPy views of the
model's own weights (no copies but a few small transposes). The step's two large products take
one row (greedy) through NumPy and several (a beam) through the decoder's prepacked
``models.packed.Product``, the quicker on several rows (see there). It covers soft attention and
hard attention by argmax; sampled hard attention draws from PyTorch's generator and stays on PyTorch.
Tests pin it to the reference decoder (``tests/test_decoding_equivalence.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from .packed import Product
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
    (n, k) for rows. Rows take k passes of argmax (for beam search's few rows of a vocabulary
    about twice as quick as argpartition), writing -inf over each pick and restoring it."""
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


class _Matrix:
    """A step's product x @ weight + bias: one row in NumPy (on views of the product's own
    weight and bias), several through the prepacked ``product``."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.weight, self.bias = _np(product.weight), _np(product.bias)  # (in, out), (out,)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x (n, in) -> (n, out)."""
        if len(x) == 1 or self.product.packed is None:
            return x @ self.weight + self.bias
        return self.product(torch.from_numpy(x)).numpy()


class KernelEncoded(NamedTuple):
    """One sentence of S tokens as the decoder reads it."""

    keys: np.ndarray  # (S, K) scorer.prepare(values)
    values: np.ndarray  # (S, H) encoder states
    s0: np.ndarray  # (H,) initial decoder state


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
        self.score = scorer.numpy_score()  # q (n, Q), keys (S, K) -> e (n, S)
        self.hard = dec.attention.mode == "hard"
        w = dec.step_weights()
        self.table, self.context = _np(w.table), _np(w.context)
        self.query, self.out = _Matrix(w.query), _Matrix(w.out)  # (H) -> (3H + Q + E), (E) -> (V)
        self.q_at, self.p_at = w.split[0], w.split[0] + w.split[1]  # where q and the projection's share start in s @ query

    def encode(self, ids: list[int]) -> KernelEncoded:
        """Source ids (S,), the end token last."""
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
        return KernelEncoded(keys, values, s0)

    def start(self, s: np.ndarray) -> np.ndarray:
        """Decoding state (n, 4H) from states s (n, H): [s ; W_hh s + b_hh], as ``Decoder.start``."""
        return np.concatenate([s, s @ self.query.weight[:, : self.q_at] + self.query.bias[: self.q_at]], axis=1)

    def step(self, y: np.ndarray, state: np.ndarray, enc: KernelEncoded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``Decoder.step`` for n hypotheses of one sentence: previous tokens y (n,), state (n, 4H)
        -> logits (n, V), the new state (n, 4H) and the attention weights used (n, S)."""
        H = self.hidden
        s, gh = state[:, :H], state[:, H:]  # (n, H), (n, 3H)
        row = self.table[y]  # (n, 3H + E): W_ih E y + b_ih | W_p[:, 2H:] E y + b_p
        rz = _sigmoid(row[:, : 2 * H] + gh[:, : 2 * H])
        n = np.tanh(row[:, 2 * H : 3 * H] + rz[:, :H] * gh[:, 2 * H :])
        s = n + rz[:, H:] * (s - n)  # (n, H) s_t
        mixed = self.query(s)  # (n, 3H + Q + E): next gates | q | projection's share
        e = self.score(mixed[:, self.q_at : self.p_at] if self.p_at > self.q_at else s, enc.keys)  # (n, S)
        if self.hard:
            a = np.zeros_like(e)
            np.put_along_axis(a, e.argmax(axis=1)[:, None], 1.0, axis=1)
        else:
            a = softmax(e)
        o = np.tanh((a @ enc.values) @ self.context + row[:, 3 * H :] + mixed[:, self.p_at :])  # (n, E)
        return self.out(o), np.concatenate([s, mixed[:, : self.q_at]], axis=1), a

    def greedy(self, ids: list[int], max_len: int) -> DecodedIds:
        """Greedy decoding of one sentence (source ids, the end token last) for at most max_len
        tokens: what ``greedy_decode`` gives for it."""
        enc = self.encode(ids)
        K = min(ALTERNATIVES, self.out.bias.size)
        state = self.start(enc.s0[None])  # (1, 4H)
        y = np.array([BOS])
        records = []  # per step (2K + S,): as greedy.py's step_record
        for _ in range(max_len):
            logits, state, a = self.step(y, state, enc)
            p = softmax(logits[0])  # (V,)
            top = top_k(p, K)  # (K,)
            y = top[:1]
            records.append(np.concatenate([p[top], top.astype(np.float32), a[0]]))
            if y[0] == EOS:
                break
        return read_record(np.array(records, dtype=np.float32), K, len(ids))


class KernelStepper:
    """The kernel as the decoder behind beam search (models/beam.py ``Stepper``) for one sentence."""

    def __init__(self, kernel: CpuKernel, ids: list[int]) -> None:
        self.kernel = kernel
        self.enc = kernel.encode(ids)
        self.state = kernel.start(self.enc.s0[None])  # (n, 4H)

    def step(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, self.state, a = self.kernel.step(y, self.state, self.enc)
        return log_softmax(logits), a

    def keep(self, rows: np.ndarray) -> None:
        self.state = self.state[rows]
