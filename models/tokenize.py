"""Tokenisers a person can read in a heatmap: words and punctuation, Han script as characters.

One tokeniser kind, ``unicode``, serves every language: Han (and kana) characters are single
tokens, other letters and digits form words (keeping inner apostrophes: ``don't``), and every
other visible character is a token of its own. Settings travel inside checkpoints.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

_HAN = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0002ffff"
)
_WORD = rf"(?:(?![{_HAN}])[^\W_])+"
_TOKEN_RE = re.compile(rf"[{_HAN}]|{_WORD}(?:['’]{_WORD})*|\S")
_HAN_RE = re.compile(rf"[{_HAN}]")
_NO_SPACE_BEFORE = set(".,!?;:%)]}’”…»、。，！？；：）」』】")
_NO_SPACE_AFTER = set("([{‘“«（「『【$#")
# Zero-width and other format characters, and emoji variation selectors, carry no meaning for
# the model and are dropped; a control character (Cc: a bell, a NUL) separates words like a space.
_INVISIBLE = {"Cf", "Cs", "Co", "Cn"}
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into tokens and joins tokens back into text.

    ``lowercase`` only changes how a token is looked up in a vocabulary (see ``Vocab``);
    the tokens themselves keep the user's spelling so that figures show what was typed.
    """

    kind: str = "unicode"
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.kind != "unicode":
            raise ValueError(f"unknown tokeniser kind {self.kind!r}")

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into tokens, dropping invisible format characters and variation
        selectors; whitespace and control characters separate tokens."""
        text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFC", text))
        text = "".join(
            " " if ch.isspace() or unicodedata.category(ch) == "Cc" else ch for ch in text if unicodedata.category(ch) not in _INVISIBLE
        )
        return _TOKEN_RE.findall(text)

    def detokenize(self, tokens: list[str]) -> str:
        """Join tokens into text: no spaces around Han characters or before closing punctuation."""
        out: list[str] = []
        for tok in tokens:
            if out:
                prev = out[-1]
                glue = (
                    tok[0] in _NO_SPACE_BEFORE
                    or prev[-1] in _NO_SPACE_AFTER
                    or _HAN_RE.match(tok[0]) is not None
                    or _HAN_RE.match(prev[-1]) is not None
                )
                if not glue:
                    out.append(" ")
            out.append(tok)
        return "".join(out)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Tokenizer:
        return cls(kind=str(data.get("kind", "unicode")), lowercase=bool(data.get("lowercase", False)))


def readable(text: str) -> bool:
    """Whether ``text`` has a token: a character that is not whitespace, a control, an invisible
    format character or a variation selector (what :meth:`Tokenizer.tokenize` drops or splits on)."""
    return any(
        not (ch.isspace() or unicodedata.category(ch)[0] == "C" or _VARIATION_SELECTORS.match(ch)) for ch in unicodedata.normalize("NFC", text)
    )


def is_word(token: str) -> bool:
    """True for tokens made of letters or digits (not punctuation or symbols)."""
    return any(ch.isalnum() for ch in token)


def tokenizer_for(lang: str | None) -> Tokenizer:
    """The source-side tokeniser for a language code: English looks words up lowercased;
    others as typed. (Targets always keep case: the model has to write it.)"""
    return Tokenizer(lowercase=(lang or "").lower().startswith("en"))


HAN_LANGUAGES = {"zh", "cmn", "yue", "wuu", "lzh", "ja", "jpn"}  # written mostly in Han characters (Japanese: with kana, which count as such)


def written_in_han(tokens: list[str]) -> bool | None:
    """Whether most of ``tokens``' words are Han characters (True) or other letters (False);
    None without words."""
    han = sum(1 for t in tokens if _HAN_RE.match(t))
    other = sum(1 for t in tokens if is_word(t) and not _HAN_RE.match(t) and any(c.isalpha() for c in t))
    return None if han == other == 0 else han > other


def in_another_script(tokens: list[str], lang: str) -> bool:
    """True when ``tokens`` are mostly Han characters and ``lang`` is not written in them, or the
    other way round: a Chinese sentence given to a model that reads English, or English to one
    that reads Chinese (most of its words are then unknown to the model)."""
    han = written_in_han(tokens)
    return han is not None and han != (lang.lower() in HAN_LANGUAGES)
