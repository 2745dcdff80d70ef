"""Batched greedy decoding with per-sentence stopping.

Per step the work is one ``Decoder.step`` for the sentences still decoding, a softmax and a
top-k, and one write of everything the result needs into a preallocated buffer. When
sentences end they leave the batch, so later steps compute nothing for them; the host reads
the buffer once, at the end.
"""

from __future__ import annotations

import torch

from .result import ALTERNATIVES, DecodedIds, read_record
from .seq2seq import Encoded, Seq2Seq
from .vocab import BOS, EOS


def step_record(alt_p: torch.Tensor, alt_i: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """One decoding step of N hypotheses as one tensor (N, 2K + S) in the dtype of alt_p:
    alt_p, alt_i (N, K) the K most likely tokens' probabilities and ids, weights (N, S) the
    attention used. One tensor instead of three keeps the per-step work to a single copy; ids
    are exact in float32 (vocabularies are far below 2**24 entries)."""
    return torch.cat([alt_p, alt_i.to(alt_p.dtype), weights], dim=1)


@torch.inference_mode()
def greedy_decode(model: Seq2Seq, enc: Encoded, max_lens: list[int]) -> list[DecodedIds]:
    """Decode B sentences at once; sentence b stops at its end token or after max_lens[b] tokens.

    Gives the same tokens and attention as decoding each sentence alone (padding is masked).
    Each hypothesis' attention has one column per real source token of its sentence.
    """
    B, S = enc.mask.shape
    device = enc.s0.device
    K = min(ALTERNATIVES, model.config.tgt_vocab_size)
    cap = torch.tensor(max_lens, device=device)  # (n,) length caps of the live rows
    first_cap = min(max_lens)  # the step at which the first live row reaches its cap
    records = torch.zeros(B, max(max_lens), 2 * K + S, device=device)  # (B, T, 2K + S)
    lengths = [0] * B
    rows = torch.arange(B, device=device)  # (n,) which sentences are still decoding
    y = torch.full((B,), BOS, dtype=torch.long, device=device)
    weights = model.decoder.step_weights()
    state, keys, values = model.decoder.start(enc.s0), enc.keys, enc.values  # (B, 4H), (B, S, K), (B, S, H)
    mask = None if bool(enc.mask.all()) else enc.mask  # (B, S), or None: no padding to mask
    for t in range(records.size(1)):
        logits, state, w, _ = model.decoder.step(y, state, keys, values, mask, weights)
        alt_p, alt_i = torch.softmax(logits, dim=-1).topk(K, dim=-1)  # (n, K)
        y = alt_i[:, 0]
        records[:, t].index_copy_(0, rows, step_record(alt_p, alt_i, w))
        ended = y == EOS  # (n,)
        if t + 1 >= first_cap:
            ended |= cap <= t + 1
        if not bool(ended.any()):
            continue
        for b in rows[ended].tolist():
            lengths[b] = t + 1
        live = ~ended
        if not bool(live.any()):
            break
        rows, y, state, keys, values, cap = (x[live] for x in (rows, y, state, keys, values, cap))
        mask = None if mask is None else mask[live]
        first_cap = int(cap.min())
    host = records.cpu().numpy()
    src_lens = enc.mask.sum(1).tolist()
    return [read_record(host[b, : lengths[b]], K, src_lens[b]) for b in range(B)]
