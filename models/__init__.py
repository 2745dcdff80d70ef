"""Sequence-to-sequence translators with inspectable attention (pure PyTorch)."""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .result import DecodeResult, Hypothesis
from .translator import Translator

__all__ = ["CheckpointError", "DecodeResult", "Hypothesis", "Translator", "load_checkpoint", "save_checkpoint"]
