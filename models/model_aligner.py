"""Trained models as a word aligner: the links of sentence pairs read from what the models attend
to (or their alignment posterior) while fed each pair's target, for ``python -m models align``
and the Evaluate page's download.

One direction: several models' maps averaged, each target token linked to its argmax source
token (``ensemble_links``). With ``reverse`` models (the opposite direction, reading each pair
the other way) the two directions' weights are averaged and every pair of tokens above a least
weight linked (``bidirectional_links``), so a word may link to several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .alignments import BIDIRECTIONAL_MIN_WEIGHT, Links, bidirectional_links, ensemble_links
from .corpus import opposite, orient
from .data import Pair
from .result import MEAN
from .translator import MAX_SOURCE_TOKENS, Translator

READINGS = ("attention", "posterior", "shift")  # the family's alignment reading; its posterior; one step later


def english_first(direction: str) -> str:
    """The order aligners write a language pair in: English first ("zh-en" -> "en-zh")."""
    return "-".join(sorted(direction.split("-"), key=lambda lang: lang != "en"))


def _splitting(t: Translator) -> tuple[str, str, str]:
    """What decides a pair's tokens: the direction and how each side is split (``lowercase``
    changes only the vocabulary lookup, not the tokens)."""
    return t.direction, t.src_tokenizer.kind, t.tgt_tokenizer.kind


def check_models(
    translators: Sequence[Translator], reverse: Sequence[Translator], reading: str, min_weight: float | None, layer: int | None = None, head: int = MEAN
) -> float:
    """ValueError unless the models can be read together; the least weight to use (``None``:
    0 in one direction, ``BIDIRECTIONAL_MIN_WEIGHT`` in both)."""
    if not translators:
        raise ValueError("no model to align with")
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; choose from {', '.join(READINGS)}")
    if layer is None and head != MEAN:
        raise ValueError("--head needs --layer")
    if layer is not None and reading == "posterior":
        raise ValueError("--layer and --head choose a cross-attention head: read it as attention or shift, not posterior")
    if reading == "posterior" and not all(t.model.has_posterior for t in [*translators, *reverse]):
        raise ValueError("Transformer models have no alignment posterior: read their attention or shifted attention.")
    for group in (translators, reverse):
        if len({_splitting(t) for t in group}) > 1:
            raise ValueError("The models to average must translate one direction and split text the same way.")
    direction = translators[0].direction
    if reverse and reverse[0].direction != opposite(direction):
        raise ValueError(f"Reading both ways needs models of the opposite direction to {direction}, not {reverse[0].direction}.")
    if reverse and (reverse[0].src_tokenizer.kind, reverse[0].tgt_tokenizer.kind) != (translators[0].tgt_tokenizer.kind, translators[0].src_tokenizer.kind):
        raise ValueError("These models split text differently, so they cannot be read together.")
    weight = min_weight if min_weight is not None else BIDIRECTIONAL_MIN_WEIGHT if reverse else 0.0
    if not 0 <= weight <= 1 or (reverse and weight == 0):
        raise ValueError("--min-weight must be between 0 and 1 (above 0 with --reverse)")
    return weight


def reading_maps(group: Sequence[Translator], src: list[str], tgt: list[str], reading: str, layer: int | None = None, head: int = MEAN) -> list[np.ndarray]:
    """Each model's (T', S') map of the pair fed ``tgt``: its posterior, its family's alignment
    reading or (``layer``) one cross-attention head (``head`` MEAN: the mean of the layer's
    heads); from the shifted row on for "shift"."""
    maps = []
    for f in (t.force(src, tgt).best for t in group):
        if reading == "posterior":
            maps.append(f.maps["posterior"].matrix(0, 0))
        elif layer is None:
            maps.append(f.attention)
        else:
            cross = f.maps["cross"]
            if not (-cross.layers <= layer < cross.layers and MEAN <= head < cross.heads):
                raise ValueError(f"--layer must be 0 to {cross.layers - 1} (or -{cross.layers} to -1, from the last) and --head -1 (the mean) to {cross.heads - 1}: "
                                 f"the model has {cross.layers} cross-attention layer(s) of {cross.heads} head(s)")
            maps.append(cross.matrix(layer, head))
    return [m[1:] if reading == "shift" else m for m in maps]


def model_alignments(
    translators: Sequence[Translator],
    pairs: Iterable[Pair],
    reading: str = "attention",
    reverse: Sequence[Translator] = (),
    min_weight: float | None = None,
    layer: int | None = None,
    head: int = MEAN,
    progress: Callable[[int], None] | None = None,
) -> list[Links]:
    """One link set per pair (in the translators' direction), English token index first for
    en/zh models (the order of aligners and of the gold files), else source index first.
    ``layer``/``head`` read one cross-attention head of every model instead of its family's
    alignment reading. ``progress(n)`` is called after each pair."""
    weight = check_models(translators, reverse, reading, min_weight, layer, head)
    tr = translators[0]
    order = english_first(tr.direction)
    out = []
    for n, p in enumerate(pairs, 1):
        src = tr.source_tokens(p.src)[0]
        tgt = tr.tgt_tokenizer.tokenize(p.tgt)
        if reverse:
            r_src, r_tgt = reverse[0].source_tokens(p.tgt)[0], reverse[0].tgt_tokenizer.tokenize(p.src)
            if r_src[:-1] != tgt or r_tgt != src[:-1]:
                raise ValueError(f"pair {n}: too long to read both ways (a side over {MAX_SOURCE_TOKENS} tokens is cut as a source)")
            links = bidirectional_links(reading_maps(translators, src, tgt, reading, layer, head), reading_maps(reverse, r_src, r_tgt, reading, layer, head), len(src) - 1, len(tgt), weight)
        else:
            links = ensemble_links(reading_maps(translators, src, tgt, reading, layer, head), src[:-1], tgt, min_weight=weight)
        out.append(orient(links, tr.direction, order))
        if progress:
            progress(n)
    return out
