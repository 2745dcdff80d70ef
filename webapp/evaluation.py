"""Corpus evaluation on the HSK test split, computed on demand and kept for the process."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from models.evaluate import evaluate
from models.translator import Translator

from .corpus import Example
from .inference import model_key
from .registry import ModelEntry


@st.cache_resource
def _results() -> dict[tuple, dict]:
    """Process-wide store: (model key, sentences, beam) -> metrics."""
    return {}


def result_key(entry: ModelEntry, translator: Translator, sentences: int, beam: int) -> tuple:
    return (model_key(entry, translator), sentences, beam)


def cached(entry: ModelEntry, translator: Translator, sentences: int, beam: int) -> dict | None:
    """Metrics computed earlier for this model, device and setting, if any."""
    return _results().get(result_key(entry, translator, sentences, beam))


def run(
    entry: ModelEntry, translator: Translator, examples: list[Example], beam: int, progress: Callable[[int, int], None]
) -> dict:
    """``models.evaluate.evaluate`` on ``examples`` (their reference links included), stored."""
    from models.data import Pair

    key = result_key(entry, translator, len(examples), beam)
    if key not in _results():
        pairs = [Pair(e.source, e.target, e.id) for e in examples]
        refs = {e.id: set(e.links) for e in examples}
        _results()[key] = evaluate(translator, pairs, refs, beam=beam, progress=progress)
    return _results()[key]
