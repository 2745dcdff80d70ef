"""GRU decoder with attention, Luong order: read the previous word, then attend, then predict.

Step t: s_t = GRU(E y_{t-1}, s_{t-1}); e_ti = f(s_t, h_i); alpha_t = softmax(e_t);
c_t = sum_i alpha_ti h_i; p(y_t) = softmax(W_out tanh(W_p [s_t; c_t; E y_{t-1}])).
The query s_t is the state that has read every target word before y_t. (Bahdanau's order,
attending with the state from before y_{t-1} was read, gave attention that could not know which
word it had just written; see README.) Because the recurrence does not depend on attention,
teacher forcing runs the GRU over all steps at once (``forward``); decoding uses ``step``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from .attention import Attention
from .packed import Product

POSTERIOR_CHUNK = 1 << 24  # logits per chunk in ``posterior`` (64 MiB of float32)


class Forward(NamedTuple):
    """What teacher forcing returns (``Decoder.forward``, ``Seq2Seq.forward``)."""

    logits: torch.Tensor  # (B, T, V)
    weights: torch.Tensor  # (B, T, S) attention weights used
    probs: torch.Tensor  # (B, T, S) attention distributions softmax(e) (the weights, in soft mode)
    linked_logits: torch.Tensor | None  # (N, V) each linked word from its linked source states (given links), else None


def linked_rows(links: torch.Tensor) -> torch.Tensor:
    """(B, T) True where target step t of sentence b has a link in links (B, T, S): the rows of
    ``Forward.linked_logits``, in order."""
    return links.sum(-1) > 0


class StepWeights(NamedTuple):
    """The decoder's weights as ``Decoder.step`` uses them (H hidden, E embedding, Q the
    scorer's query size, 0 when it has no query projection, V vocabulary)."""

    table: torch.Tensor  # (V, 3H + E): per token y, W_ih E y + b_ih and W_p[:, 2H:] E y + b_p
    query: Product  # (H) -> (3H + Q + E): s -> [W_hh s + b_hh | W_q s | W_p[:, :H] s]
    context: torch.Tensor  # (H, E): W_p[:, H:2H] transposed
    out: Product  # (E) -> (V): the output layer
    split: tuple[int, int, int]  # (3H, Q, E): the parts of query(s_t)


def weights_key(module: nn.Module) -> tuple:
    """Changes whenever the module's weights do: in place (an optimiser step, a loaded state
    dict) or by a move between devices. Weights made under inference mode have no version
    counter and are taken as fixed."""
    return tuple((w.data_ptr(), -1 if w.is_inference() else w._version) for w in module.parameters())


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
        self._weights: tuple[tuple, StepWeights] | None = None  # (weights' identity, step_weights())

    def _predict(self, s: torch.Tensor, context: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """s (..., H), context (..., H), emb (..., E) -> logits (..., V)."""
        o = torch.tanh(F.linear(self._drop(torch.cat([s, context, emb], dim=-1)), self.proj.weight, self.proj.bias))
        return F.linear(self._drop(o), self.out.weight, self.out.bias)

    def start(self, s0: torch.Tensor) -> torch.Tensor:
        """Decoding state (B, 4H) from the initial state s0 (B, H): [s ; W_hh s + b_hh], the
        state and the hidden side of the next GRU step's gates."""
        return torch.cat([s0, F.linear(s0, self.cell.weight_hh, self.cell.bias_hh)], dim=1)

    def step(
        self,
        y_prev: torch.Tensor,
        state: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor | None,
        weights: StepWeights | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step (inference; training runs every step at once in ``forward``).

        y_prev (B,) previous token ids, state (B, 4H) from ``start`` or the previous step,
        keys (B, S, K) from ``scorer.prepare``, values (B, S, H) encoder states, mask (B, S)
        real positions or None when there is no padding; ``weights`` from ``step_weights()``
        (decoders fetch them once per sentence, not per step). Returns logits (B, V), the new state
        (B, 4H) (its first H columns are s_t), the attention weights used (B, S) and the
        attention distribution softmax(e) (B, S) (equal to the weights in soft mode).

        The same arithmetic as ``forward`` (to float rounding), arranged for few operations:
        what depends only on y_{t-1} is a row of a table, and everything computed from s_t
        (the next step's hidden gates, the scorer's query, the projection's share) is one
        matrix product.
        """
        w = weights if weights is not None else self.step_weights()
        H = self.cell.hidden_size
        s, gh = state[:, :H], state[:, H:]  # (B, H), (B, 3H)
        gi, gp = w.table.index_select(0, y_prev).split([3 * H, w.split[2]], dim=1)  # (B, 3H), (B, E)
        r, z = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H]).chunk(2, dim=1)
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], r, gh[:, 2 * H :]))
        s_new = torch.lerp(n, s, z)  # (1 - z) * n + z * s: GRU(E y_{t-1}, s_{t-1})
        gh_new, q, ps = w.query(s_new).split(w.split, dim=1)  # (B, 3H), (B, Q), (B, E)
        e = self.attention.scorer.score(q if w.split[1] else s_new, keys)  # Q = 0: the scorer reads s_t as it is
        context, attn, probs = self.attention.weigh(e, values, mask)  # (B, H), (B, S), (B, S)
        o = torch.tanh(torch.addmm(gp + ps, context, w.context))  # (B, E)
        return w.out(o), torch.cat([s_new, gh_new], dim=1), attn, probs

    def step_weights(self) -> StepWeights:
        """The weights rearranged for ``step``, computed once per set of weights (``weights_key``)."""
        key = weights_key(self)
        if self._weights is None or self._weights[0] != key:
            H, E = self.cell.hidden_size, self.embed.weight.size(1)
            wq = self.attention.scorer.query_weight
            wq = self.proj.weight.new_zeros(0, H) if wq is None else wq
            p_s, p_c, p_y = self.proj.weight.split([H, H, E], dim=1)
            with torch.no_grad():
                weights = StepWeights(
                    table=torch.cat(
                        [
                            F.linear(self.embed.weight, self.cell.weight_ih, self.cell.bias_ih),
                            F.linear(self.embed.weight, p_y, self.proj.bias),
                        ],
                        dim=1,
                    ),
                    query=Product(
                        torch.cat([self.cell.weight_hh, wq, p_s]).t().contiguous(),
                        torch.cat([self.cell.bias_hh, self.cell.bias_hh.new_zeros(wq.size(0) + E)]),
                    ),
                    context=p_c.t().contiguous(),
                    out=Product(self.out.weight.t().contiguous(), self.out.bias.detach()),
                    split=(3 * H, wq.size(0), E),
                )
            self._weights = (key, weights)
        return self._weights[1]

    def forward(
        self,
        y_prev: torch.Tensor,
        s0: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        links: torch.Tensor | None = None,
    ) -> Forward:
        """All T steps of teacher forcing at once: y_prev (B, T) the previous tokens, s0 (B, H).

        Returns logits, attention weights and distributions: the same numbers as T calls of
        ``step``. Given ``links`` (B, T, S) (an aligner's links, any non-negative weights), also
        the logits of each linked word predicted with the mean of its linked source states in
        place of the attention context: p(y_t | s_t, h_i), the term the alignment posterior
        (``posterior``) reads, at the aligner's position; one row per (b, t) with a link.
        """
        states, emb, context, weights, probs = self._teacher_forced(y_prev, s0, keys, values, mask)
        logits = self._predict(states, context, emb)
        linked_logits = None
        if links is not None:
            linked = linked_rows(links)  # (B, T)
            link_context = torch.bmm(links / links.sum(-1, keepdim=True).clamp_min(1e-9), values)  # (B, T, H)
            linked_logits = self._predict(states[linked], link_context[linked], emb[linked])  # (N, V)
        return Forward(logits, weights, probs, linked_logits)

    def posterior(
        self, y_prev: torch.Tensor, y: torch.Tensor, s0: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
        prior_power: float,
    ) -> torch.Tensor:
        """Alignment posterior of the written words y (B, T) (y_prev (B, T) the words before):
        p(a_t = i | y_t) ∝ α_ti^prior_power · p(y_t | s_t, h_i, y_{t-1}), the attention
        distribution reweighted by how well source state h_i alone, put in place of the context,
        predicts the word written. prior_power 1 is Bayes' rule (exact for hard attention,
        where the context is one h_i); below 1 it trusts the attention less. Returns (B, T, S),
        rows summing to 1, zero at padding. Inference only (no dropout).
        """
        states, emb, _, _, probs = self._teacher_forced(y_prev, s0, keys, values, mask)
        B, T, S = probs.shape
        out = probs.new_empty(B, T, S)
        rows = max(1, POSTERIOR_CHUNK // (S * self.out.weight.size(0)))  # target steps per chunk: bounded memory
        for t in range(0, T, rows):
            sl = slice(t, t + rows)
            n = states[:, sl].size(1)
            logits = self._predict(  # (B, n, S, V): context h_i for every source position i
                states[:, sl, None].expand(B, n, S, -1), values[:, None].expand(B, n, S, -1), emb[:, sl, None].expand(B, n, S, -1)
            )
            word = y[:, sl, None, None].expand(B, n, S, 1)
            out[:, sl] = torch.log_softmax(logits, dim=-1).gather(-1, word).squeeze(-1)  # log p(y_t | h_i)
        score = prior_power * torch.log(probs.clamp_min(1e-30)) + out  # (B, T, S)
        return torch.softmax(score.masked_fill(~mask[:, None], float("-inf")), dim=-1)

    def _teacher_forced(
        self, y_prev: torch.Tensor, s0: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """States s_t (B, T, H), embeddings E y_{t-1} (B, T, E), contexts (B, T, H), attention
        weights and distributions (B, T, S) of every teacher-forced step."""
        B, T = y_prev.shape
        emb = self._drop(self.embed(y_prev))  # (B, T, E)
        c = self.cell
        states, _ = torch.gru(
            emb, s0.unsqueeze(0).contiguous(), [c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh], True, 1, 0.0, self.training, False, True
        )  # (B, T, H)

        def per_step(x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B * T, ...)
            return x.unsqueeze(1).expand(B, T, *x.shape[1:]).reshape(B * T, *x.shape[1:])

        context, weights, probs = self.attention(states.reshape(B * T, -1), per_step(keys), per_step(values), per_step(mask))
        return states, emb, context.view(B, T, -1), weights.view(B, T, -1), probs.view(B, T, -1)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x) if self.training else x
