"""Downloads: attention as CSV and JSON, figures as PNG/SVG (through kaleido when it works)."""

from __future__ import annotations

import csv
import io
import json
import logging

import plotly.graph_objects as go

from models.result import DecodeResult

from .tokens import pick

IMAGE_TIMEOUT_S = 60
_log = logging.getLogger(__name__)


def attention_csv(result: DecodeResult, hypothesis: int = 0) -> str:
    """Attention (T, S) as CSV: header "target", "0:the", "1:cat", ... (positions keep repeated
    source tokens apart); then one row per target token: the token, then its weights."""
    hyp = pick(result, hypothesis)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target", *(f"{i}:{tok}" for i, tok in enumerate(result.source_tokens))])
    for tok, row in zip(hyp.tokens, hyp.attention):
        writer.writerow([tok, *(f"{float(w):.6g}" for w in row)])
    return out.getvalue()


def attention_json(result: DecodeResult, hypothesis: int = 0) -> str:
    """The result in its one JSON schema (``DecodeResult.to_json``: tokens, the drawn matrix as
    ``attention``, every attention map with its kind and dims), as UTF-8 JSON."""
    return json.dumps(result.to_json(hypothesis), ensure_ascii=False, indent=1)


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2.0) -> bytes | None:
    """``fig`` as PNG or SVG bytes rendered by kaleido in a headless Chromium, or None when
    kaleido is not installed or the browser fails (the toolbar's camera button still works).

    Each call starts a browser: seconds, not milliseconds. MathJax is off (it would come from
    a CDN). PNG text needs CJK fonts on the server (fonts-noto-cjk); SVG keeps text as text.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be 'png' or 'svg', got {fmt!r}")
    try:
        import kaleido
    except ImportError:
        return None
    opts = {"format": fmt, "width": fig.layout.width or 900, "height": fig.layout.height or 500, "scale": scale}
    try:
        return kaleido.calc_fig_sync(fig.to_dict(), opts=opts, kopts={"mathjax": False, "timeout": IMAGE_TIMEOUT_S})
    except Exception:  # any browser or rendering failure means "no server-side image"
        _log.exception("kaleido could not render the figure")
        return None
