"""Word alignments: the gloss-derived references, Pharaoh files, and AER.

Reference rule (HSK corpus). Token indices are those of the project's tokeniser (English words
and punctuation; Chinese characters). An English word is linked to every character of a
Chinese word when:
- it is a personal pronoun and the Chinese word is in its case group (I/me/my/mine ~ 我), or
- it is not a stop word and one of its lemmas (lemminflect) equals a lemma of a word of that
  Chinese word's gloss, after notes in (parentheses) and [brackets] are removed from the gloss.
Stop words (articles, prepositions, auxiliaries, conjunctions) are never linked.

Links are (i, j) pairs: i indexes the source tokens and j the target tokens of a model's
direction. Pharaoh files write each sentence as "i-j i-j ...".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .tokenize import Tokenizer, is_word

Links = set[tuple[int, int]]

PRONOUNS = {
    frozenset({"i", "me", "my", "mine", "myself"}): {"我"},
    frozenset({"you", "your", "yours", "yourself", "yourselves"}): {"你", "您", "你们"},
    frozenset({"he", "him", "his", "himself"}): {"他"},
    frozenset({"she", "her", "hers", "herself"}): {"她"},
    frozenset({"it", "its", "itself"}): {"它"},
    frozenset({"we", "us", "our", "ours", "ourselves"}): {"我们", "咱们"},
    frozenset({"they", "them", "their", "theirs", "themselves"}): {"他们", "她们", "它们"},
}
STOP_WORDS = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "by", "from", "into", "onto", "about", "as", "and", "or", "but", "if", "than", "so", "that", "this", "these", "those", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "done", "have", "has", "had", "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "'s", "'re", "'ve", "'d", "'ll", "there", "here", "then"]
)
_NOTE_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TOKENIZER = Tokenizer()


@lru_cache(maxsize=100_000)
def lemmas(word: str) -> frozenset[str]:
    from lemminflect import getAllLemmas

    w = word.lower()
    out = {w}
    for forms in getAllLemmas(w).values():
        out.update(forms)
    return frozenset(out)


def gloss_lemmas(gloss: str) -> frozenset[str]:
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", _NOTE_RE.sub(" ", gloss.lower()))
    return frozenset().union(*(lemmas(w) for w in words if w not in STOP_WORDS)) if words else frozenset()


def _word_spans(zh_tokens: list[str], words: Iterable[str]) -> list[list[int]]:
    """Token positions covered by each segmented word, found left to right in the sentence."""
    text, owner = "", []
    for j, tok in enumerate(zh_tokens):
        text += tok
        owner += [j] * len(tok)
    spans, cursor = [], 0
    for w in words:
        at = text.find(w, cursor)
        if at < 0:
            spans.append([])
            continue
        spans.append(sorted(set(owner[at : at + len(w)])))
        cursor = at + len(w)
    return spans


def reference_links(en: str, zh: str, zh_words: Iterable[tuple[str, str]]) -> Links:
    """Reference links (English token index, Chinese token index) for one HSK pair."""
    en_tokens, zh_tokens = _TOKENIZER.tokenize(en), _TOKENIZER.tokenize(zh)
    zh_words = list(zh_words)
    spans = _word_spans(zh_tokens, [w for w, _ in zh_words])
    glosses = [gloss_lemmas(g) for _, g in zh_words]
    links: Links = set()
    for i, tok in enumerate(en_tokens):
        low = tok.lower()
        if not is_word(tok):
            continue
        group = next((zh for forms, zh in PRONOUNS.items() if low in forms), None)
        for (word, _), span, gl in zip(zh_words, spans, glosses):
            if group is not None:
                hit = word in group
            else:
                hit = low not in STOP_WORDS and bool(lemmas(low) & gl)
            if hit:
                links.update((i, j) for j in span)
    return links


def flip(links: Links) -> Links:
    return {(j, i) for i, j in links}


def pharaoh_text(sentences: Iterable[Links]) -> str:
    """Pharaoh format: a line of sorted "i-j" links per sentence."""
    return "".join(" ".join(f"{i}-{j}" for i, j in sorted(s)) + "\n" for s in sentences)


def write_pharaoh(path: str | Path, sentences: Iterable[Links]) -> None:
    Path(path).write_text(pharaoh_text(sentences), encoding="utf-8")


def read_pharaoh_with_ids(path: str | Path) -> dict[str, Links]:
    """A Pharaoh file keyed by the ids in ``{split}.ids`` beside it (split = name up to the
    first dot), e.g. train.eflomal-gdfa.en-zh -> train.ids."""
    path = Path(path)
    ids_path = path.with_name(path.name.split(".")[0] + ".ids")
    ids = ids_path.read_text(encoding="utf-8").split()
    links = read_pharaoh(path)
    if len(ids) != len(links):
        raise ValueError(f"{path}: {len(links)} lines but {len(ids)} ids in {ids_path.name}")
    return dict(zip(ids, links))


_PHARAOH_LINK = re.compile(r"([0-9]+)-([0-9]+)")


def read_pharaoh(path: str | Path) -> list[Links]:
    """One set of (i, j) links per line of a Pharaoh file ("0-0 1-2 ..."; ASCII digits only)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        found = [_PHARAOH_LINK.fullmatch(p) for p in line.split()]
        if not all(found):
            raise ValueError(f"{path}:{n}: not Pharaoh 'i-j' format")
        out.append({(int(m[1]), int(m[2])) for m in found if m})
    return out


class Reference(NamedTuple):
    """A reference alignment of one sentence pair: sure links S and possible links P ⊇ S
    (Och & Ney 2003). An automatic reference has S = P."""

    sure: frozenset[tuple[int, int]]
    possible: frozenset[tuple[int, int]]

    @classmethod
    def of(cls, links: Links | Reference) -> Reference:
        """A Reference from plain links (S = P) or as it is."""
        if isinstance(links, Reference):
            return links
        return cls(frozenset(links), frozenset(links))

    def flipped(self) -> Reference:
        return Reference(frozenset(flip(self.sure)), frozenset(flip(self.possible)))


@dataclass
class AlignmentScore:
    """Counts summed over a corpus: |A∩S|, |A∩P|, |A|, |S| for predicted links A and a
    reference of sure links S and possible links P ⊇ S. precision = |A∩P| / |A|, recall =
    |A∩S| / |S|, AER = 1 − (|A∩S| + |A∩P|) / (|A| + |S|). Sentences added with a ``key`` keep
    their own counts, for ``paired_bootstrap``."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))  # (A∩S, A∩P, A, S)
    sentences: dict[str, np.ndarray] = field(default_factory=dict)  # key -> its counts (4,)

    def add(self, predicted: Links, reference: Links | Reference, key: str | None = None) -> None:
        ref = Reference.of(reference)
        counts = np.array([len(predicted & ref.sure), len(predicted & ref.possible), len(predicted), len(ref.sure)])
        self.counts += counts
        if key is not None:
            self.sentences[key] = counts

    @property
    def reference(self) -> int:
        """Sure reference links counted."""
        return int(self.counts[3])

    @property
    def precision(self) -> float:
        return float(self.counts[1] / self.counts[2]) if self.counts[2] else 0.0

    @property
    def recall(self) -> float:
        return float(self.counts[0] / self.counts[3]) if self.counts[3] else 0.0

    @property
    def aer(self) -> float:
        return float(_aer(self.counts))


def _aer(counts: np.ndarray) -> np.ndarray:
    """AER of (..., 4) counts (A∩S, A∩P, A, S); 1 where there is nothing to count."""
    total = counts[..., 2] + counts[..., 3]
    return np.where(total > 0, 1.0 - (counts[..., 0] + counts[..., 1]) / np.maximum(total, 1), 1.0)


def paired_bootstrap(a: AlignmentScore, b: AlignmentScore, samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """AER(a) − AER(b) over the sentences both scored (by key), with a 95% interval from
    resampling those sentences with replacement, the same draw for both (a paired bootstrap),
    and the share of draws in which a has the lower AER. Negative differences favour a."""
    keys = sorted(a.sentences.keys() & b.sentences.keys())
    if not keys:
        raise ValueError("the two scores share no sentence")
    A = np.array([a.sentences[k] for k in keys])  # (N, 4)
    B = np.array([b.sentences[k] for k in keys])
    times = _resample(len(keys), samples, seed)  # (samples, N)
    diff = _aer(times @ A) - _aer(times @ B)  # (samples,)
    low, high = np.percentile(diff, [2.5, 97.5])
    return {"diff": float(_aer(A.sum(0)) - _aer(B.sum(0))), "low": float(low), "high": float(high), "a_better": float((diff < 0).mean())}


def bootstrap_interval(score: AlignmentScore, samples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of one score's AER from resampling its keyed sentences."""
    C = np.array(list(score.sentences.values()))  # (N, 4)
    low, high = np.percentile(_aer(_resample(len(C), samples, seed) @ C), [2.5, 97.5])
    return float(low), float(high)


def _resample(n: int, samples: int, seed: int) -> np.ndarray:
    """Bootstrap draws of n sentences with replacement, as (samples, n) counts of how often each
    sentence was drawn: counts @ per-sentence counts (n, 4) is each draw's corpus counts, the
    same integers as summing the drawn rows, without a (samples, n, 4) array."""
    draws = np.random.default_rng(seed).integers(0, n, size=(samples, n))  # (samples, n) sentence indices
    offsets = np.arange(samples)[:, None] * n
    return np.bincount((draws + offsets).ravel(), minlength=samples * n).reshape(samples, n)


def attention_links(attention: np.ndarray, src_tokens: list[str], tgt_tokens: list[str], shift: int = 0) -> Links:
    """Read attention (T', S) as alignment: each target token links to its argmax source token
    (none when that is the source end token). ``shift`` = 1 reads the row one decoder step
    later (Shift-Att, Chen et al. 2020)."""
    links: Links = set()
    for j in range(len(tgt_tokens)):
        row = j + shift
        if row >= attention.shape[0]:
            continue
        i = int(np.argmax(attention[row]))
        if i < len(src_tokens):
            links.add((i, j))
    return links


def ensemble_links(maps: list[np.ndarray], src_tokens: list[str], tgt_tokens: list[str], shift: int = 0, min_weight: float = 0.0) -> Links:
    """Several models' maps of one pair (each (T', S), the same tokens) read as one alignment:
    ``attention_links`` of their mean, keeping only links whose mean weight is at least
    ``min_weight`` (fewer, surer links: the rows where the models agree)."""
    mean = np.mean(maps, axis=0)
    return {(i, j) for i, j in attention_links(mean, src_tokens, tgt_tokens, shift) if mean[j + shift, i] >= min_weight}


# Least two-way mean weight of a link read from both directions (``bidirectional_links``): chosen
# on the gold dev split from 0.2–0.5 (docs/2026-12-05-bidirectional-aligner.md).
BIDIRECTIONAL_MIN_WEIGHT = 0.35


def bidirectional_links(forward: list[np.ndarray], backward: list[np.ndarray], n_src: int, n_tgt: int, min_weight: float = BIDIRECTIONAL_MIN_WEIGHT) -> Links:
    """One pair read by models of both directions as one alignment. ``forward``: maps of the
    models translating source → target, each (T', S') with rows the target tokens and columns
    the source tokens (then "</s>"): P(source i | target j). ``backward``: maps of the models
    translating target → source on the same pair, each (S', T'): P(target j | source i). Every
    (i, j) whose mean of the two directions' mean weights is at least ``min_weight`` is linked,
    so a word may link to several (unlike ``ensemble_links``, one per target token) and a link
    needs support from both directions or a sure one from either. Links in (source, target)."""
    if not 0 < min_weight <= 1:
        raise ValueError("min_weight must be above 0 and at most 1")
    fwd = np.mean(forward, axis=0)[:n_tgt, :n_src].T  # (S, T)
    bwd = np.mean(backward, axis=0)[:n_src, :n_tgt]  # (S, T)
    if fwd.shape != (n_src, n_tgt) or bwd.shape != (n_src, n_tgt):
        raise ValueError(f"maps of shapes {fwd.shape} and {bwd.shape} do not cover {n_src} source and {n_tgt} target tokens")
    weight = (fwd + bwd) / 2  # (S, T)
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(weight >= min_weight))}


def diagonal_links(src_tokens: list[str], tgt_tokens: list[str]) -> Links:
    """The diagonal guess: target token j links to source position j * (S-1)/(T-1)."""
    S, T = len(src_tokens), len(tgt_tokens)
    return {(round(j * (S - 1) / max(T - 1, 1)), j) for j in range(T)} if S else set()
