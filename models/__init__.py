"""Sequence-to-sequence translators with inspectable attention (pure PyTorch).

The names below are imported on first use, so that importing a light submodule (``models.paths``,
which the app's frame needs before anything else) does not load torch.
"""

from importlib import import_module

_EXPORTS = {
    "CheckpointError": "checkpoint", "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "DecodeResult": "result", "Hypothesis": "result", "Translator": "translator",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
