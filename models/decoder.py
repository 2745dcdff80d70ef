"""GRU decoder with attention (Bahdanau order: attend with s_{t-1}, then update the state)."""

from __future__ import annotations

import torch
from torch import nn

from .attention import Attention


class Decoder(nn.Module):
    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, scorer: str, mode: str, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim)
        nn.init.normal_(self.embed.weight, std=emb_dim**-0.5)  # tied with the output layer: keep logits small
        self.attention = Attention(scorer, hidden, mode)
        self.cell = nn.GRUCell(emb_dim + hidden, hidden)
        self.proj = nn.Linear(2 * hidden + emb_dim, emb_dim)
        self.out = nn.Linear(emb_dim, vocab_size)
        self.out.weight = self.embed.weight  # tied input and output embeddings
        self.drop = nn.Dropout(dropout)

    def step(
        self, y_prev: torch.Tensor, s: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step.

        y_prev (B,) previous token ids, s (B, H) previous state s_{t-1}, keys (B, S, K) from
        ``scorer.prepare``, values (B, S, H) encoder states, mask (B, S) real positions.
        Returns logits (B, V), new state s_t (B, H), attention weights used (B, S) and the
        attention distribution softmax(e) (B, S) (equal to the weights in soft mode).
        """
        emb = self.drop(self.embed(y_prev))  # (B, E)
        context, weights, probs = self.attention(s, keys, values, mask)  # (B, H), (B, S), (B, S)
        s_new = self.cell(torch.cat([emb, context], dim=-1), s)  # (B, H)
        o = torch.tanh(self.proj(self.drop(torch.cat([s_new, context, emb], dim=-1))))  # (B, E)
        return self.out(self.drop(o)), s_new, weights, probs
