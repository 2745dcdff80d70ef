"""Token text for figures and HTML: hypothesis choice, escaping, truncation, labels.

Plotly reads label and hover strings as a small HTML subset (``<b>``, ``<br>``, entities) and
would typeset text between ``$`` signs as LaTeX when MathJax is loaded, so every token goes
through :func:`plotly_text` before it reaches a figure; HTML output uses ``html.escape``.
"""

from __future__ import annotations

import html
import math
import unicodedata

from models.result import DecodeResult, Hypothesis

LABEL_WIDTH = 14  # display columns of a tick label before it is cut (a CJK character counts 2)
END = "</s>"


def pick(result: DecodeResult, hypothesis: int = 0) -> Hypothesis:
    """The ``hypothesis``-th hypothesis (0 = best), checked against the source length."""
    n = len(result.hypotheses)
    if not 0 <= hypothesis < n:
        raise ValueError(f"hypothesis {hypothesis} does not exist: this result has {n} (0 to {n - 1})")
    hyp = result.hypotheses[hypothesis]
    shape = (len(hyp.tokens), len(result.source_tokens))
    if hyp.attention.shape != shape:
        raise ValueError(f"attention has shape {hyp.attention.shape}, expected (target tokens, source tokens) = {shape}")
    return hyp


def target_joiner(result: DecodeResult) -> str:
    """What goes between target tokens when they are shown as text: nothing for Chinese."""
    return "" if result.direction.split("-")[-1].startswith("zh") else " "


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def text_px(text: str, size: float) -> float:
    """Width in pixels that ``text`` takes at font ``size``, estimated: 0.62 em per narrow
    character, 1.05 em per wide (CJK) one, whose glyphs are one em. Meant to err wide for the
    app's sans-serif fonts."""
    return size * sum(1.05 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text)


def pair_px(widths: list[float], d: int = 1) -> float:
    """Room that labels ``d`` positions apart need between their centres: the widest such pair's
    half-widths plus a 4-pixel gap (an end token has a neighbour on one side only, so a wide
    "</s>" beside narrow characters does not make a whole row look crowded); 0 with no pair."""
    return max(((a + b) / 2 + 4 for a, b in zip(widths, widths[d:])), default=0.0)


def keep_every(labels: list[str], k: int) -> list[str]:
    """``labels`` with every k-th kept and the others blank (their positions keep hover text)."""
    return [t if i % k == 0 else "" for i, t in enumerate(labels)]


def turned_step(spacing: float, size: float, angle: float = 90.0) -> int:
    """Every how many labels to keep when they are ``spacing`` pixels apart, in a font of ``size``
    pixels turned by ``angle`` degrees: a turned line of text takes (size + 2) / sin(angle) along
    the axis, and labels closer than that run into each other."""
    line = (size + 2) / math.sin(math.radians(angle))
    return 1 if spacing >= line else math.ceil(line / max(spacing, 1.0))


def truncate(token: str, width: int = LABEL_WIDTH) -> str:
    """``token`` cut to at most ``width`` display columns, an ellipsis marking the cut."""
    if display_width(token) <= width:
        return token
    out, used = "", 1
    for c in token:
        used += display_width(c)
        if used > width:
            break
        out += c
    return out + "…"


def plotly_text(text: str) -> str:
    """Text shown literally by Plotly: HTML-escaped, ``$`` as an entity so it is never LaTeX."""
    return html.escape(text, quote=False).replace("$", "&#36;")


def tick_label(token: str, known: bool = True, width: int = LABEL_WIDTH) -> str:
    """Short, escaped label; tokens missing from the vocabulary in italics with a "?"."""
    text = plotly_text(truncate(token, width))
    return text if known else f"<i>{text}</i><sup>?</sup>"


def hover_token(token: str, known: bool = True) -> str:
    """Full escaped token for hover text."""
    return plotly_text(token) + ("" if known else " (not in vocabulary)")


def words(hyp: Hypothesis) -> list[str]:
    """The generated tokens without the end token."""
    return hyp.tokens[:-1] if hyp.tokens and hyp.tokens[-1] == END else list(hyp.tokens)
