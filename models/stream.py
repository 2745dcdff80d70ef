"""Streaming corpora: train on a ``source<TAB>target`` file larger than memory.

What stays in memory is bounded whatever the file size:

- the vocabulary: one counting pass keeps at most ``count_limit`` distinct tokens per side (when
  the table grows past it, only the most frequent half is kept: lossy counting, so counts near
  the cut are approximate), then the ``max_vocab`` most frequent become the vocabulary;
- the dev split: the first ``dev_lines`` pairs, or a deterministic hash-based 5% of the pairs
  (blake2b of the seed and the pair's text, so a repeated pair always falls on the same side),
  at most ``dev_max`` pairs (hash-dev pairs past that are left out of training too);
- training: pairs are read in order into a shuffle buffer of ``shuffle_buffer`` pairs, which is
  shuffled (length-bucketed batches in random order) and emptied before the next is read.

``.gz`` files (recognised by their magic bytes) are read through gzip. Lines are read at most
``MAX_LINE_BYTES`` at a time by ``models.data.tsv_lines``, as for files read whole; longer lines and pairs
over ``MAX_SENTENCE_TOKENS`` tokens a side are skipped and counted. There is no total-size cap:
that is the point of streaming (``--max-pairs`` bounds the pairs trained on).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from .data import MAX_SENTENCE_TOKENS, Pair, tsv_lines
from .tokenize import Tokenizer
from .vocab import SPECIALS, Vocab, storable

STREAM_THRESHOLD_BYTES = 64 * 2**20  # files over this (or any .gz) are streamed by the CLI
DEV_PERCENT = 5
MAX_DEV_PAIRS = 5000
DEFAULT_MAX_VOCAB = 50_000
DEFAULT_SHUFFLE_BUFFER = 100_000


def open_corpus(path: str | Path):
    """A binary file object for ``path``, decompressing when it is gzip (magic bytes 1f 8b)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def iter_lines(path: str | Path, on_skip: Callable[[], None] = lambda: None) -> Iterator[tuple[int, str, str]]:
    """(line number, source, target) for every pair line; blank lines are passed over, long ones
    skipped (``on_skip`` is called for each). NUL bytes, non-UTF-8 text and malformed lines raise
    ValueError naming the line."""
    with open_corpus(path) as fh:
        yield from tsv_lines(fh, path, on_skip)


class BoundedCounter:
    """Token counts in at most ``limit`` entries: past that, the most frequent half is kept."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 2)
        self.counts: Counter[str] = Counter()
        self.pruned = 0

    def update(self, tokens: list[str]) -> None:
        self.counts.update(tokens)
        if len(self.counts) > self.limit:
            self.counts = Counter(dict(self.counts.most_common(self.limit // 2)))
            self.pruned += 1

    def vocab(self, max_size: int, lowercase: bool) -> Vocab:
        kept = sorted((t for t in self.counts if storable(t)), key=lambda t: (-self.counts[t], t))[:max_size]
        return Vocab(SPECIALS + tuple(kept), lowercase)


class StreamCorpus:
    """A corpus file read in passes: ``scan()`` once (vocabularies, dev split, counts), then
    ``batches()`` once per epoch."""

    def __init__(
        self,
        path: str | Path,
        src_tok: Tokenizer,
        tgt_tok: Tokenizer,
        max_vocab: int = DEFAULT_MAX_VOCAB,
        shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
        dev_lines: int = 0,
        split_seed: int = 2024,
        max_pairs: int | None = None,
        dev_max: int = MAX_DEV_PAIRS,
        count_limit: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.src_tok, self.tgt_tok = src_tok, tgt_tok
        self.max_vocab, self.shuffle_buffer = max_vocab, max(1, shuffle_buffer)
        self.dev_lines, self.split_seed = dev_lines, split_seed
        self.max_pairs, self.dev_max = max_pairs, dev_max
        self.count_limit = count_limit or max(4 * max_vocab, 100_000)
        self.dev: list[Pair] = []
        self.n_train = 0
        self.skipped = 0
        self.src_vocab: Vocab | None = None
        self.tgt_vocab: Vocab | None = None

    def _is_dev(self, index: int, src: str, tgt: str) -> bool:
        if self.dev_lines:
            return index <= self.dev_lines
        h = hashlib.blake2b(f"{self.split_seed}\0{src}\t{tgt}".encode(), digest_size=8).digest()
        return int.from_bytes(h, "big") % 100 < DEV_PERCENT

    def _pairs(self, count_skips: bool = False) -> Iterator[tuple[bool, int, list[str], list[str], str, str]]:
        """(is_dev, line, source tokens, target tokens, source, target) of usable pairs, stopping
        after ``max_pairs`` training pairs."""

        def skip() -> None:
            if count_skips:
                self.skipped += 1

        index = n_train = 0
        for n, src, tgt in iter_lines(self.path, skip):
            s, t = self.src_tok.tokenize(src), self.tgt_tok.tokenize(tgt)
            if max(len(s), len(t)) > MAX_SENTENCE_TOKENS:
                skip()
                continue
            index += 1
            dev = self._is_dev(index, src, tgt)
            if not dev:
                if self.max_pairs and n_train >= self.max_pairs:
                    return
                n_train += 1
            yield dev, n, s, t, src, tgt

    def scan(self) -> StreamCorpus:
        """The counting pass: vocabularies (capped at ``max_vocab`` each), the dev pairs, the
        number of training pairs."""
        src_counts, tgt_counts = BoundedCounter(self.count_limit), BoundedCounter(self.count_limit)
        self.dev, self.n_train, self.skipped = [], 0, 0
        for dev, n, s, t, src, tgt in self._pairs(count_skips=True):
            if dev:
                if len(self.dev) < self.dev_max:
                    self.dev.append(Pair(src, tgt, f"line{n}"))
                continue
            self.n_train += 1
            src_counts.update([w.lower() for w in s] if self.src_tok.lowercase else s)
            tgt_counts.update([w.lower() for w in t] if self.tgt_tok.lowercase else t)
        if self.n_train < 1 or not self.dev:
            raise ValueError(f"{self.path}: need at least one training and one dev pair, found {self.n_train} and {len(self.dev)}")
        self.src_vocab = src_counts.vocab(self.max_vocab, self.src_tok.lowercase)
        self.tgt_vocab = tgt_counts.vocab(self.max_vocab, self.tgt_tok.lowercase)
        return self

    def n_batches(self, batch_size: int) -> int:
        full, rest = divmod(self.n_train, self.shuffle_buffer)
        return full * math.ceil(self.shuffle_buffer / batch_size) + math.ceil(rest / batch_size)

    def batches(self, batch_size: int, rng: random.Random, encode: Callable[[list[str], list[str]], tuple]) -> Iterator[list[tuple]]:
        """One epoch: encoded training items, ``batch_size`` at a time; each shuffle buffer is
        cut into batches of similar source length, yielded in random order."""
        buf: list[tuple] = []
        for dev, _n, s, t, _src, _tgt in self._pairs():
            if dev:
                continue
            buf.append(encode(s, t))
            if len(buf) >= self.shuffle_buffer:
                yield from _cut(buf, batch_size, rng)
                buf = []
        if buf:
            yield from _cut(buf, batch_size, rng)


def _cut(buf: list[tuple], batch_size: int, rng: random.Random) -> Iterator[list[tuple]]:
    order = sorted(range(len(buf)), key=lambda i: (len(buf[i][0]), rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    for b in batches:
        yield [buf[i] for i in b]
