"""GRU decoder with attention (Bahdanau order: attend with s_{t-1}, then update the state)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

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
        # Functional calls on the modules' own weights: the same arithmetic as calling the
        # modules, without their per-call overhead (decoding is dominated by it at this size).
        emb = self._drop(F.embedding(y_prev, self.embed.weight))  # (B, E)
        context, weights, probs = self.attention(s, keys, values, mask)  # (B, H), (B, S), (B, S)
        c = self.cell
        s_new = torch.gru_cell(torch.cat([emb, context], dim=-1), s, c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh)  # (B, H)
        o = torch.tanh(F.linear(self._drop(torch.cat([s_new, context, emb], dim=-1)), self.proj.weight, self.proj.bias))  # (B, E)
        return F.linear(self._drop(o), self.out.weight, self.out.bias), s_new, weights, probs

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x) if self.training else x
