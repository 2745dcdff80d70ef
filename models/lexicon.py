"""A wider bilingual lexicon than the HSK glosses: CC-CEDICT senses of the words of the training
split's Chinese side (nothing of dev or test), as extra word-level training pairs.

CC-CEDICT (https://cc-cedict.org/, published by MDBG; CEDICT (C) 1997, 1998 Paul Andrew
Denisowski) is licensed CC BY-SA 4.0; the restricted extract ``assets/lexicon/cedict-train.tsv``
is shared under the same licence (README: Data and attribution).

    python -m models.lexicon CEDICT_FILE      # writes the extract (cedict_1_0_ts_utf-8_mdbg.txt)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .corpus import extract_rows, orient
from .data import Example, Pair, gloss_sense, hsk_splits
from .paths import ASSETS

EXTRACT = ASSETS / "lexicon" / "cedict-train.tsv"
MAX_SENSES = 2  # plain senses kept per word
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")


def read_cedict(path: str | Path) -> dict[str, list[str]]:
    """Simplified headword -> its plain English senses (``gloss_sense`` of each definition), in
    the dictionary's order, over all of the word's entries."""
    out: dict[str, list[str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        senses = out.setdefault(m.group(2), [])
        for d in m.group(3).split("/"):
            s = gloss_sense(d)
            if s and not s.isdigit() and "..." not in s and s.lower() not in (x.lower() for x in senses):
                senses.append(s)
    return out


def train_words(examples: list[Example]) -> dict[str, str]:
    """Every word of the examples' Chinese segmentation -> its first HSK gloss sense ('' if none)."""
    out: dict[str, str] = {}
    for e in examples:
        for word, gloss in e.zh_words:
            if word.strip() and not out.get(word):
                out[word] = gloss_sense(gloss) or ""
    return out


def write_extract(cedict: str | Path, out: Path = EXTRACT) -> int:
    """Write 'word<TAB>sense' lines: up to MAX_SENSES CC-CEDICT senses of each training-split word,
    leaving out the sense the HSK gloss lexicon already gives. Returns the line count."""
    senses = read_cedict(cedict)
    lines = []
    for word, hsk in sorted(train_words(hsk_splits()["train"]).items()):
        for s in [x for x in senses.get(word, []) if x.lower() != hsk.lower()][:MAX_SENSES]:
            lines.append(f"{word}\t{s}\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "# CC-CEDICT senses of the HSK training split's words; CC BY-SA 4.0, https://cc-cedict.org/ (MDBG; CEDICT (C) Paul Andrew Denisowski)\n"
    out.write_text(header + "".join(lines), encoding="utf-8")
    return len(lines)


def cedict_lexicon(direction: str, path: Path = EXTRACT) -> list[Pair]:
    """The extract as word-level pairs in ``direction`` (ids 'cedict:WORD')."""
    return [orient(Pair(sense, word, f"cedict:{word}"), "en-zh", direction) for _, (word, sense) in extract_rows(path)]


if __name__ == "__main__":
    print(f"{write_extract(sys.argv[1])} lines -> {EXTRACT}")
