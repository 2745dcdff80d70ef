"""Beam search for one sentence; beam size 1 gives exactly the greedy output."""

from __future__ import annotations

import numpy as np
import torch

from .greedy import ALTERNATIVES
from .result import DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS

LENGTH_ALPHA = 0.6  # final ranking by score / length ** alpha


def _trace(history: list[dict], t: int, beam: int, last: dict) -> DecodedIds:
    """Follow back-pointers from live beam ``beam`` at step t-1, then append ``last``."""
    rows = [last]
    for step in range(t - 1, -1, -1):
        h = history[step]
        rows.append({k: v[beam] for k, v in h.items()})
        beam = int(h["back"][beam])
    rows.reverse()
    ids = [int(r["tok"]) for r in rows]
    probs = np.array([r["prob"] for r in rows], dtype=np.float32)
    return DecodedIds(
        ids=ids,
        attention=np.stack([r["attn"] for r in rows]),
        token_probs=probs,
        alt_ids=np.stack([r["alt_i"] for r in rows]),
        alt_probs=np.stack([r["alt_p"] for r in rows]),
        score=float(last["score"]),
        finished=ids[-1] == EOS,
    )


@torch.inference_mode()
def beam_search(model: Seq2Seq, enc: Encoded, beam_size: int, max_len: int) -> list[DecodedIds]:
    """Beam search over one encoded sentence (B = 1). Returns finished hypotheses, best first.

    Each step expands the n live beams (n <= k) into n x V candidates and keeps the best 2k:
    an end token among the best k finishes a hypothesis, the best k others stay live. Search
    stops when k hypotheses have finished or at ``max_len``, when live beams are returned too.
    """
    k = beam_size
    device = enc.s0.device
    y = torch.full((1,), BOS, dtype=torch.long, device=device)
    s = enc.s0  # (n, H)
    scores = torch.zeros(1, device=device)  # (n,)
    history: list[dict] = []
    finished: list[DecodedIds] = []
    for t in range(max_len):
        n = y.size(0)
        e = enc.select(torch.zeros(n, dtype=torch.long, device=device))
        logits, s_new, w, _ = model.decoder.step(y, s, e.keys, e.values, e.mask)
        logp = torch.log_softmax(logits, dim=-1)  # (n, V)
        V = logp.size(1)
        cand_scores, cand = (scores.unsqueeze(1) + logp).view(-1).topk(min(2 * k, n * V))  # (2k,)
        back, tok = cand // V, cand % V
        alt_p, alt_i = logp.exp().topk(min(ALTERNATIVES, V), dim=-1)  # (n, K)
        c = {
            "tok": tok.cpu().numpy(),
            "back": back.cpu().numpy(),
            "score": cand_scores.cpu().numpy(),
            "prob": logp[back, tok].exp().cpu().numpy(),
            "attn": w[back].cpu().numpy(),
            "alt_i": alt_i[back].cpu().numpy(),
            "alt_p": alt_p[back].cpu().numpy(),
        }
        keep: list[int] = []
        for r in range(len(tok)):
            row = {key: v[r] for key, v in c.items()}
            if c["tok"][r] == EOS:
                if r < k:
                    finished.append(_trace(history, t, int(c["back"][r]), row))
            elif len(keep) < k:
                keep.append(r)
        if len(finished) >= k or not keep:
            break
        idx = torch.tensor(keep, device=device)
        history.append({key: v[keep] for key, v in c.items()})
        y, s, scores = tok[idx], s_new[back[idx]], cand_scores[idx]
    else:  # length cap reached: the live beams end unfinished
        last = history[-1]
        for b in range(len(last["tok"])):
            row = {key: v[b] for key, v in last.items()}
            finished.append(_trace(history, len(history) - 1, int(row["back"]), row))
    finished.sort(key=lambda h: h.score / max(len(h.ids), 1) ** LENGTH_ALPHA, reverse=True)
    return finished[:k]
