"""Network families behind one step protocol (``base.Family``), and their registry."""

from __future__ import annotations

from ..config import ModelConfig
from .base import Family
from .rnn import RNN
from .transformer import Transformer

FAMILIES: dict[str, type[Family]] = {cls.name: cls for cls in (RNN, Transformer)}


def build_model(config: ModelConfig) -> Family:
    """A new, randomly initialised model of the family ``config.family`` names."""
    return FAMILIES[config.family](config)
