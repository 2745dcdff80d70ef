"""Corpora behind one interface: splits, gold alignments, automatic and aligner links and a
lexicon, each already in the direction of a model.

A corpus stores everything in its own (natural) order; ``orient`` is the one place where links
and pairs are turned around for a model of the other direction. The HSK corpus (English–Chinese,
with gold alignments of its dev and test splits) and a user's TSV file are the two corpora.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .alignments import Links, Reference, flip, read_pharaoh_with_ids, reference_links
from .data import Pair, gloss_sense, hsk_splits, read_tsv_counted, tsv_splits
from .paths import ALIGNMENTS

L = TypeVar("L", Links, Reference, Pair)


def opposite(direction: str) -> str:
    """The direction the other way round: "en-zh" -> "zh-en"."""
    return "-".join(reversed(direction.split("-")))


def extract_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, tab-separated fields) of each line of a committed extract (``assets/``),
    '#' comments and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, line.split("\t")) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]


def orient(item: L, natural: str, direction: str) -> L:
    """``item`` (links, a sure/possible reference or a pair), stored in the corpus's ``natural``
    order ("en-zh"), in ``direction``'s (source, target) order."""
    if direction == natural:
        return item
    if direction != opposite(natural):
        raise ValueError(f"this corpus is {natural} or its reverse, not {direction}")
    if isinstance(item, Pair):
        return Pair(item.tgt, item.src, item.id)
    return item.flipped() if isinstance(item, Reference) else flip(item)


class Corpus:
    """What a corpus offers; empty where it has nothing (a TSV file has no gold)."""

    natural = ""  # the order its files are in, "src-tgt"

    def directions(self) -> tuple[str, ...]:
        return (self.natural, opposite(self.natural))

    def _orient(self, by_id: dict[str, L], direction: str) -> dict[str, L]:
        return {k: orient(v, self.natural, direction) for k, v in by_id.items()}

    def splits(self, direction: str) -> dict[str, list[Pair]]:
        raise NotImplementedError

    def gold(self, direction: str) -> dict[str, Reference]:
        """Hand-made sure/possible links by pair id."""
        return {}

    def automatic_links(self, direction: str) -> dict[str, Links]:
        """A rule-based aligner's links by pair id (HSK: the gloss rule), for the pairs that have
        gold links to score them against."""
        return {}

    def aligner_links(self, split: str, method: str, direction: str) -> dict[str, Links]:
        """Stored statistical-aligner (eflomal) links of a split by pair id; FileNotFoundError
        when they were not written."""
        raise FileNotFoundError(f"no stored aligner links for {split}")

    def lexicon(self, direction: str) -> list[Pair]:
        """Word-level training pairs, if the corpus has any."""
        return []


@dataclass
class HskCorpus(Corpus):
    """The bundled HSK sentences (models/data.py: cleaning and splits) and their alignment files."""

    alignments: Path = ALIGNMENTS
    natural = "en-zh"

    def splits(self, direction: str) -> dict[str, list[Pair]]:
        return {k: [orient(Pair(e.en, e.zh, e.id), self.natural, direction) for e in v] for k, v in hsk_splits().items()}

    def _with_ids(self, name: str) -> dict[str, Links]:
        return read_pharaoh_with_ids(self.alignments / name)

    def gold(self, direction: str) -> dict[str, Reference]:
        out = {}
        for split in ("dev", "test"):
            sure, possible = self._with_ids(f"{split}.gold-sure.en-zh"), self._with_ids(f"{split}.gold-possible.en-zh")
            out |= {k: Reference(frozenset(sure[k]), frozenset(possible[k] | sure[k])) for k in sure}
        return self._orient(out, direction)

    def automatic_links(self, direction: str) -> dict[str, Links]:
        splits = hsk_splits()
        return self._orient({e.id: reference_links(e.en, e.zh, e.zh_words) for split in ("dev", "test") for e in splits[split]}, direction)

    def aligner_links(self, split: str, method: str, direction: str) -> dict[str, Links]:
        return self._orient(self._with_ids(f"{split}.eflomal-{method}.en-zh"), direction)

    def lexicon(self, direction: str) -> list[Pair]:
        """One pair per Chinese word of the training split: its gloss's first plain sense
        (``老师 ↔ teacher``). From the training split only, so no dev or test sentence leaks in."""
        seen: set[str] = set()
        out = []
        for e in hsk_splits()["train"]:
            for word, gloss in e.zh_words:
                sense = gloss_sense(gloss)
                if sense and word not in seen:
                    seen.add(word)
                    out.append(orient(Pair(sense, word, f"lex:{word}"), self.natural, direction))
        return out


@dataclass
class TsvCorpus(Corpus):
    """A user's ``source<TAB>target`` file (read with bounds: models.data.read_tsv_counted): a
    seeded train/dev split, no test split or gold. ``skipped`` counts the lines too long to
    train on, once ``splits`` has read the file."""

    path: Path
    src_lang: str = "xx"
    tgt_lang: str = "yy"
    split_seed: int = 2024
    max_pairs: int | None = None
    skipped: int = 0

    @property
    def natural(self) -> str:  # type: ignore[override]
        return f"{self.src_lang}-{self.tgt_lang}"

    def splits(self, direction: str) -> dict[str, list[Pair]]:
        pairs, self.skipped = read_tsv_counted(self.path, self.max_pairs)
        return {k: [orient(p, self.natural, direction) for p in v] for k, v in tsv_splits(pairs, self.split_seed).items()}


HSK = HskCorpus()
