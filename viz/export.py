"""Downloads: attention as CSV and JSON, figures as PNG/SVG (through kaleido when it works).

Every file is safe to open: control characters in tokens are written as visible ``\\uXXXX``
escapes (an ESC made the SVG ill-formed XML and the PNG fail to render, and reaches a terminal
that prints the file), and CSV cells that a spreadsheet would read as a formula start with a
single quote (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import unicodedata

import plotly.graph_objects as go

from models.printable import printable
from models.result import DecodeResult

from .tokens import pick

IMAGE_TIMEOUT_S = 60
_log = logging.getLogger(__name__)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


MAX_STEM_CHARS = 100
_UNSAFE = re.compile(r"[^\w]+")  # \w: letters (Chinese ones too) and digits of any script, and "_"


def file_stem(*parts: str, kind: str = "attention") -> str:
    """A download's file name without its extension, from what it shows: ``kind`` then each
    part (model name, sentence), lower case, every run of characters other than letters and
    digits one "-", at most ``MAX_STEM_CHARS`` characters:
    ``file_stem("en-zh-dot-soft-guided", "I love you.")`` is ``attention-en-zh-dot-soft-guided-i-love-you``."""
    words = [w for part in (kind, *parts) for w in _UNSAFE.split(printable(part).lower().replace("_", "-")) if w]
    return "-".join(words)[:MAX_STEM_CHARS].strip("-") or kind


def text_width(text: str) -> int:
    """Display width in Latin-letter widths: a CJK (wide or full-width) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def image_title(model: str, sentence: str, limit: int = 60) -> str:
    """The title an exported chart carries: the model, then the sentence cut to ``limit``
    Latin-letter widths (``text_width``: a Chinese character takes two)."""
    sentence = printable(sentence).strip()
    if text_width(sentence) > limit:
        kept, width = [], 1  # the ellipsis
        for ch in sentence:
            width += text_width(ch)
            if width > limit:
                break
            kept.append(ch)
        sentence = "".join(kept) + "…"
    return f"{printable(model)} · {sentence}"


def matrix_csv(row_tokens: list[str], column_tokens: list[str], values, corner: str = "target") -> str:
    """A (rows, columns) matrix as CSV: header ``corner``, "0:tok", ... (positions keep repeated
    tokens apart); then one row per row token: the token, then its values. Tokens go through
    ``csv_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([corner, *(csv_cell(f"{i}:{tok}") for i, tok in enumerate(column_tokens))])
    for tok, row in zip(row_tokens, values):
        writer.writerow([csv_cell(tok), *(f"{float(w):.6g}" for w in row)])
    return out.getvalue()


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell that opens as text: printable, and a leading quote before a
    formula's first character."""
    text = printable(text)
    return "'" + text if text.startswith(FORMULA_START) else text


def _printable_tree(value: object) -> object:
    """Every string in ``value`` (a figure's dict) through ``printable``."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {k: _printable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable_tree(v) for v in value]
    return value


def attention_csv(result: DecodeResult, hypothesis: int = 0) -> str:
    """Attention (T, S) as CSV: header "target", "0:the", "1:cat", ... (positions keep repeated
    source tokens apart); then one row per target token: the token, then its weights. Tokens
    go through ``csv_cell``."""
    hyp = pick(result, hypothesis)
    return matrix_csv(hyp.tokens, result.source_tokens, hyp.attention)


def attention_json(result: DecodeResult, hypothesis: int = 0, model: str | None = None, **extra) -> str:
    """The result in its one JSON schema (``DecodeResult.to_json``: tokens, the drawn matrix as
    ``attention``, every attention map with its kind and dims), as UTF-8 JSON, with the
    ``model``'s name first when given and any ``extra`` fields; every string through ``printable``."""
    return json_text(({"model": model} if model is not None else {}) | result.to_json(hypothesis) | extra)


def json_text(data: object) -> str:
    """JSON data as UTF-8 JSON text, every string through ``printable``."""
    return json.dumps(_printable_strings(data), ensure_ascii=False, indent=1)


def _printable_strings(value: object) -> object:
    """``value`` (JSON data) with every string passed through ``printable``."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable_strings(v) for k, v in value.items()}
    return value


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2.0) -> bytes | None:
    """``fig`` as PNG or SVG bytes rendered by kaleido in a headless Chromium, or None when
    kaleido is not installed or the browser fails (the toolbar's camera button still works).

    Each call starts a browser: seconds, not milliseconds. MathJax is off (it would come from
    a CDN). PNG text needs CJK fonts on the server (fonts-noto-cjk); SVG keeps text as text.
    The figure's strings go through ``printable`` first: XML has no place for control characters.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be 'png' or 'svg', got {fmt!r}")
    try:
        import kaleido
    except ImportError:
        return None
    opts = {"format": fmt, "width": fig.layout.width or 900, "height": fig.layout.height or 500, "scale": scale}
    try:
        data = kaleido.calc_fig_sync(_printable_tree(fig.to_dict()), opts=opts, kopts={"mathjax": False, "timeout": IMAGE_TIMEOUT_S})
    except Exception:  # any browser or rendering failure means "no server-side image"
        _log.exception("kaleido could not render the figure")
        return None
    return data or None
