"""Beam search for one sentence; beam size 1 gives exactly the greedy output."""

from __future__ import annotations

import torch

from .greedy import read_record, step_record
from .result import ALTERNATIVES, DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS

LENGTH_ALPHA = 0.6  # final ranking by score / length ** alpha


@torch.inference_mode()
def beam_search(model: Seq2Seq, enc: Encoded, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one encoded sentence (B = 1). Returns finished hypotheses, best first.

    Each step expands the n live beams (n <= k, decoded as one batch) into n x V candidates
    and keeps the best 2k: an end token among the best k finishes a hypothesis, the best k
    others stay live. Search stops when k hypotheses have finished or at ``max_len``, when
    live beams are returned too. Every step records each live beam's alternatives and
    attention (``step_record``) and each candidate's token, probability and back-pointer;
    hypotheses are read off the records once, at the end.
    """
    k = beam_size
    device = enc.s0.device
    V = model.config.tgt_vocab_size
    K = min(ALTERNATIVES, V)
    beams = enc.select(torch.zeros(k, dtype=torch.long, device=device))  # the sentence once per beam
    padded = not bool(enc.mask.all())  # else no mask is needed
    keys, values, mask = beams.keys[:1], beams.values[:1], beams.mask[:1]  # (n, ...) for n live beams
    y = torch.full((1,), BOS, dtype=torch.long, device=device)  # (n,)
    state, weights = model.decoder.start(enc.s0), model.decoder.step_weights()  # (n, 4H)
    scores = torch.zeros(1, device=device)  # (n,)
    rows: list[torch.Tensor] = []  # per step (n, 2K + S): each live beam's alternatives and attention
    probs: list[torch.Tensor] = []  # per step (m,): each candidate's token probability
    toks: list[list[int]] = []  # per step: each candidate's token
    backs: list[list[int]] = []  # per step: each candidate's live beam (row)
    kept: list[list[int]] = []  # per step: each next live beam's candidate
    ended: list[tuple[int, int, float]] = []  # (step, candidate, score) of finished hypotheses
    for t in range(max_len):
        n = y.size(0)
        if keys.size(0) != n:
            keys, values, mask = beams.keys[:n], beams.values[:n], beams.mask[:n]
        logits, state, w, _ = model.decoder.step(y, state, keys, values, mask if padded else None, weights)
        logp = torch.log_softmax(logits, dim=-1)  # (n, V)
        cand_scores, cand = (scores.unsqueeze(1) + logp).view(-1).topk(min(2 * k, n * V))  # (m,)
        alt_lp, alt_i = logp.topk(K, dim=-1)  # (n, K)
        rows.append(step_record(alt_lp.exp(), alt_i, w))
        probs.append(logp.view(-1).index_select(0, cand).exp())
        cs, flat = torch.stack([cand_scores.double(), cand.double()]).tolist()  # one host read per step
        back, tok = zip(*(divmod(int(c), V) for c in flat))
        toks.append(list(tok))
        backs.append(list(back))
        ended += [(t, r, cs[r]) for r in range(min(k, len(tok))) if tok[r] == EOS]
        keep = [r for r, x in enumerate(tok) if x != EOS][:k]
        kept.append(keep)
        if len(ended) >= k or not keep:
            break
        y = torch.tensor([tok[r] for r in keep], device=device)
        state = state.index_select(0, torch.tensor([back[r] for r in keep], device=device))
        scores = torch.tensor([cs[r] for r in keep], dtype=scores.dtype, device=device)
    else:  # length cap reached: the live beams end unfinished
        ended += [(max_len - 1, r, cs[r]) for r in kept[-1]]
    row_table, prob_table = torch.cat(rows).cpu().numpy(), torch.cat(probs).cpu().numpy()
    row_at, prob_at = [0], [0]  # where each step starts in the tables
    for r, p in zip(rows, probs):
        row_at.append(row_at[-1] + r.size(0))
        prob_at.append(prob_at[-1] + p.size(0))
    src_len = int(enc.mask[0].sum())

    def hypothesis(t: int, r: int, score: float) -> DecodedIds:
        """Follow back-pointers from candidate r of step t to the first step."""
        steps = []  # (step, candidate), last first
        for step in range(t, -1, -1):
            steps.append((step, r))
            if step:
                r = kept[step - 1][backs[step][r]]
        steps.reverse()
        rec = row_table[[row_at[i] + backs[i][c] for i, c in steps]]
        ids = [toks[i][c] for i, c in steps]
        return read_record(rec, K, src_len, ids, prob_table[[prob_at[i] + c for i, c in steps]], score)

    hyps = [hypothesis(t, r, score) for t, r, score in ended]
    hyps.sort(key=lambda h: h.score / max(len(h.ids), 1) ** LENGTH_ALPHA, reverse=True)
    return hyps[:k]
