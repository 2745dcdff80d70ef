"""Corpus evaluation on the HSK test split, computed on demand and kept for the process.

Results are kept per (model, device, number of sentences, beam) in a bounded store: at most
``MAX_RESULTS`` for bundled models and, apart from them, ``MAX_UPLOADED_RESULTS`` for uploaded
ones, so that uploads (a new fingerprint each) neither pile up nor push bundled results out.
The least recently used result goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import streamlit as st

from models.alignments import pharaoh_text
from models.data import Pair
from models.evaluate import evaluate
from models.model_aligner import model_alignments
from models.translator import Translator

from .corpus import Example
from .inference import model_key
from .registry import ModelEntry

MAX_RESULTS = 256  # bundled models: e.g. 9 models × 2 devices × a dozen settings each
MAX_UPLOADED_RESULTS = 32


class ResultStore:
    """Metrics by key in pools of bounded size, least recently used out first; thread-safe
    (sessions run in threads of one process)."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self._pools: dict[str, OrderedDict[Hashable, dict]] = {pool: OrderedDict() for pool in limits}
        self._lock = threading.Lock()

    def get(self, pool: str, key: Hashable) -> dict | None:
        with self._lock:
            results = self._pools[pool]
            if key not in results:
                return None
            results.move_to_end(key)
            return results[key]

    def put(self, pool: str, key: Hashable, metrics: dict) -> None:
        with self._lock:
            results = self._pools[pool]
            results[key] = metrics
            results.move_to_end(key)
            while len(results) > self.limits[pool]:
                results.popitem(last=False)

    def size(self, pool: str) -> int:
        with self._lock:
            return len(self._pools[pool])


@st.cache_resource
def _results() -> ResultStore:
    """The process-wide store."""
    return ResultStore({"bundled": MAX_RESULTS, "uploaded": MAX_UPLOADED_RESULTS})


def pool(entry: ModelEntry) -> str:
    return "bundled" if entry.origin == "bundled" else "uploaded"


def result_key(entry: ModelEntry, translator: Translator, sentences: int, beam: int) -> tuple:
    return (model_key(entry, translator), sentences, beam)


def cached(entry: ModelEntry, translator: Translator, sentences: int, beam: int) -> dict | None:
    """Metrics computed earlier for this model, device and setting, if still kept."""
    return _results().get(pool(entry), result_key(entry, translator, sentences, beam))


def run(entry: ModelEntry, translator: Translator, examples: list[Example], beam: int, progress: Callable[[int, int], None]) -> dict:
    """``models.evaluate.evaluate`` on ``examples`` (their gold and gloss-rule links included), stored."""
    from models.data import Pair

    key = result_key(entry, translator, len(examples), beam)
    metrics = _results().get(pool(entry), key)
    if metrics is None:
        pairs = [Pair(e.source, e.target, e.id) for e in examples]
        gold = {e.id: e.links for e in examples}
        gloss = {e.id: set(e.gloss_links) for e in examples}
        metrics = evaluate(translator, pairs, gold, beam=beam, progress=progress, gloss=gloss)
        _results().put(pool(entry), key, metrics)
    return metrics


def alignment_file(translator: Translator, examples: list[Example], reading: str, reverse: list[Translator]) -> str:
    """Pharaoh links of ``examples`` read from the model (and ``reverse``, the opposite
    direction's model, both ways), English token first: ``python -m models align``'s file."""
    pairs = [Pair(x.source, x.target, x.id) for x in examples]
    return pharaoh_text(model_alignments([translator], pairs, reading, reverse))
