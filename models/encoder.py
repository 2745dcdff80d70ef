"""Bidirectional GRU encoder."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .vocab import PAD


class Encoder(nn.Module):
    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=PAD)
        self.rnn = nn.GRU(emb_dim, hidden // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) ids, lengths (B,) -> h (B, S, H) with zeros at padding, s0 (B, H)."""
        x = self.drop(self.embed(src))  # (B, S, E)
        lengths = lengths.cpu()
        if bool((lengths == src.size(1)).all()):  # no padding (e.g. one sentence): packing is only overhead
            h, last = self.rnn(x)  # (B, S, H), last: (2, B, H/2)
        else:
            out, last = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            h, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, H)
        s0 = torch.tanh(self.bridge(torch.cat([last[0], last[1]], dim=-1)))  # (B, H)
        return self.drop(h), s0
