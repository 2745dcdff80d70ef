"""Batched greedy decoding with per-sentence stopping."""

from __future__ import annotations

import torch

from .result import DecodedIds
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS

ALTERNATIVES = 5


@torch.inference_mode()
def greedy_decode(model: Seq2Seq, enc: Encoded, max_lens: list[int]) -> list[DecodedIds]:
    """Decode B sentences at once; sentence b stops at its end token or after max_lens[b] tokens."""
    B = enc.s0.size(0)
    device = enc.s0.device
    cap = torch.tensor(max_lens, device=device)
    y = torch.full((B,), BOS, dtype=torch.long, device=device)
    s = enc.s0
    done = torch.zeros(B, dtype=torch.bool, device=device)
    length = cap.clone()
    steps: list[tuple[torch.Tensor, ...]] = []
    for t in range(max(max_lens)):
        logits, s, w, _ = model.decoder.step(y, s, enc.keys, enc.values, enc.mask)
        p = torch.softmax(logits, dim=-1)  # (B, V)
        alt_p, alt_i = p.topk(min(ALTERNATIVES, p.size(1)), dim=-1)  # (B, K)
        y = alt_i[:, 0]
        steps.append((y, alt_p[:, 0], w, alt_i, alt_p))
        ended = (y == EOS) & ~done
        length = torch.where(ended, torch.full_like(length, t + 1), length)
        done = done | ended | (cap <= t + 1)
        if bool(done.all()):
            break
    ids, probs, attn, alt_i, alt_p = (torch.stack(x, 1).cpu() for x in zip(*steps))  # (B, T, ...)
    lengths = length.cpu().tolist()
    out = []
    for b in range(B):
        n = min(lengths[b], ids.size(1))
        tok = ids[b, :n].tolist()
        out.append(
            DecodedIds(
                ids=tok,
                attention=attn[b, :n].numpy(),
                token_probs=probs[b, :n].numpy(),
                alt_ids=alt_i[b, :n].numpy(),
                alt_probs=alt_p[b, :n].numpy(),
                score=float(probs[b, :n].log().sum()),
                finished=bool(tok and tok[-1] == EOS),
            )
        )
    return out
