"""The model's frozen configuration, stored in and rebuilt from every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

MODES = ("soft", "hard")


@dataclass(frozen=True)
class ModelConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    scorer: str = "additive"
    mode: str = "soft"  # "soft" | "hard"
    emb_dim: int = 256
    hidden: int = 256  # decoder state size; the encoder gives hidden/2 per direction
    dropout: float = 0.2
    max_len_ratio: float = 2.0  # decoding stops after max_len_ratio * S + 5 tokens

    def __post_init__(self) -> None:
        from .scorers import SCORERS

        if self.scorer not in SCORERS:
            raise ValueError(f"unknown scorer {self.scorer!r}; choose from {sorted(SCORERS)}")
        if self.mode not in MODES:
            raise ValueError(f"unknown attention mode {self.mode!r}; choose from {list(MODES)}")
        if self.hidden % 2:
            raise ValueError("hidden must be even (two encoder directions)")
        for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive integer")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        """Rebuild from JSON, ignoring unknown keys and filling defaults for missing ones."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
