"""The GRU family: a bidirectional GRU encoder and a GRU decoder with one attention (Luong order).

Step t: s_t = GRU(E y_{t-1}, s_{t-1}); e_ti = f(s_t, h_i); alpha_t = softmax(e_t);
c_t = sum_i alpha_ti h_i; p(y_t) = softmax(W_out tanh(W_p [s_t; c_t; E y_{t-1}])).
The query s_t is the state that has read every target word before y_t. Because the recurrence
does not depend on attention, teacher forcing runs the GRU over all steps at once
(``Decoder.forward``); decoding calls ``Decoder.step``. Its attention is one cross map of one
layer and one head, read as the alignment as it is.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ModelConfig
from ..vocab import BOS, PAD
from .attention import Attention
from .base import ARGMAX, Encoded, Family, Forward, Pick, Step, shift_right
from .packed import Derived, Linear, Product

POSTERIOR_CHUNK = 1 << 24  # logits per chunk in ``Decoder.posterior`` (64 MiB of float32)
TOKEN_TABLES_MAX_BYTES = 64 * 2**20  # largest per-token tables a decoder keeps (``Decoder.token_terms``)
PRIOR_POWER = 0.5  # of the attention in the alignment posterior: lowest dev AER of 0.25/0.5/0.75/1 for both guided models


class Memory(NamedTuple):
    """The GRU encoder's outputs for B sentences."""

    keys: torch.Tensor  # (B, S, K) scorer.prepare(values), computed once per sentence
    values: torch.Tensor  # (B, S, H) encoder states h_i
    s0: torch.Tensor  # (B, H) initial decoder state


def token_tables_bytes(vocab_size: int, emb_dim: int, hidden: int) -> int:
    """Bytes of a decoder's float32 per-token tables: V rows of 3H gate and E projection terms."""
    return 4 * vocab_size * (3 * hidden + emb_dim)


def linked_rows(links: torch.Tensor) -> torch.Tensor:
    """(B, T) True where target step t of sentence b has a link in links (B, T, S): the rows of
    ``Forward.linked_logits``, in order."""
    return links.sum(-1) > 0


class Encoder(nn.Module):
    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=PAD)
        self.rnn = nn.GRU(emb_dim, hidden // 2, batch_first=True, bidirectional=True)
        self.bridge = Linear(hidden, hidden)
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


class Decoder(Derived):
    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, scorer: str, mode: str, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim)
        nn.init.normal_(self.embed.weight, std=emb_dim**-0.5)  # tied with the output layer: keep logits small
        self.attention = Attention(scorer, hidden, mode)
        self.cell = nn.GRUCell(emb_dim, hidden)
        self.proj = Linear(2 * hidden + emb_dim, emb_dim)
        self.out = Linear(emb_dim, vocab_size)
        self.out.weight = self.embed.weight  # tied input and output embeddings
        self.drop = nn.Dropout(dropout)

    def token_terms(self, y_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the previous tokens y_prev (n,) contribute to a decoding step: (n, 3H) their GRU
        input gates W_ih E y + b_ih and (n, E) their part of the output projection
        W_p[:, 2H:] E y + b_p. Rows of two per-token tables while decoding, when the tables are
        at most TOKEN_TABLES_MAX_BYTES (a lookup instead of two of a step's five products), else
        the products themselves."""
        w = self.embed.weight  # (V, E)
        small = token_tables_bytes(w.size(0), w.size(1), self.cell.hidden_size) <= TOKEN_TABLES_MAX_BYTES
        tables = self.derived("tables", w, lambda: self._token_products(w)) if small else None  # ((V, 3H), (V, E))
        if tables is not None:
            return tables[0].index_select(0, y_prev), tables[1].index_select(0, y_prev)
        return self._token_products(self.embed(y_prev))

    def _token_products(self, emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """emb (..., E) -> W_ih emb + b_ih (..., 3H) and W_p[:, 2H:] emb + b_p (..., E)."""
        proj_emb = self.proj.weight[:, 2 * self.cell.hidden_size :]  # (E, E): the projection's columns for E y_{t-1}
        return nn.functional.linear(emb, self.cell.weight_ih, self.cell.bias_ih), nn.functional.linear(emb, proj_emb, self.proj.bias)

    def _state_products(self) -> tuple[Product, Product]:
        """The step's products of the new state: s_{t-1} -> W_hh s_{t-1} + b_hh (n, 3H), and
        [s_t; c_t] -> W_p[:, :2H] [s_t; c_t] (n, E); kept while decoding."""
        c, w = self.cell, self.proj.weight

        def make(pack: bool = True) -> tuple[Product, Product]:
            return Product(c.weight_hh, c.bias_hh, pack), Product(w[:, : 2 * c.hidden_size], None, pack)

        return self.derived("state products", c.weight_hh, make) or make(pack=False)

    def predict(self, s: torch.Tensor, context: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """s (..., H), context (..., H), emb (..., E) -> logits (..., V)."""
        o = torch.tanh(self.proj(self.drop(torch.cat([s, context, emb], dim=-1))))
        return self.out(self.drop(o))

    def step(
        self, y_prev: torch.Tensor, s: torch.Tensor, mem: Memory, mask: torch.Tensor, pick: Pick
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step: y_prev (n,), s (n, H) the previous state, ``mem`` and mask (n, S)
        of the n rows' sentences. Returns logits (n, V), the new state s_t (n, H), the
        attention weights used (n, S) and softmax(e) (n, S). Decoding only (no dropout): the
        same numbers as ``self.cell`` and ``predict`` in eval mode, with y_prev's products read
        from ``token_terms``."""
        gates_in, proj_in = self.token_terms(y_prev)  # (n, 3H), (n, E)
        hidden, proj_state = self._state_products()
        i_r, i_z, i_n = gates_in.chunk(3, 1)
        h_r, h_z, h_n = hidden(s).chunk(3, 1)  # (n, H) each
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        s = torch.lerp(torch.tanh(i_n + r * h_n), s, z)  # (1 - z) n + z s_{t-1}: (n, H)
        context, weights, probs = self.attention(s, mem.keys, mem.values, mask, pick)
        o = torch.tanh(proj_state(torch.cat([s, context], dim=-1)) + proj_in)  # (n, E)
        return self.out(o), s, weights, probs

    def teacher_forced(
        self, y_prev: torch.Tensor, mem: Memory, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every step at once for the previous tokens y_prev (B, T): states s_t (B, T, H),
        embeddings E y_{t-1} (B, T, E), contexts (B, T, H), attention weights and softmax(e)
        (B, T, S); the same numbers as T calls of ``step``."""
        B, T = y_prev.shape
        emb = self.drop(self.embed(y_prev))  # (B, T, E)
        c = self.cell
        states, _ = torch.gru(
            emb, mem.s0.unsqueeze(0).contiguous(), [c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh], True, 1, 0.0, self.training, False, True
        )  # (B, T, H)

        def per_step(x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B * T, ...)
            return x.unsqueeze(1).expand(B, T, *x.shape[1:]).reshape(B * T, *x.shape[1:])

        context, weights, probs = self.attention(states.reshape(B * T, -1), per_step(mem.keys), per_step(mem.values), per_step(mask))
        return states, emb, context.view(B, T, -1), weights.view(B, T, -1), probs.view(B, T, -1)

    def posterior(self, y_prev: torch.Tensor, y: torch.Tensor, mem: Memory, mask: torch.Tensor, prior_power: float) -> torch.Tensor:
        """Alignment posterior of the written words y (B, T) (y_prev (B, T) the words before):
        p(a_t = i | y_t) ∝ α_ti^prior_power · p(y_t | s_t, h_i, y_{t-1}), the attention
        distribution reweighted by how well source state h_i alone, put in place of the context,
        predicts the word written. prior_power 1 is Bayes' rule (exact for hard attention,
        where the context is one h_i); below 1 it trusts the attention less. Returns (B, T, S),
        rows summing to 1, zero at padding. Inference only (no dropout).
        """
        states, emb, _, _, probs = self.teacher_forced(y_prev, mem, mask)
        B, T, S = probs.shape
        out = probs.new_empty(B, T, S)
        rows = max(1, POSTERIOR_CHUNK // (S * self.out.weight.size(0)))  # target steps per chunk: bounded memory
        for t in range(0, T, rows):
            sl = slice(t, t + rows)
            n = states[:, sl].size(1)
            logits = self.predict(  # (B, n, S, V): context h_i for every source position i
                states[:, sl, None].expand(B, n, S, -1), mem.values[:, None].expand(B, n, S, -1), emb[:, sl, None].expand(B, n, S, -1)
            )
            word = y[:, sl, None, None].expand(B, n, S, 1)
            out[:, sl] = torch.log_softmax(logits, dim=-1).gather(-1, word).squeeze(-1)  # log p(y_t | h_i)
        score = prior_power * torch.log(probs.clamp_min(1e-30)) + out  # (B, T, S)
        return torch.softmax(score.masked_fill(~mask[:, None], float("-inf")), dim=-1)


def _maps(weights: torch.Tensor, probs: torch.Tensor, mode: str) -> dict[str, torch.Tensor]:
    """The cross map (and, for hard attention, the distribution it picked from) with one layer
    and one head: weights (n, S) -> (n, 1, 1, S) for a step, (B, T, S) -> (B, 1, 1, T, S) for
    teacher forcing."""
    maps = {"cross": weights[:, None, None]}
    if mode == "hard":
        maps["cross_distribution"] = probs[:, None, None]
    return maps


class RNN(Family):
    """GRU encoder–decoder with one attention of a chosen scorer, soft or hard."""

    name = "rnn"
    has_posterior = True
    tied = {"decoder.out.weight": "decoder.embed.weight"}

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c.src_vocab_size, c.emb_dim, c.hidden, c.dropout)
        self.decoder = Decoder(c.tgt_vocab_size, c.emb_dim, c.hidden, c.scorer, c.mode, c.dropout)

    def tie(self) -> None:
        self.decoder.out.weight = self.decoder.embed.weight

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        values, s0 = self.encoder(src, lengths)
        mask = torch.arange(src.size(1), device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        return Encoded(mask, Memory(self.decoder.attention.scorer.prepare(values), values, s0), {})

    def start(self, enc: Encoded) -> torch.Tensor:
        return enc.memory.s0  # (B, H)

    def step(self, y_prev: torch.Tensor, state: torch.Tensor, enc: Encoded, pick: Pick = ARGMAX) -> Step:
        logits, s, weights, probs = self.decoder.step(y_prev, state, enc.memory, enc.mask, pick)
        return Step(logits, s, _maps(weights, probs, self.config.mode))

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor, links: torch.Tensor | None = None) -> Forward:
        enc = self.encode(src, lengths)
        mem = enc.memory
        states, emb, context, weights, probs = self.decoder.teacher_forced(shift_right(tgt_out, BOS), mem, enc.mask)
        logits = self.decoder.predict(states, context, emb)
        linked_logits = None
        if links is not None:  # p(y_t | s_t, mean of the linked h_i): what the posterior reads, at the aligner's position
            linked = linked_rows(links)  # (B, T)
            link_context = torch.bmm(links / links.sum(-1, keepdim=True).clamp_min(1e-9), mem.values)  # (B, T, H)
            linked_logits = self.decoder.predict(states[linked], link_context[linked], emb[linked])  # (N, V)
        return Forward(logits, _maps(weights, probs, self.config.mode), linked_logits)

    def alignment(self, cross: torch.Tensor) -> torch.Tensor:
        return cross[..., 0, 0, :, :]

    def posterior(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
        enc = self.encode(src, lengths)
        return self.decoder.posterior(shift_right(tgt_out, BOS), tgt_out, enc.memory, enc.mask, PRIOR_POWER)
