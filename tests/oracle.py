"""A straightforward reference decoder: the yardstick for the fast decoders' tests and benchmarks.

One sentence, one hypothesis, one step at a time, nothing cached: the scorer's ``prepare`` is
recomputed on the encoder states at every step, each step calls the model's modules as they
are written (embedding, attention, GRU cell, projection, output layer), and every step's
results are read back to Python at once. It shares no decoding code with greedy.py, beam.py
or ``Decoder.step`` (only the modules and their weights), so agreeing with it checks them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .beam import LENGTH_ALPHA
from .result import ALTERNATIVES, DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS


def reference_step(model: Seq2Seq, y: int, s: torch.Tensor, values: torch.Tensor, mask: torch.Tensor):
    """One step for one hypothesis: previous token y, state s (1, H), encoder states values
    (1, S, H) and mask (1, S). Returns log-probabilities (V,), the new state (1, H) and the
    attention weights used (S,) as a numpy array."""
    d = model.decoder
    emb = d.embed(torch.tensor([y], device=s.device))  # (1, E)
    keys = d.attention.scorer.prepare(values)  # recomputed at every step on purpose
    s_new = d.cell(emb, s)
    context, weights, _ = d.attention(s_new, keys, values, mask)
    o = torch.tanh(d.proj(torch.cat([s_new, context, emb], dim=-1)))
    return torch.log_softmax(d.out(o), dim=-1)[0], s_new, weights[0].cpu().numpy()


class _Hyp:
    """A partial hypothesis: its tokens and, per token, the step's probabilities and attention."""

    def __init__(self, s: torch.Tensor) -> None:
        self.s, self.score = s, 0.0
        self.ids: list[int] = []
        self.probs: list[float] = []
        self.attn: list[np.ndarray] = []
        self.alt_i: list[list[int]] = []
        self.alt_p: list[list[float]] = []

    def extend(self, tok: int, logp: torch.Tensor, attn: np.ndarray, s: torch.Tensor, score: float) -> _Hyp:
        h = _Hyp(s)
        alt_lp, alt_i = logp.topk(min(ALTERNATIVES, logp.numel()))
        h.score = score
        h.ids, h.probs, h.attn = [*self.ids, tok], [*self.probs, math.exp(float(logp[tok]))], [*self.attn, attn]
        h.alt_i, h.alt_p = [*self.alt_i, alt_i.tolist()], [*self.alt_p, alt_lp.exp().tolist()]
        return h

    def result(self) -> DecodedIds:
        return DecodedIds(
            ids=self.ids,
            attention=np.stack(self.attn).astype(np.float32),
            token_probs=np.array(self.probs, dtype=np.float32),
            alt_ids=np.array(self.alt_i, dtype=np.int64),
            alt_probs=np.array(self.alt_p, dtype=np.float32),
            score=self.score,
            finished=self.ids[-1] == EOS,
        )


@torch.inference_mode()
def reference_greedy(model: Seq2Seq, enc: Encoded, max_len: int) -> DecodedIds:
    """Greedy decoding of one encoded sentence (B = 1); ``enc.keys`` is not used."""
    h = _Hyp(enc.s0)
    for _ in range(max_len):
        logp, s, attn = reference_step(model, h.ids[-1] if h.ids else BOS, h.s, enc.values, enc.mask)
        tok = int(logp.argmax())
        h = h.extend(tok, logp, attn, s, h.score + float(logp[tok]))
        if tok == EOS:
            break
    return h.result()


@torch.inference_mode()
def reference_beam(model: Seq2Seq, enc: Encoded, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one encoded sentence, each live hypothesis stepped on its own.

    The same search as ``beam_search``: of the best 2k extensions of all live hypotheses, an
    end token among the best k finishes a hypothesis and the best k others stay live; stop at
    k finished or at ``max_len`` (live ones then count too); rank by score / length ** alpha.
    """
    k = beam_size
    live = [_Hyp(enc.s0)]
    done: list[_Hyp] = []
    for _ in range(max_len):
        steps = [reference_step(model, h.ids[-1] if h.ids else BOS, h.s, enc.values, enc.mask) for h in live]
        totals = torch.cat([torch.tensor([h.score], dtype=torch.float32, device=logp.device) + logp for h, (logp, _, _) in zip(live, steps)])
        V = steps[0][0].numel()
        best_scores, best = totals.topk(min(2 * k, totals.numel()))
        nxt: list[_Hyp] = []
        for rank, (score, c) in enumerate(zip(best_scores.tolist(), best.tolist())):
            b, tok = divmod(c, V)
            logp, s, attn = steps[b]
            if tok == EOS:
                if rank < k:
                    done.append(live[b].extend(tok, logp, attn, s, score))
            elif len(nxt) < k:
                nxt.append(live[b].extend(tok, logp, attn, s, score))
        live = nxt
        if len(done) >= k or not live:
            break
    else:
        done += live
    results = [h.result() for h in done]
    results.sort(key=lambda r: r.score / max(len(r.ids), 1) ** LENGTH_ALPHA, reverse=True)
    return results[:k]
