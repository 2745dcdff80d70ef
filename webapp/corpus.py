"""Example sentences from the HSK test split, with their gold alignments.

Test sentences are never seen in training, and each has hand-made gold links (sure and
possible, docs/alignment-guidelines.md), so the heatmap can show where attention agrees with a
word alignment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from models.aligner import load_links
from models.alignments import Links, Reference, flip, reference_links

EXAMPLES_FILE = Path(__file__).resolve().parent.parent / "assets" / "examples.json"
HSK_DIRECTIONS = ("en-zh", "zh-en")
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
    if direction not in HSK_DIRECTIONS:
        return []
    from models.data import hsk_gold, hsk_splits

    notes = curated_notes()
    try:
        aligned = load_links("test", ALIGNER_METHOD, direction)
    except FileNotFoundError:
        aligned = {}
    gold = hsk_gold(direction)
    out = []
    for e in hsk_splits()["test"]:
        gloss: Links = reference_links(e.en, e.zh, e.zh_words)
        src, tgt = (e.en, e.zh) if direction == "en-zh" else (e.zh, e.en)
        gloss = gloss if direction == "en-zh" else flip(gloss)
        out.append(Example(e.id, src, tgt, gold[e.id], notes.get(e.id, ""), frozenset(aligned.get(e.id, ())), frozenset(gloss)))
    return out


def curated_notes() -> dict[str, str]:
    """HSK ids picked for what their attention shows -> a one-line note (assets/examples.json)."""
    if not EXAMPLES_FILE.is_file():
        return {}
    return {item["id"]: item["note"] for item in json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))}


def find(examples: list[Example], text: str) -> Example | None:
    """The example whose source is ``text`` (ignoring surrounding spaces), if any."""
    text = text.strip()
    return next((e for e in examples if e.source == text), None)
