"""GRU decoder with attention, Luong order: read the previous word, then attend, then predict.

Step t: s_t = GRU(E y_{t-1}, s_{t-1}); e_ti = f(s_t, h_i); alpha_t = softmax(e_t);
c_t = sum_i alpha_ti h_i; p(y_t) = softmax(W_out tanh(W_p [s_t; c_t; E y_{t-1}])).
The query s_t is the state that has read every target word before y_t. (Bahdanau's order,
attending with the state from before y_{t-1} was read, gave attention that could not know which
word it had just written; see README.) Because the recurrence does not depend on attention,
teacher forcing runs the GRU over all steps at once (``forward``); decoding uses ``step``.
"""

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
        self.cell = nn.GRUCell(emb_dim, hidden)
        self.proj = nn.Linear(2 * hidden + emb_dim, emb_dim)
        self.out = nn.Linear(emb_dim, vocab_size)
        self.out.weight = self.embed.weight  # tied input and output embeddings
        self.drop = nn.Dropout(dropout)
        self._table: tuple[tuple, torch.Tensor] | None = None  # (weights' identity, token_table())

    def _predict(self, s: torch.Tensor, context: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """s (..., H), context (..., H), emb (..., E) -> logits (..., V)."""
        o = torch.tanh(F.linear(self._drop(torch.cat([s, context, emb], dim=-1)), self.proj.weight, self.proj.bias))
        return F.linear(self._drop(o), self.out.weight, self.out.bias)

    def step(
        self, y_prev: torch.Tensor, s: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step.

        y_prev (B,) previous token ids, s (B, H) previous state s_{t-1}, keys (B, S, K) from
        ``scorer.prepare``, values (B, S, H) encoder states, mask (B, S) real positions.
        Returns logits (B, V), new state s_t (B, H), attention weights used (B, S) and the
        attention distribution softmax(e) (B, S) (equal to the weights in soft mode).
        """
        if self.training or torch.is_grad_enabled():  # the modules' arithmetic, written out
            emb = self._drop(F.embedding(y_prev, self.embed.weight))  # (B, E)
            c = self.cell
            s_new = torch.gru_cell(emb, s, c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh)  # (B, H)
            context, weights, probs = self.attention(s_new, keys, values, mask)  # (B, H), (B, S), (B, S)
            return self._predict(s_new, context, emb), s_new, weights, probs
        # Inference: what depends only on y_{t-1} comes from token_table(), and the GRU cell is
        # written out around it (same arithmetic as torch.gru_cell, to float rounding).
        H = s.size(1)
        gi, gp = self.token_table()[y_prev].split([3 * H, self.proj.out_features], dim=1)  # (B, 3H), (B, E)
        gh = F.linear(s, self.cell.weight_hh, self.cell.bias_hh)  # (B, 3H)
        r, z = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H]).chunk(2, dim=1)
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], r, gh[:, 2 * H :]))
        s_new = torch.lerp(n, s, z)  # (1 - z) * n + z * s
        context, weights, probs = self.attention(s_new, keys, values, mask)
        o = torch.tanh(torch.addmm(gp, torch.cat([s_new, context], dim=1), self.proj.weight[:, : 2 * H].t()))
        return F.linear(o, self.out.weight, self.out.bias), s_new, weights, probs

    def token_table(self) -> torch.Tensor:
        """(V, 3H + E): for every token y, the GRU's input gates W_ih E y + b_ih and the
        projection's share W_p[:, 2H:] E y + b_p. Computed once per set of weights (it follows
        in-place updates and moves between devices; weights made under inference mode have no
        version counter and are taken as fixed) and used only for inference."""
        weights = (self.embed.weight, self.cell.weight_ih, self.cell.bias_ih, self.proj.weight, self.proj.bias)
        key = tuple((w.data_ptr(), -1 if w.is_inference() else w._version) for w in weights)
        if self._table is None or self._table[0] != key:
            E, H = self.embed.weight, self.cell.hidden_size
            with torch.no_grad():
                table = torch.cat([F.linear(E, self.cell.weight_ih, self.cell.bias_ih), F.linear(E, self.proj.weight[:, 2 * H :], self.proj.bias)], dim=1)
            self._table = (key, table)
        return self._table[1]

    def forward(
        self, y_prev: torch.Tensor, s0: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All T steps of teacher forcing at once: y_prev (B, T) the previous tokens, s0 (B, H).

        Returns logits (B, T, V), attention weights (B, T, S) and distributions (B, T, S); the
        same numbers as T calls of ``step``.
        """
        B, T = y_prev.shape
        emb = self._drop(self.embed(y_prev))  # (B, T, E)
        c = self.cell
        states, _ = torch.gru(emb, s0.unsqueeze(0).contiguous(), [c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh],
                              True, 1, 0.0, self.training, False, True)  # (B, T, H)

        def per_step(x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B * T, ...)
            return x.unsqueeze(1).expand(B, T, *x.shape[1:]).reshape(B * T, *x.shape[1:])

        context, weights, probs = self.attention(states.reshape(B * T, -1), per_step(keys), per_step(values), per_step(mask))
        logits = self._predict(states, context.view(B, T, -1), emb)
        return logits, weights.view(B, T, -1), probs.view(B, T, -1)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x) if self.training else x
