"""The encoder-decoder model: teacher-forced forward for training, encode/step for decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import ModelConfig
from .decoder import Decoder, Forward, weights_key
from .encoder import Encoder
from .kernel import CpuKernel
from .vocab import BOS


@dataclass
class Encoded:
    """What decoding needs from the encoder, for B sentences of up to S source tokens."""

    keys: torch.Tensor  # (B, S, K) scorer.prepare(values), computed once per sentence
    values: torch.Tensor  # (B, S, H) encoder states h_i
    mask: torch.Tensor  # (B, S) True at real source positions
    s0: torch.Tensor  # (B, H) initial decoder state

    def select(self, index: torch.Tensor) -> Encoded:
        """Rows ``index`` (N,) of every field, e.g. to copy one sentence for each beam."""
        return Encoded(self.keys[index], self.values[index], self.mask[index], self.s0[index])


PRIOR_POWER = 0.5  # of the attention in the alignment posterior: lowest dev AER of 0.25/0.5/0.75/1 for both guided models


def _previous(tgt_out: torch.Tensor) -> torch.Tensor:
    """The decoder's inputs y_{t-1} (B, T) for the tokens to predict tgt_out (B, T): BOS first."""
    return torch.cat([torch.full_like(tgt_out[:, :1], BOS), tgt_out[:, :-1]], dim=1)


class Seq2Seq(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoder = Encoder(c.src_vocab_size, c.emb_dim, c.hidden, c.dropout)
        self.decoder = Decoder(c.tgt_vocab_size, c.emb_dim, c.hidden, c.scorer, c.mode, c.dropout)
        self._kernel: tuple[tuple, CpuKernel] | None = None  # (weights' identity, kernel)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        """src (B, S) ids padded with PAD, lengths (B,) -> Encoded."""
        values, s0 = self.encoder(src, lengths)
        mask = torch.arange(src.size(1), device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        return Encoded(self.decoder.attention.scorer.prepare(values), values, mask, s0)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor, links: torch.Tensor | None = None) -> Forward:
        """Teacher forcing. tgt_out (B, T) holds the tokens to predict (ending in EOS, then PAD);
        links (B, T, S) optional aligner links for ``Forward.linked_logits``.

        Returns ``Forward``: logits (B, T, V), attention weights (B, T, S) and attention
        distributions softmax(e) (B, T, S); row t is the attention used to predict tgt_out[:, t].
        """
        enc = self.encode(src, lengths)
        return self.decoder(_previous(tgt_out), enc.s0, enc.keys, enc.values, enc.mask, links)

    def posterior(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor, prior_power: float = PRIOR_POWER) -> torch.Tensor:
        """Teacher forcing, read as alignment given each written word (``Decoder.posterior``):
        (B, T, S), row t for tgt_out[:, t]. ``PRIOR_POWER`` was chosen on the dev split."""
        enc = self.encode(src, lengths)
        return self.decoder.posterior(_previous(tgt_out), tgt_out, enc.s0, enc.keys, enc.values, enc.mask, prior_power)

    def cpu_kernel(self) -> CpuKernel:
        """The NumPy kernel for one sentence on the CPU (models/kernel.py), rebuilt whenever the
        weights change (``weights_key``). The model must be on the CPU."""
        key = weights_key(self)
        if self._kernel is None or self._kernel[0] != key:
            self._kernel = (key, CpuKernel(self))
        return self._kernel[1]

    def max_len(self, src_len: int) -> int:
        """Length cap for decoding a source of ``src_len`` tokens, so decoding always ends."""
        return int(self.config.max_len_ratio * src_len) + 5
