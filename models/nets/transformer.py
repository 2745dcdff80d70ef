"""The Transformer family: an encoder–decoder Transformer (Vaswani et al. 2017) whose attention
is written out, so that every layer's and every head's weights come back as maps.

Pre-LN layers (x + f(LayerNorm(x)), one LayerNorm after the last layer): with the norm inside
the residual branch, gradients reach every layer at the same scale, so it trains stably with a
short warm-up at the GRU's learning rate (Xiong et al. 2020), where post-LN needs a long warm-up
and a tuned learning rate. Positions are sinusoidal, computed on
the fly: no weights, no length limit, and nothing outside the state dict (checkpoints build the
model on the meta device and load every tensor it owns). The width is ``config.hidden``
(``config.emb_dim`` is not used: the embeddings are hidden wide). The target embedding is the
output matrix (tied), scaled by sqrt(hidden) on the way in.

Maps: "encoder_self" (B, L, H, S, S), "decoder_self" (B, L, H, T, T) teacher-forced and
(n, L, H, t + 1) at step t, "cross" (B, L, H, T, S) and (n, L, H, S). Decoding caches each
decoder layer's self-attention keys and values of the tokens read so far (``Cache``), and the
cross-attention keys and values of the encoder output are computed once in ``encode``
(``Memory``); a step runs the same code as teacher forcing, for one query.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ..config import ModelConfig
from ..vocab import BOS, PAD
from .base import ARGMAX, Encoded, Family, Forward, Pick, Step, shift_right
from .packed import Linear

KV = tuple[torch.Tensor, ...]  # one (n, H, K, Dh) tensor per layer


class Memory(NamedTuple):
    """The encoder's output as every decoder layer's cross-attention reads it."""

    keys: KV  # L of (B, H, S, Dh)
    values: KV  # L of (B, H, S, Dh)


class Cache(NamedTuple):
    """The decoding state of n rows after t tokens (BOS first) have been read."""

    keys: KV  # L of (n, H, t, Dh): each decoder layer's self-attention keys
    values: KV  # L of (n, H, t, Dh)
    t: int  # the next token's position


def sinusoids(start: int, length: int, dim: int, device: torch.device) -> torch.Tensor:
    """Positional encodings (length, dim) of positions start .. start + length - 1: sin and cos
    of the position at wavelengths from 2π to 10000·2π, interleaved."""
    pos = torch.arange(start, start + length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    angles = pos * freq  # (length, ceil(dim / 2))
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)[:, :dim]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor, drop: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out so that its weights can be returned.

    q (n, H, Q, Dh), k and v (n, H, K, Dh), allowed (bool, broadcast to (n, H, Q, K)): False
    where a query may not look (padding, the future). Returns the heads' outputs (n, H, Q, Dh)
    and the weights (n, H, Q, K), exactly 0 where not allowed (dropout only reaches the output).
    """
    scores = q @ k.transpose(-2, -1) * q.size(-1) ** -0.5
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    return drop(weights) @ v, weights


class MultiHeadAttention(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (Linear(d, d) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(n, T, d) -> (n, H, T, d / H)."""
        n, T, d = x.shape
        return x.view(n, T, self.heads, d // self.heads).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys and values (n, H, T, Dh) of the positions x (n, T, d)."""
        return self.split(self.k(x)), self.split(self.v(x))

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries from x (n, Q, d) over keys and values (n, H, K, Dh) -> (n, Q, d) and the
        weights (n, H, Q, K)."""
        out, weights = attend(self.split(self.q(x)), k, v, allowed, self.drop)
        n, H, Q, dh = out.shape
        return self.o(out.transpose(1, 2).reshape(n, Q, H * dh)), weights


class FeedForward(nn.Sequential):
    def __init__(self, d: int, ff_dim: int, dropout: float) -> None:
        super().__init__(Linear(d, ff_dim), nn.GELU(), nn.Dropout(dropout), Linear(ff_dim, d))


class EncoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = MultiHeadAttention(d, heads, dropout)
        self.ff = FeedForward(d, ff_dim, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, S, d), allowed (B, 1, 1, S) the real source positions -> x, weights (B, H, S, S)."""
        h = self.ln1(x)
        a, weights = self.attn(h, *self.attn.keys_values(h), allowed)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.ln2(x))), weights


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = MultiHeadAttention(d, heads, dropout)
        self.cross_attn = MultiHeadAttention(d, heads, dropout)
        self.ff = FeedForward(d, ff_dim, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor], causal: torch.Tensor, memory: tuple[torch.Tensor, torch.Tensor], src: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (n, T, d) the new positions; past (n, H, t, Dh) keys and values of the positions
        before them; causal (T, t + T) which keys each new position sees; memory (n, H, S, Dh)
        cross keys and values; src (n, 1, 1, S) the real source positions. Returns x, the keys
        and values (n, H, t + T, Dh) of every position so far, and the self- and cross-attention
        weights (n, H, T, t + T) and (n, H, T, S)."""
        h = self.ln1(x)
        k, v = self.self_attn.keys_values(h)
        k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        a, self_w = self.self_attn(h, k, v, causal)
        x = x + self.drop(a)
        a, cross_w = self.cross_attn(self.ln2(x), *memory, src)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.ln3(x))), k, v, self_w, cross_w


class Encoder(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(c.src_vocab_size, c.hidden, padding_idx=PAD)
        nn.init.normal_(self.embed.weight, std=c.hidden**-0.5)
        with torch.no_grad():
            self.embed.weight[PAD].zero_()
        self.layers = nn.ModuleList(EncoderLayer(c.hidden, c.heads, c.ff_dim, c.dropout) for _ in range(c.layers))
        self.ln = nn.LayerNorm(c.hidden)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, src: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) ids, mask (B, S) the real positions -> outputs (B, S, d) and the
        self-attention weights (B, L, H, S, S), rows of padded queries zero."""
        d = self.embed.embedding_dim
        x = self.drop(self.embed(src) * d**0.5 + sinusoids(0, src.size(1), d, src.device))
        allowed = mask[:, None, None, :]
        weights = []
        for layer in self.layers:
            x, w = layer(x, allowed)
            weights.append(w)
        return self.ln(x), torch.stack(weights, dim=1) * mask[:, None, None, :, None]


class Decoder(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(c.tgt_vocab_size, c.hidden)
        nn.init.normal_(self.embed.weight, std=c.hidden**-0.5)  # logits of unit scale through the tied output
        self.layers = nn.ModuleList(DecoderLayer(c.hidden, c.heads, c.ff_dim, c.dropout) for _ in range(c.layers))
        self.ln = nn.LayerNorm(c.hidden)
        self.out = Linear(c.hidden, c.tgt_vocab_size)
        self.out.weight = self.embed.weight
        self.drop = nn.Dropout(c.dropout)

    def forward(self, y: torch.Tensor, cache: Cache, memory: Memory, mask: torch.Tensor) -> tuple[torch.Tensor, Cache, torch.Tensor, torch.Tensor]:
        """Read the tokens y (n, T) at positions cache.t .. cache.t + T - 1, after the cached
        ones: T = 1 is a decoding step, cache.t = 0 and all of the shifted target is teacher
        forcing; both run this code. mask (n, S) the real source positions. Returns logits
        (n, T, V), the cache after y, and the weights of decoder self-attention
        (n, L, H, T, t + T) and of cross-attention (n, L, H, T, S)."""
        T, t, d = y.size(1), cache.t, self.embed.embedding_dim
        x = self.drop(self.embed(y) * d**0.5 + sinusoids(t, T, d, y.device))
        query = torch.arange(t, t + T, device=y.device)[:, None]
        causal = torch.arange(t + T, device=y.device)[None, :] <= query  # (T, t + T)
        src = mask[:, None, None, :]
        keys, values, self_w, cross_w = [], [], [], []
        for i, layer in enumerate(self.layers):
            x, k, v, sw, cw = layer(x, (cache.keys[i], cache.values[i]), causal, (memory.keys[i], memory.values[i]), src)
            keys.append(k)
            values.append(v)
            self_w.append(sw)
            cross_w.append(cw)
        logits = self.out(self.ln(x))
        return logits, Cache(tuple(keys), tuple(values), t + T), torch.stack(self_w, dim=1), torch.stack(cross_w, dim=1)


class Transformer(Family):
    """Pre-LN Transformer encoder–decoder with explicit multi-head attention."""

    name = "transformer"
    tied = {"decoder.out.weight": "decoder.embed.weight"}

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def tie(self) -> None:
        self.decoder.out.weight = self.decoder.embed.weight

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        mask = torch.arange(src.size(1), device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        out, weights = self.encoder(src, mask)
        keys, values = zip(*(layer.cross_attn.keys_values(out) for layer in self.decoder.layers))
        return Encoded(mask, Memory(keys, values), {"encoder_self": weights})

    def start(self, enc: Encoded) -> Cache:
        empty = tuple(k[:, :, :0] for k in enc.memory.keys)  # L of (B, H, 0, Dh)
        return Cache(empty, empty, 0)

    def step(self, y_prev: torch.Tensor, state: Cache, enc: Encoded, pick: Pick = ARGMAX) -> Step:
        logits, cache, self_w, cross_w = self.decoder(y_prev[:, None], state, enc.memory, enc.mask)
        return Step(logits[:, 0], cache, {"cross": cross_w[..., 0, :], "decoder_self": self_w[..., 0, :]})

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor, links: torch.Tensor | None = None) -> Forward:
        enc = self.encode(src, lengths)
        logits, _, self_w, cross_w = self.decoder(shift_right(tgt_out, BOS), self.start(enc), enc.memory, enc.mask)
        return Forward(logits, {"cross": cross_w, "decoder_self": self_w, **enc.maps}, None)

    def align_layer(self) -> int:
        """The cross-attention layer read as the alignment: config.align_layer, where -1 is the
        penultimate layer (the best aligned in Garg et al. 2019; layer 0 of a one-layer model)
        and other negative values count from the end."""
        a, L = self.config.align_layer, self.config.layers
        return max(L - 2, 0) if a == -1 else a % L

    def alignment(self, cross: torch.Tensor) -> torch.Tensor:
        """(..., L, H, T, S) -> (..., T, S): head config.align_head of layer ``align_layer()``,
        or the mean of that layer's heads (align_head -1)."""
        layer = cross[..., self.align_layer(), :, :, :]  # (..., H, T, S)
        return layer.mean(dim=-3) if self.config.align_head == -1 else layer[..., self.config.align_head, :, :]
