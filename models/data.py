"""Corpora: the bundled HSK zh-en sentences (cleaned, deduplicated, split) and user TSV files."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .tokenize import Tokenizer, readable

SPLIT_SEED = 2024
SPLIT_FRACTIONS = (0.90, 0.05, 0.05)  # train, dev, test
MAX_TSV_PAIRS = 2_000_000
MAX_LINE_BYTES = 8192  # of one corpus line; longer lines are skipped
MAX_SENTENCE_TOKENS = 100  # per side of a training pair; longer pairs are skipped
MAX_TSV_BYTES = 512 * 2**20  # read from one corpus file in all


@dataclass(frozen=True)
class Example:
    """One HSK sentence pair with its word segmentation and per-word English glosses."""

    id: str
    en: str
    zh: str
    zh_words: tuple[tuple[str, str], ...]  # (word, gloss)


@dataclass(frozen=True)
class Pair:
    """A training or test pair in the direction of a model."""

    src: str
    tgt: str
    id: str = ""


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def load_hsk() -> list[Example]:
    """All usable HSK pairs: placeholders dropped, and a pair whose Chinese or English text
    (ignoring case and punctuation) repeats an earlier one dropped, so that no sentence can
    appear in two splits."""
    from hsk_sentences_audio import load_sentences

    seen_zh: set[str] = set()
    seen_en: set[str] = set()
    out = []
    for s in load_sentences():
        en, zh = s["translation"]["en"].strip(), s["chinese"].strip()
        kz, ke = _norm(zh), _norm(en)
        if not en or not zh or ke == "placeholder" or kz in seen_zh or ke in seen_en:
            continue
        seen_zh.add(kz)
        seen_en.add(ke)
        out.append(Example(s["id"], en, zh, tuple((t["word"], t.get("gloss_en") or "") for t in s["tokens"])))
    return out


def split_examples(examples: list, seed: int = SPLIT_SEED) -> dict[str, list]:
    """A seeded shuffle cut 90/5/5 into train/dev/test."""
    items = list(examples)
    random.Random(seed).shuffle(items)
    n_dev = round(len(items) * SPLIT_FRACTIONS[1])
    n_test = round(len(items) * SPLIT_FRACTIONS[2])
    return {"train": items[n_dev + n_test :], "dev": items[:n_dev], "test": items[n_dev : n_dev + n_test]}


def hsk_splits() -> dict[str, list[Example]]:
    return split_examples(load_hsk())


def read_tsv(path: str | Path, max_pairs: int | None = None, min_pairs: int = 3) -> list[Pair]:
    """One ``source<TAB>target`` pair per line (``read_tsv_counted``, without the count)."""
    return read_tsv_counted(path, max_pairs, min_pairs)[0]


def bounded_lines(fh: BinaryIO, path: str | Path, max_bytes: int | None = None) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, whole) of each line of the binary file ``fh`` (named ``path`` in
    errors), without its line end.

    Bounded before anything grows: a line is read at most ``MAX_LINE_BYTES`` at a time; of a
    longer one, the text is its first ``MAX_LINE_BYTES`` bytes, ``whole`` is False, and the rest
    is read past a bounded chunk at a time. A NUL byte (a binary file, /dev/zero), text that is
    not UTF-8, or more than ``max_bytes`` read in all (an endless stream) raise ValueError naming
    the line."""
    n = read = 0

    def chunk() -> bytes:
        nonlocal read
        raw = fh.readline(MAX_LINE_BYTES + 1)
        read += len(raw)
        if max_bytes is not None and read > max_bytes:
            raise ValueError(f"{path}: stopped after {max_bytes // 2**20:,} MB without reaching its end; a corpus can be at most that")
        if b"\0" in raw:
            if n == 0 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise ValueError(f"{path}: is UTF-16 text: save it as UTF-8")
            raise ValueError(f"{path}:{n + 1}: holds a NUL byte: this is a binary file, not text")
        return raw

    while raw := chunk():
        n += 1
        whole = len(raw) <= MAX_LINE_BYTES
        head = raw if whole else raw[:MAX_LINE_BYTES]
        while raw and not raw.endswith(b"\n"):  # the rest of a long line
            raw = chunk()
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if whole or exc.start < len(head) - 3:  # not just a character cut in two at the end
                raise ValueError(f"{path}:{n}: is not UTF-8 text") from None
            text = head[: exc.start].decode("utf-8")
        yield n, text.rstrip("\r\n"), whole


def count_lines(path: str | Path) -> int:
    """Lines in the text file ``path``, as ``bounded_lines`` numbers them."""
    with open(path, "rb") as fh:
        return sum(1 for _ in bounded_lines(fh, path, MAX_TSV_BYTES))


# Words of a column header: generic names and the commonest language names and codes. A first line
# whose two sides differ and consist only of these words ("source<TAB>target", "en<TAB>zh",
# "English text<TAB>Chinese text") names the columns; it is not a sentence pair.
_HEADER_WORDS = frozenset({
    "source", "target", "src", "tgt", "input", "output", "text", "texts", "sentence", "sentences",
    "translation", "original", "reference", "lang", "language", "en", "zh", "de", "fr", "es", "it", "ja",
    "ko", "ru", "pt", "nl", "ar", "eng", "cmn", "zho", "deu", "fra", "spa", "jpn", "kor", "rus", "english",
    "chinese", "mandarin", "german", "french", "spanish", "italian", "japanese", "korean", "russian",
    "portuguese", "dutch", "arabic"
})


def is_header(src: str, tgt: str) -> bool:
    """Whether the pair (``src``, ``tgt``) reads as a TSV's column names (``_HEADER_WORDS``)."""
    sides = [re.split(r"[\s_\-]+", s.strip().lower()) for s in (src, tgt)]
    return sides[0] != sides[1] and all(w in _HEADER_WORDS for side in sides for w in side)


def tsv_lines(fh: BinaryIO, path: str | Path, on_skip: Callable[[], None], max_bytes: int | None = None) -> Iterator[tuple[int, str, str]]:
    """(line number, source, target) of each ``source<TAB>target`` line of the binary file ``fh``
    (``bounded_lines``); blank lines skipped, a line longer than ``MAX_LINE_BYTES`` skipped too
    (``on_skip`` is called), and a first line that names the columns (``is_header``). A malformed
    line, or a side with nothing a model could read (only spaces, controls or invisible
    characters), raises ValueError naming the line."""
    first = True
    for n, line, whole in bounded_lines(fh, path, max_bytes):
        if not whole:
            on_skip()
            continue
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{path}:{n}: expected 'source<TAB>target' (one tab), found {len(parts) - 1} tabs")
        for side, text in zip(("source", "target"), parts):
            if not text.strip():
                raise ValueError(f"{path}:{n}: the {side} is empty")
            if not readable(text):
                raise ValueError(f"{path}:{n}: the {side} has no readable characters (only spaces, controls or invisible characters)")
        if not (first and is_header(*parts)):
            yield n, parts[0].strip(), parts[1].strip()
        first = False


def read_tsv_counted(path: str | Path, max_pairs: int | None = None, min_pairs: int = 3) -> tuple[list[Pair], int]:
    """(pairs, lines skipped): one ``source<TAB>target`` pair per line (``tsv_lines``: bounded
    reading, at most ``MAX_TSV_BYTES`` in all), blank lines skipped; a pair with more than
    ``MAX_SENTENCE_TOKENS`` tokens on a side is skipped and counted too (training on it would take
    memory in T × S per batch, and the translator reads 60 tokens at most)."""
    tokens = Tokenizer().tokenize  # the same split for every language (case only changes lookups)
    pairs: list[Pair] = []
    skipped = 0
    limit = min(max_pairs or MAX_TSV_PAIRS, MAX_TSV_PAIRS)

    def skip() -> None:
        nonlocal skipped
        skipped += 1

    with open(path, "rb") as fh:
        for n, src, tgt in tsv_lines(fh, path, skip, MAX_TSV_BYTES):
            if max(len(tokens(src)), len(tokens(tgt))) > MAX_SENTENCE_TOKENS:
                skip()
                continue
            pairs.append(Pair(src, tgt, f"line{n}"))
            if len(pairs) >= limit:
                break
    if len(pairs) < min_pairs:
        raise ValueError(f"{path}: need at least {min_pairs} pair{'s' if min_pairs > 1 else ''}, found {len(pairs)}" + (f" ({skipped:,} lines skipped as too long)" if skipped else ""))
    return pairs, skipped


def tsv_splits(pairs: list[Pair], seed: int = SPLIT_SEED) -> dict[str, list[Pair]]:
    """Train/dev split of a user corpus (dev is 5%, at least one pair; no test split)."""
    items = list(pairs)
    random.Random(seed).shuffle(items)
    n_dev = max(1, round(len(items) * SPLIT_FRACTIONS[1]))
    return {"train": items[n_dev:], "dev": items[:n_dev], "test": []}


_GLOSS_SKIP = re.compile(r"^(see|variant of|used in|abbr\.|old variant|surname|erhua|classifier|cl:)", re.I)
_CJK = re.compile(r"[\u3400-\u9fff]")


def gloss_sense(gloss: str) -> str | None:
    """The first plain English sense of a gloss: notes in (parentheses) and [brackets] removed;
    None for cross-references, abbreviations, surnames and glosses with Chinese in them."""
    sense = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", gloss).split(";")[0]
    sense = re.sub(r"^to ", "", re.sub(r"\s+", " ", sense).strip(" ,."))
    if not sense or not sense[0].isalnum() or _GLOSS_SKIP.match(sense) or _CJK.search(sense) or len(sense.split()) > 4:
        return None
    return sense
