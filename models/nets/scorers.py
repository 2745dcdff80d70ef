"""One registry of attention scoring functions e_ti = f(s_t, h_i).

s_t is the GRU decoder's state after it has read the previous target word y_{t-1}; h_i the
encoder state of source token i. Every scorer splits its work so that decoding computes the
encoder side once per sentence: ``keys = scorer.prepare(h)``; per step ``scorer(s, keys)``,
which is ``scorer.score(scorer.query(s), keys)``: the query as it is, or projected (q = W s).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .packed import Linear


class Scorer(nn.Module):
    """Base class. ``prepare``: h (B, S, H) -> keys (B, S, K); ``forward``: s (B, H), keys -> e (B, S);
    ``score``: projected query q (B, Q), keys -> e (B, S)."""

    formula = ""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden

    def query(self, s: torch.Tensor) -> torch.Tensor:
        """s (B, H) -> the query q (B, Q) that ``score`` takes: s itself unless overridden."""
        return s

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return h

    def score(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return torch.bmm(keys, q.unsqueeze(2)).squeeze(2)  # (B, S)

    def forward(self, s: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return self.score(self.query(s), keys)


class Dot(Scorer):
    formula = r"e_{ti} = s_t^\top h_i"


class ScaledDot(Scorer):
    formula = r"e_{ti} = \frac{s_t^\top h_i}{\sqrt{d}}"

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return h / math.sqrt(self.hidden)


class General(Scorer):
    formula = r"e_{ti} = s_t^\top W h_i"

    def __init__(self, hidden: int) -> None:
        super().__init__(hidden)
        self.W = Linear(hidden, hidden, bias=False)

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return self.W(h)  # (B, S, H): W h_i, computed once per sentence


class Cosine(Scorer):
    formula = r"e_{ti} = \tau \cdot \frac{s_t^\top h_i}{\lVert s_t\rVert \, \lVert h_i \rVert}"

    def __init__(self, hidden: int) -> None:
        super().__init__(hidden)
        # Learned temperature tau = exp(log_tau), started at 10 so the softmax is not flat.
        self.log_tau = nn.Parameter(torch.tensor(math.log(10.0)))

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(h, dim=-1)

    def score(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return self.log_tau.exp() * super().score(nn.functional.normalize(q, dim=-1), keys)



class Additive(Scorer):
    formula = r"e_{ti} = v^\top \tanh(W s_t + U h_i)"

    def __init__(self, hidden: int) -> None:
        super().__init__(hidden)
        self.W = Linear(hidden, hidden, bias=False)
        self.U = Linear(hidden, hidden)
        self.v = nn.Linear(hidden, 1, bias=False)  # only its weight is read (``score``): never a kept product

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return self.U(h)  # (B, S, H): U h_i, computed once per sentence

    def query(self, s: torch.Tensor) -> torch.Tensor:
        return self.W(s)  # (B, H)

    def score(self, q: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """vᵀ tanh(x) computed as 2 vᵀ σ(2x) − Σv (x = U h_i + W s: (B, S, K)): PyTorch's float32
        sigmoid runs about 3× faster than its tanh on these CPUs, and this is the largest
        elementwise step of decoding."""
        v = self.v.weight[0]
        return torch.add(keys, q.unsqueeze(1)).mul_(2).sigmoid_() @ (2 * v) - v.sum()  # (B, S)



SCORERS: dict[str, type[Scorer]] = {
    "dot": Dot,
    "scaled_dot": ScaledDot,
    "general": General,
    "cosine": Cosine,
    "additive": Additive,
}


def make_scorer(name: str, hidden: int) -> Scorer:
    return SCORERS[name](hidden)
