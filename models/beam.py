"""Beam search for one sentence; beam size 1 gives exactly the greedy output."""

from __future__ import annotations

import torch

from .greedy import ALTERNATIVES, read_record, step_record
from .result import DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS

LENGTH_ALPHA = 0.6  # final ranking by score / length ** alpha


@torch.inference_mode()
def beam_search(model: Seq2Seq, enc: Encoded, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one encoded sentence (B = 1). Returns finished hypotheses, best first.

    Each step expands the n live beams (n <= k, decoded as one batch) into n x V candidates
    and keeps the best 2k: an end token among the best k finishes a hypothesis, the best k
    others stay live. Search stops when k hypotheses have finished or at ``max_len``, when
    live beams are returned too. Every step records its 2k candidates (``step_record``) with
    back-pointers; hypotheses are read off the records once, at the end.
    """
    k = beam_size
    device = enc.s0.device
    V = model.config.tgt_vocab_size
    K = min(ALTERNATIVES, V)
    beams = enc.select(torch.zeros(k, dtype=torch.long, device=device))  # the sentence once per beam
    y = torch.full((1,), BOS, dtype=torch.long, device=device)  # (n,)
    s = enc.s0  # (n, H)
    scores = torch.zeros(1, device=device)  # (n,)
    records: list[torch.Tensor] = []  # per step (2k, 2 + 2K + S): its candidates
    backs: list[list[int]] = []  # per step: candidate -> the live beam (row) it extends
    kept: list[list[int]] = []  # per step: live beam -> its candidate
    ended: list[tuple[int, int, float]] = []  # (step, candidate, score) of finished hypotheses
    for t in range(max_len):
        n = y.size(0)
        logits, s_new, w, _ = model.decoder.step(y, s, beams.keys[:n], beams.values[:n], beams.mask[:n])
        logp = torch.log_softmax(logits, dim=-1)  # (n, V)
        cand_scores, cand = (scores.unsqueeze(1) + logp).view(-1).topk(min(2 * k, n * V))  # (m,)
        back, tok = cand // V, cand % V
        alt_lp, alt_i = logp.topk(K, dim=-1)  # (n, K)
        records.append(step_record(tok.unsqueeze(1), logp.view(-1)[cand].exp().unsqueeze(1), alt_lp.exp()[back], alt_i[back], w[back]))
        cs, flat = torch.stack([cand_scores.double(), cand.double()]).tolist()  # one host read per step
        backs.append([int(c) // V for c in flat])
        toks = [int(c) % V for c in flat]
        ended += [(t, r, cs[r]) for r in range(min(k, len(toks))) if toks[r] == EOS]
        keep = [r for r, x in enumerate(toks) if x != EOS][:k]
        kept.append(keep)
        if len(ended) >= k or not keep:
            break
        idx = torch.tensor(keep, device=device)
        y, s, scores = tok[idx], s_new[back[idx]], cand_scores[idx]
    else:  # length cap reached: the live beams end unfinished
        ended += [(max_len - 1, r, cs[r]) for r in kept[-1]]
    table = torch.cat(records).cpu().numpy()
    offsets = [0]
    for r in records:
        offsets.append(offsets[-1] + r.size(0))
    src_len = int(enc.mask[0].sum())

    def trace(t: int, r: int) -> list[int]:
        """Rows of ``table`` from the first step to candidate r of step t."""
        path = [offsets[t] + r]
        for step in range(t, 0, -1):
            r = kept[step - 1][backs[step][r]]
            path.append(offsets[step - 1] + r)
        return path[::-1]

    hyps = [read_record(table[trace(t, r)], K, src_len, score) for t, r, score in ended]
    hyps.sort(key=lambda h: h.score / max(len(h.ids), 1) ** LENGTH_ALPHA, reverse=True)
    return hyps[:k]
