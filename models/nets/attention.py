"""Soft and hard attention over masked source positions (the GRU family's cross-attention)."""

from __future__ import annotations

import torch
from torch import nn

from .base import ARGMAX, Pick
from .scorers import make_scorer


class Attention(nn.Module):
    """Scores, masks and normalises; returns the context and the weights it used.

    soft: alpha = softmax(e) over real positions, c = sum_i alpha_i h_i.
    hard: one position a ~ softmax(e); c = h_a. Trained with straight-through Gumbel-softmax
    (the forward pass uses the one-hot sample, gradients flow through the relaxed sample).
    At inference ``pick`` takes the argmax or a sample.
    """

    def __init__(self, scorer: str, hidden: int, mode: str) -> None:
        super().__init__()
        self.scorer = make_scorer(scorer, hidden)
        self.mode = mode
        self.gumbel_tau = 1.0

    def forward(
        self, s: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None, pick: Pick = ARGMAX
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """s (B, H), keys (B, S, K) from ``scorer.prepare``, values (B, S, H), mask (B, S) bool,
        or None when no position is padding.

        Returns context (B, H), the weights that built it (B, S) and softmax(e) (B, S); in soft
        mode the last two are the same tensor, in hard mode the weights are one-hot.
        """
        e = self.scorer(s, keys)  # (B, S)
        if mask is not None:
            e = torch.where(mask, e, float("-inf"))
        probs = torch.softmax(e, dim=-1)
        if self.mode == "soft":
            weights = probs
        elif self.training:
            weights = nn.functional.gumbel_softmax(e, tau=self.gumbel_tau, hard=True, dim=-1)
        else:
            idx = torch.multinomial(probs, 1, generator=pick.generator) if pick.sample else e.argmax(dim=-1, keepdim=True)
            weights = torch.zeros_like(e).scatter_(1, idx, 1.0)
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)  # (B, H)
        return context, weights, probs
