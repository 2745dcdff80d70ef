"""Which attention the Translate views draw (map, layer, head), the layer × head grid, and the
head explorer's cached statistics."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import streamlit as st

from models.heads import HeadStatistics, head_statistics, rollout_result
from models.result import MEAN, DecodeResult, Selection, select
from models.translator import Translator

from .corpus import Example
from .inference import model_key
from .registry import ModelEntry

MAP_LABELS = {"cross": "cross", "encoder_self": "encoder self", "decoder_self": "decoder self"}
ALIGNMENT, ROLLOUT = -2, -3  # head choices beside MEAN and 0..H-1
MAX_CACHED = 16


class Choice(NamedTuple):
    """The picker's answer: a map, a layer and a head choice (a head, MEAN, ALIGNMENT or ROLLOUT)."""

    map: str = "cross"
    layer: int = 0
    head: int = ALIGNMENT

    @property
    def default(self) -> bool:
        return self.map == "cross" and self.head == ALIGNMENT


def maps_of(result: DecodeResult) -> list[str]:
    """The pickable maps of ``result``, in MAP_LABELS order."""
    have = set(result.best.maps) | set(result.source_maps)
    return [m for m in MAP_LABELS if m in have]


def shape_of(result: DecodeResult, name: str) -> tuple[int, int]:
    m = result.source_maps.get(name) or result.best.maps[name]
    return m.layers, m.heads


def worth_picking(result: DecodeResult) -> bool:
    """More than one layer or head, or a self-attention map: else there is nothing to pick."""
    names = maps_of(result)
    return any(n != "cross" for n in names) or any(shape_of(result, n) != (1, 1) for n in names)


def picker(result: DecodeResult, key: str, align_layer: int = 0) -> Choice:
    """Map, layer and head widgets in one row (only when ``worth_picking``); the default is the
    family's alignment reading of the cross-attention."""
    if not worth_picking(result):
        return Choice()
    names = maps_of(result)
    row = st.container(horizontal=True, gap="medium", key=f"{key}_attention_picker")
    name = row.segmented_control(
        "Attention map", names, default=names[0], format_func=MAP_LABELS.get, required=True, key=f"{key}_attn_map",
        help="Cross: the decoder reading the source. Encoder self: source tokens reading each other. "
        "Decoder self (masked): each written token reading the tokens before it.",
    ) or names[0]
    L, H = shape_of(result, name)
    heads = ([ALIGNMENT] if name == "cross" else []) + [MEAN] + list(range(H)) + ([ROLLOUT] if name == "encoder_self" else [])
    labels = {ALIGNMENT: "alignment reading", MEAN: "mean of heads", ROLLOUT: "rollout"}
    head = row.selectbox(
        "Head", heads, format_func=lambda h: labels.get(h, f"head {h + 1}"), key=f"{key}_attn_head_{name}", width=200,
        help="Alignment reading: what the model's alignment is read from (for a Transformer, its chosen layer and head "
        "or their mean). Rollout (Abnar & Zuidema 2020): the encoder's attention multiplied through the layers up to "
        "the chosen one, each with the residual connection added.",
    )
    layer = 0
    if L > 1:
        layer = row.selectbox(
            "Layer", range(L), index=min(max(align_layer, 0), L - 1),
            format_func=lambda i: f"layer {i + 1}", key=f"{key}_attn_layer_{name}", width=140, disabled=head == ALIGNMENT,
            help="The alignment reading comes with its own layer; pick a head (or the mean) to choose one." if head == ALIGNMENT else None,
        )
    return Choice(name, layer, head)


def cross_head_picker(result: DecodeResult, key: str) -> Choice:
    """One compact selectbox of the cross-attention's readings (the alignment reading, each
    layer's mean, each layer's heads) for results with more than one layer or head (Compare)."""
    if result.cells != "attention" or "cross" not in result.best.maps or shape_of(result, "cross") == (1, 1):
        return Choice()
    L, H = shape_of(result, "cross")
    options = [(0, ALIGNMENT)] + [(layer, head) for layer in range(L) for head in [MEAN, *range(H)]]

    def label(o: tuple[int, int]) -> str:
        layer, head = o
        if head == ALIGNMENT:
            return "Cross-attention: alignment reading"
        return f"Cross-attention: layer {layer + 1} · " + ("mean of heads" if head == MEAN else f"head {head + 1}")

    # no label line (the options say what they are): the picker sits in one row with the Download button
    layer, head = st.selectbox(
        "Cross-attention head", options, format_func=label, key=f"{key}_cross_head", label_visibility="collapsed", width=300
    )
    return Choice("cross", layer, head)


def apply(result: DecodeResult, hypothesis: int, choice: Choice) -> tuple[DecodeResult, int]:
    """``result`` drawn as ``choice`` (``models.result.select`` or the rollout) and the
    hypothesis index in the returned result."""
    if choice.default:
        return result, hypothesis
    if choice.head == ROLLOUT:
        return rollout_result(result, choice.layer), 0
    if choice.head == ALIGNMENT:
        return result, hypothesis
    if choice.map in result.source_maps or choice.map == "decoder_self":
        return select(result, Selection(choice.map, choice.layer, choice.head), hypothesis), 0
    return select(result, Selection(choice.map, choice.layer, choice.head)), hypothesis


def alignment_cell(translator: Translator) -> tuple[int, int] | None:
    """The (layer, head) a Transformer reads its alignment from; None for a mean of heads or a
    family without heads."""
    config = getattr(translator.model, "config", None)
    head = getattr(config, "align_head", -1)
    return (align_layer(translator), head) if isinstance(head, int) and head >= 0 else None


def align_layer(translator: Translator) -> int:
    """The layer a Transformer reads its alignment from (0 for families without layers)."""
    fn = getattr(translator.model, "align_layer", None)
    return fn() if callable(fn) else 0


@st.cache_resource
def _store() -> OrderedDict:
    """Measured statistics for the process, newest last: (model key, sentences) -> HeadStatistics.
    Not st.cache_data: the progress bar drawn while measuring cannot be replayed on a hit."""
    return OrderedDict()


_lock = threading.Lock()


def cached(entry: ModelEntry, translator: Translator, sentences: int) -> HeadStatistics | None:
    """Statistics measured earlier for this model (fingerprint and device) and sentence count."""
    with _lock:
        return _store().get((model_key(entry, translator), sentences))


def statistics(entry: ModelEntry, translator: Translator, examples: list[Example], sentences: int, progress: Callable[[int, int], None] | None = None) -> HeadStatistics:
    """``models.heads.head_statistics`` on the first ``sentences`` test examples, kept for the
    process by model fingerprint, device and sentence count (the ``MAX_CACHED`` newest)."""
    key = (model_key(entry, translator), sentences)
    found = cached(entry, translator, sentences)
    if found is not None:
        return found
    stats = head_statistics(translator, [(e.source, e.target, e.links) for e in examples[:sentences]], progress)
    with _lock:
        store = _store()
        store[key] = stats
        while len(store) > MAX_CACHED:
            store.popitem(last=False)
    return stats
