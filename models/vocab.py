"""Vocabularies: token strings <-> integer ids, with four fixed specials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
MAX_TOKEN_CHARS = 200  # a longer token (a URL, a base64 blob) is kept out of vocabularies: it reads as <unk>


@dataclass(frozen=True)
class Vocab:
    """An ordered token list; ids are positions. ``lowercase`` folds case on lookup."""

    itos: tuple[str, ...]
    lowercase: bool = False

    def __post_init__(self) -> None:
        if tuple(self.itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {list(SPECIALS)}")
        object.__setattr__(self, "_stoi", {tok: i for i, tok in enumerate(self.itos)})
        if len(self._stoi) != len(self.itos):  # type: ignore[attr-defined]
            raise ValueError("vocabulary has duplicate entries")

    @classmethod
    def build(cls, sentences: Iterable[list[str]], lowercase: bool = False, min_freq: int = 1) -> Vocab:
        counts = Counter(t.lower() if lowercase else t for sent in sentences for t in sent)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and storable(t)), key=lambda t: (-counts[t], t))
        return cls(SPECIALS + tuple(kept), lowercase)

    def __len__(self) -> int:
        return len(self.itos)

    def id(self, token: str) -> int:
        return self._stoi.get(token.lower() if self.lowercase else token, UNK)  # type: ignore[attr-defined]

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.id(t) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]


def storable(token: str) -> bool:
    """Whether ``token`` may be a vocabulary entry: not a special, at most MAX_TOKEN_CHARS long
    (what a checkpoint stores; models.checkpoint refuses longer entries)."""
    return token not in SPECIALS and len(token) <= MAX_TOKEN_CHARS
