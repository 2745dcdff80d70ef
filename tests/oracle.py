"""The plain reference decoder every decoder is checked against (the oracle).

One sentence, one hypothesis, one step at a time, nothing cached: each step runs the model's
teacher-forced pass (``Family.forward``) over the whole prefix written so far and reads its last
row, so it shares no decoding code with ``models.search`` or any family's ``step`` (only the
modules and their weights), for every family. Every step's results are read back at once.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from models.nets.base import DECODER_SELF, MAP_KINDS, Family
from models.result import ALTERNATIVES, DecodedIds
from models.search import rank_score
from models.vocab import EOS


def reference_step(model: Family, src: torch.Tensor, lengths: torch.Tensor, prefix: list[int]) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """The next token's log-probabilities (V,) after ``prefix`` (the tokens written so far) and
    the step's attention maps, name -> (L, H, K), from the teacher-forced pass over the prefix."""
    tgt_out = torch.tensor([[*prefix, EOS]], device=src.device)  # the last token is never read
    fwd = model(src, lengths, tgt_out)
    t = len(prefix)
    maps = {name: v[0, :, :, t].float().cpu().numpy() for name, v in fwd.maps.items() if MAP_KINDS[name] != "encoder_self"}
    return torch.log_softmax(fwd.logits[0, t].float(), dim=-1), maps


class _Hyp:
    """A partial hypothesis: its tokens and, per token, the step's probabilities and maps."""

    def __init__(self) -> None:
        self.score = 0.0
        self.ids: list[int] = []
        self.probs: list[float] = []
        self.maps: list[dict[str, np.ndarray]] = []
        self.alt_i: list[list[int]] = []
        self.alt_p: list[list[float]] = []

    def extend(self, tok: int, logp: torch.Tensor, maps: dict, score: float) -> _Hyp:
        h = _Hyp()
        alt_lp, alt_i = logp.topk(min(ALTERNATIVES, logp.numel()))
        h.score = score
        h.ids, h.probs, h.maps = [*self.ids, tok], [*self.probs, math.exp(float(logp[tok]))], [*self.maps, maps]
        h.alt_i, h.alt_p = [*self.alt_i, alt_i.tolist()], [*self.alt_p, alt_lp.exp().tolist()]
        return h

    def result(self, beam: int) -> DecodedIds:
        T = len(self.ids)
        maps = {}
        for name in self.maps[0]:
            rows = [m[name] for m in self.maps]
            if MAP_KINDS[name] == DECODER_SELF:
                rows = [np.pad(x[..., : t + 1], ((0, 0), (0, 0), (0, T - t - 1))) for t, x in enumerate(rows)]
            maps[name] = np.stack(rows, axis=2)
        return DecodedIds(
            ids=self.ids,
            maps=maps,
            token_probs=np.array(self.probs, dtype=np.float32),
            alt_ids=np.array(self.alt_i, dtype=np.int64),
            alt_probs=np.array(self.alt_p, dtype=np.float32),
            score=self.score,
            finished=self.ids[-1] == EOS,
            rank_score=rank_score(self.score, T, beam),
        )


@torch.inference_mode()
def reference_greedy(model: Family, src: torch.Tensor, lengths: torch.Tensor, max_len: int) -> DecodedIds:
    """Greedy decoding of one sentence src (1, S)."""
    model.eval()
    h = _Hyp()
    for _ in range(max_len):
        logp, maps = reference_step(model, src, lengths, h.ids)
        tok = int(logp.argmax())
        h = h.extend(tok, logp, maps, h.score + float(logp[tok]))
        if tok == EOS:
            break
    return h.result(1)


@torch.inference_mode()
def reference_beam(model: Family, src: torch.Tensor, lengths: torch.Tensor, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one sentence src (1, S), each live hypothesis stepped on its own.

    The search of ``models.search``: of the best 2k extensions of all live hypotheses, an end
    token among the best k finishes a hypothesis and the best k others stay live; stop at k
    finished or at ``max_len`` (live ones then count too); rank by score / length ** alpha.
    """
    model.eval()
    k = beam_size
    live = [_Hyp()]
    done: list[_Hyp] = []
    for _ in range(max_len):
        steps = [reference_step(model, src, lengths, h.ids) for h in live]
        totals = torch.cat([h.score + logp for h, (logp, _) in zip(live, steps)])
        V = steps[0][0].numel()
        best_scores, best = totals.topk(min(2 * k, totals.numel()))
        nxt: list[_Hyp] = []
        for rank, (score, c) in enumerate(zip(best_scores.tolist(), best.tolist())):
            b, tok = divmod(c, V)
            logp, maps = steps[b]
            if tok == EOS:
                if rank < k:
                    done.append(live[b].extend(tok, logp, maps, score))
            elif len(nxt) < k:
                nxt.append(live[b].extend(tok, logp, maps, score))
        live = nxt
        if len(done) >= k or not live:
            break
    else:
        done += live
    results = [h.result(k) for h in done]
    results.sort(key=lambda r: r.rank_score, reverse=True)
    return results[:k]
