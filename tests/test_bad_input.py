"""Strange, long and hostile input text: a clear message or a sensible result, tokens kept literally."""

from __future__ import annotations

import json
import unicodedata

import pytest

from models.translator import MAX_SOURCE_TOKENS, Translator

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
ODD_TEXTS = {
    "emoji": "I love 🐱 and 👨‍👩‍👧 !",
    "zero-width and control characters": "I\u200b love\u0000 you\u202e .\u0007\u200d",
    "right-to-left script": "مرحبا بالعالم שלום עולם",
    "mixed scripts": "I 爱 you, 東京 Москва Ελλάδα नमस्ते",
    "only punctuation": "?!...,;:()[]{}",
    "only unknown words": "zxqv blorfing qwertyuiop",
    "html": "<img src=x onerror=alert(1)>",
    "script tag": "<script>alert(1)</script>",
    "markdown": "**bold** _it_ [link](javascript:alert(1)) # heading",
    "latex": r"$x^2$ \frac{a}{b} $$\int_0^1$$",
    "one 5,000-character word": "a" * 5000,
}


def visible(text: str) -> str:
    """The text the tokeniser reads: NFC, invisible format and control characters dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch) not in INVISIBLE)


@pytest.mark.parametrize("text", ["", " ", "  \n\t  ", "\u3000"])
def test_empty_or_blank_input_asks_for_a_sentence(tiny_translator: Translator, text: str) -> None:
    with pytest.raises(ValueError, match="Please type a sentence"):
        tiny_translator.translate(text)


@pytest.mark.parametrize("text", ["\u200b\u200d", "\u0000\u0007", "\u202e\u202c"])
def test_only_invisible_characters_says_there_is_nothing_to_read(tiny_translator: Translator, text: str) -> None:
    with pytest.raises(ValueError, match="no readable tokens"):
        tiny_translator.translate(text)


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("case", list(ODD_TEXTS))
def test_odd_text_translates_with_every_token_taken_literally(tiny_translator: Translator, case: str, beam: int) -> None:
    text = ODD_TEXTS[case]
    result = tiny_translator.translate(text, beam=beam)
    words = result.source_tokens[:-1]
    assert words and result.source_tokens[-1] == "</s>"
    assert "".join(words) == "".join(visible(text).split())[: len("".join(words))]
    assert not any(unicodedata.category(ch) in INVISIBLE for tok in words for ch in tok)
    assert result.attention.shape == (len(result.target_tokens), len(result.source_tokens))
    json.dumps(result.to_json(), ensure_ascii=False)


def test_html_is_split_into_literal_tokens(tiny_translator: Translator) -> None:
    tokens = tiny_translator.translate("<script>alert(1)</script>").source_tokens
    assert tokens == ["<", "script", ">", "alert", "(", "1", ")", "<", "/", "script", ">", "</s>"]


def test_unknown_words_are_marked_unknown(tiny_translator: Translator) -> None:
    result = tiny_translator.translate(ODD_TEXTS["only unknown words"])
    assert result.source_known == [False, False, False, True]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [(("the cat sat on the mat . " * 200)[:5000], 1400), (" ".join(["tea"] * 500), 500)],
    ids=["5,000 characters", "500 words"],
)
def test_long_input_is_cut_to_the_limit_and_says_so(tiny_translator: Translator, text: str, tokens: int) -> None:
    result = tiny_translator.translate(text)
    assert result.truncated_from == tokens
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS + 1
    assert result.best.tokens


def test_input_at_the_limit_is_not_cut(tiny_translator: Translator) -> None:
    result = tiny_translator.translate(" ".join(["tea"] * MAX_SOURCE_TOKENS))
    assert result.truncated_from is None
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS + 1
