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

import plotly.graph_objects as go

from models.printable import printable
from models.result import DecodeResult

from .tokens import pick

IMAGE_TIMEOUT_S = 60
_log = logging.getLogger(__name__)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target", *(csv_cell(f"{i}:{tok}") for i, tok in enumerate(result.source_tokens))])
    for tok, row in zip(hyp.tokens, hyp.attention):
        writer.writerow([csv_cell(tok), *(f"{float(w):.6g}" for w in row)])
    return out.getvalue()


def attention_json(result: DecodeResult, hypothesis: int = 0) -> str:
    """The result in its one JSON schema (``DecodeResult.to_json``: tokens, the drawn matrix as
    ``attention``, every attention map with its kind and dims), as UTF-8 JSON; every string
    through ``printable``."""
    return json.dumps(_printable_strings(result.to_json(hypothesis)), ensure_ascii=False, indent=1)


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
