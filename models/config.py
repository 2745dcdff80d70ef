"""The model's frozen configuration, stored in and rebuilt from every checkpoint.

One dataclass for every family (nanoGPT style): ``family`` names the network, and the fields
a family does not use keep their defaults. Checkpoints of format version 1 have no ``family``
field and are GRU models ("rnn", the default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

MODES = ("soft", "hard")


@dataclass(frozen=True)
class ModelConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    family: str = "rnn"  # a key of models.nets.FAMILIES
    scorer: str = "additive"  # rnn: the scoring function (models/nets/scorers.py)
    mode: str = "soft"  # rnn: "soft" | "hard" (a transformer's attention is soft)
    emb_dim: int = 256  # rnn: embedding size; transformer: not used (its embeddings are hidden wide)
    hidden: int = 256  # rnn: decoder state size (the encoder gives hidden/2 per direction); transformer: model width
    dropout: float = 0.2
    max_len_ratio: float = 2.0  # decoding stops after max_len_ratio * S + 5 tokens
    layers: int = 3  # transformer: encoder and decoder layers each
    heads: int = 4  # transformer: attention heads per layer
    ff_dim: int = 512  # transformer: feed-forward inner size
    align_layer: int = -1  # transformer: the cross-attention layer read as the alignment (-1: the penultimate)
    align_head: int = -1  # transformer: its head (-1: the mean of the layer's heads)

    def __post_init__(self) -> None:
        from .nets import FAMILIES
        from .nets.scorers import SCORERS

        ints = ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden", "layers", "heads", "ff_dim", "align_layer", "align_head")
        for name in ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"config.{name} must be an integer, not {value!r}")
        for name in ("dropout", "max_len_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"config.{name} must be a number, not {value!r}")
        for name in ("family", "scorer", "mode"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"config.{name} must be a string, not {getattr(self, name)!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; choose from {sorted(FAMILIES)}")
        if self.scorer not in SCORERS:
            raise ValueError(f"unknown scorer {self.scorer!r}; choose from {sorted(SCORERS)}")
        if self.mode not in MODES:
            raise ValueError(f"unknown attention mode {self.mode!r}; choose from {list(MODES)}")
        for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden", "layers", "heads", "ff_dim"):
            if getattr(self, name) <= 0:
                raise ValueError(f"config.{name} must be a positive integer")
        if self.family == "rnn" and self.hidden % 2:
            raise ValueError("config.hidden must be even (two encoder directions)")
        if self.family == "transformer":
            if self.hidden % self.heads:
                raise ValueError("config.hidden must be a multiple of config.heads")
            if not -self.layers <= self.align_layer < self.layers or not -1 <= self.align_head < self.heads:
                raise ValueError("config.align_layer / align_head are out of range")

    @property
    def label(self) -> str:
        """A short description: "additive soft" for a GRU, "transformer 3×4" for a Transformer."""
        if self.family == "transformer":
            return f"transformer {self.layers}×{self.heads}"
        return f"{self.scorer} {self.mode}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        """Rebuild from JSON, ignoring unknown keys and filling defaults for missing ones."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
