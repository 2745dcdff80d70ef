"""Example sentences from the HSK test split, with their gold alignments.

Test sentences are never seen in training, and each has hand-made gold links (sure and
possible, docs/alignment-guidelines.md), so the heatmap can show where attention agrees with a
word alignment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import streamlit as st

from models.alignments import Reference
from models.corpus import HSK
from models.paths import EXAMPLES

ALIGNER_METHOD = "gdfa"  # eflomal's links drawn on the heatmap: grow-diag-final-and, as guided training uses


@dataclass(frozen=True)
class Example:
    """A test pair in one direction; ``links`` are (source index, target index) over the
    project tokeniser's tokens of ``source`` and ``target``."""

    id: str
    source: str
    target: str
    links: Reference  # the gold: sure and possible links
    note: str = ""
    aligner_links: frozenset[tuple[int, int]] = frozenset()  # eflomal's (ALIGNER_METHOD), when stored
    gloss_links: frozenset[tuple[int, int]] = frozenset()  # the gloss rule's (an automatic aligner)


@st.cache_resource(show_spinner="Loading the HSK test sentences…")
def test_examples(direction: str) -> list[Example]:
    """The HSK test split in ``direction``, in split order, curated ones carrying their note.
    Empty for directions the corpus does not cover."""
    if direction not in HSK.directions():
        return []
    notes = curated_notes()
    try:
        aligned = HSK.aligner_links("test", ALIGNER_METHOD, direction)
    except FileNotFoundError:
        aligned = {}
    gold, gloss = HSK.gold(direction), HSK.automatic_links(direction)
    return [
        Example(p.id, p.src, p.tgt, gold[p.id], notes.get(p.id, ""), frozenset(aligned.get(p.id, ())), frozenset(gloss[p.id]))
        for p in HSK.splits(direction)["test"]
    ]


def curated_notes() -> dict[str, str]:
    """HSK ids picked for what their attention shows -> a one-line note (assets/examples.json)."""
    if not EXAMPLES.is_file():
        return {}
    return {item["id"]: item["note"] for item in json.loads(EXAMPLES.read_text(encoding="utf-8"))}


def find(examples: list[Example], text: str) -> Example | None:
    """The example whose source is ``text`` (ignoring surrounding spaces), if any."""
    text = text.strip()
    return next((e for e in examples if e.source == text), None)
