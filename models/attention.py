"""Soft and hard attention over masked source positions."""

from __future__ import annotations

import torch
from torch import nn

from .scorers import make_scorer


class Attention(nn.Module):
    """Scores, masks and normalises; returns the context and the weights it used.

    soft: alpha = softmax(e) over real positions, c = sum_i alpha_i h_i.
    hard: one position a ~ softmax(e); c = h_a. Trained with straight-through Gumbel-softmax
    (forward pass uses the one-hot sample, gradients flow through the relaxed sample).
    At inference ``hard_inference`` picks argmax or a sample.
    """

    def __init__(self, scorer: str, hidden: int, mode: str) -> None:
        super().__init__()
        self.scorer = make_scorer(scorer, hidden)
        self.mode = mode
        self.hard_inference = "argmax"
        self.gumbel_tau = 1.0

    def forward(
        self, s: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """s (B, H), keys (B, S, K), values (B, S, H), mask (B, S) bool, or None when no
        position is padding.

        Returns context (B, H), the weights that built it (B, S) and softmax(e) (B, S); in soft
        mode the last two are the same tensor, in hard mode the weights are one-hot.
        """
        return self.weigh(self.scorer(s, keys), values, mask)

    def weigh(self, e: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """From scores e (B, S): ``forward``'s context, weights and distribution."""
        if mask is not None:
            e = torch.where(mask, e, float("-inf"))  # (B, S)
        probs = torch.softmax(e, dim=-1)
        if self.mode == "soft":
            weights = probs
        elif self.training:
            weights = nn.functional.gumbel_softmax(e, tau=self.gumbel_tau, hard=True, dim=-1)
        elif self.hard_inference == "sample":
            idx = torch.multinomial(probs, 1)
            weights = torch.zeros_like(e).scatter_(1, idx, 1.0)
        else:
            weights = torch.zeros_like(e).scatter_(1, e.argmax(dim=-1, keepdim=True), 1.0)
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)  # (B, H)
        return context, weights, probs
