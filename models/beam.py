"""Beam search for one sentence; beam size 1 gives exactly the greedy output.

The search (candidates, finished hypotheses, back-pointers) runs on the host in NumPy over a
``Stepper``, the decoder of the sentence's live beams: the NumPy kernel on the CPU
(models/kernel.py ``KernelStepper``) or PyTorch's ``Decoder.step`` on the model's device
(``TorchStepper``), which hands each step's log-probabilities (n x V, a few kB) to the host,
where the search reads them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from .kernel import top_k
from .result import ALTERNATIVES, DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS

LENGTH_ALPHA = 0.6  # final ranking by score / length ** alpha


class Stepper(Protocol):
    """The decoder of one sentence's n live beams."""

    def step(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Previous tokens y (n,) -> log-probabilities (n, V) and attention weights used (n, S), float32."""
        ...

    def keep(self, rows: np.ndarray) -> None:
        """The next step's live beams continue these rows (m,) of this step's, in this order."""
        ...


class TorchStepper:
    """``Decoder.step`` for the beams of one encoded sentence (B = 1), on the model's device."""

    @torch.inference_mode()
    def __init__(self, model: Seq2Seq, enc: Encoded, beam_size: int) -> None:
        self.decoder, self.weights = model.decoder, model.decoder.step_weights()
        self.beams = enc.select(torch.zeros(beam_size, dtype=torch.long, device=enc.s0.device))  # the sentence once per beam
        self.padded = not bool(enc.mask.all())  # else no mask is needed
        self.state = model.decoder.start(enc.s0)  # (n, 4H)

    @torch.inference_mode()
    def step(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, b = len(y), self.beams
        mask = b.mask[:n] if self.padded else None
        y_t = torch.from_numpy(y).to(self.state.device)
        logits, self.state, w, _ = self.decoder.step(y_t, self.state, b.keys[:n], b.values[:n], mask, self.weights)
        return torch.log_softmax(logits, dim=-1).cpu().numpy(), w.cpu().numpy()

    @torch.inference_mode()
    def keep(self, rows: np.ndarray) -> None:
        self.state = self.state.index_select(0, torch.from_numpy(rows).to(self.state.device))


@dataclass(frozen=True)
class _Step:
    """One step of the search: per live beam (n) and per candidate kept (m, best first)."""

    alt_ids: np.ndarray  # (n, K) each beam's most likely next tokens
    alt_probs: np.ndarray  # (n, K) and their probabilities
    weights: np.ndarray  # (n, S) each beam's attention
    tokens: np.ndarray  # (m,) each candidate's token
    beams: np.ndarray  # (m,) each candidate's beam (row of this step)
    probs: np.ndarray  # (m,) each candidate's token probability
    kept: list[int]  # the candidates that are the next step's live beams, in order


def beam_search(stepper: Stepper, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one sentence. Returns finished hypotheses, best first.

    Each step expands the n live beams (n <= k) into n x V candidates and keeps the best 2k:
    an end token among the best k finishes a hypothesis, the best k others stay live. Search
    stops when k hypotheses have finished or at ``max_len``, when live beams are returned too.
    """
    k = beam_size
    y = np.array([BOS])  # (n,)
    scores = np.zeros(1, dtype=np.float32)  # (n,)
    steps: list[_Step] = []
    ended: list[tuple[int, int, float]] = []  # (step, candidate, score) of finished hypotheses
    for t in range(max_len):
        logp, weights = stepper.step(y)  # (n, V), (n, S)
        V = logp.shape[1]
        total = (scores[:, None] + logp).ravel()  # (n V,)
        cand = top_k(total, min(2 * k, total.size))  # (m,)
        beams, tokens = np.divmod(cand, V)
        alt = top_k(logp, min(ALTERNATIVES, V))  # (n, K)
        keep = np.flatnonzero(tokens != EOS)[:k]
        ended += [(t, r, float(total[cand[r]])) for r in range(min(k, cand.size)) if tokens[r] == EOS]
        steps.append(_Step(alt, np.exp(np.take_along_axis(logp, alt, axis=1)), weights, tokens, beams, np.exp(logp.ravel()[cand]), keep.tolist()))
        if len(ended) >= k or not keep.size:
            break
        y, scores = tokens[keep], total[cand[keep]]
        stepper.keep(beams[keep])
    else:  # length cap reached: the live beams end unfinished
        ended += [(max_len - 1, r, float(total[cand[r]])) for r in steps[-1].kept]

    def hypothesis(t: int, r: int, score: float) -> DecodedIds:
        """Follow back-pointers from candidate r of step t to the first step."""
        path = []  # (step, beam, candidate), last first
        for i in range(t, -1, -1):
            path.append((steps[i], steps[i].beams[r], r))
            if i:
                r = steps[i - 1].kept[steps[i].beams[r]]
        path.reverse()
        ids = [int(s.tokens[c]) for s, _, c in path]
        return DecodedIds(
            ids=ids,
            attention=np.stack([s.weights[b] for s, b, _ in path]),
            token_probs=np.array([s.probs[c] for s, _, c in path], dtype=np.float32),
            alt_ids=np.stack([s.alt_ids[b] for s, b, _ in path]).astype(np.int64),
            alt_probs=np.stack([s.alt_probs[b] for s, b, _ in path]),
            score=score,
            finished=ids[-1] == EOS,
        )

    hyps = [hypothesis(t, r, score) for t, r, score in ended]
    hyps.sort(key=lambda h: h.score / max(len(h.ids), 1) ** LENGTH_ALPHA, reverse=True)
    return hyps[:k]
