"""Tokens as HTML, shaded by one attention row or column (inline styles only, every token escaped)."""

from __future__ import annotations

import html

import numpy as np

from models.result import DecodeResult

from .style import ACCENT, FONT_FAMILY, text_color, weight_color
from .tokens import pick

TOKEN_STYLE = "display:inline-block;padding:1px 5px;margin:2px 1px;border-radius:4px;border:1px solid #ddd;white-space:pre"
LABEL_STYLE = "display:inline-block;width:4.5em;color:#666;font-size:0.85em"


def token_span(token: str, title: str, weight: float | None = None, selected: bool = False) -> str:
    """One escaped token; ``weight`` (0..1) shades it on the shared colour scale."""
    style = TOKEN_STYLE
    if weight is not None:
        style += f";background:{weight_color(weight)};color:{text_color(weight)}"
    if selected:
        style += f";outline:2px solid {ACCENT};outline-offset:1px;font-weight:600"
    return f'<span style="{style}" title="{html.escape(title, quote=True)}">{html.escape(token)}</span>'


def _row(label: str, tokens: list[str], weights: np.ndarray | None, selected: int | None, describe: str) -> str:
    spans = []
    for k, tok in enumerate(tokens):
        w = None if weights is None else float(weights[k])
        title = f"{tok} (#{k})" if w is None else f"{tok} (#{k}): {describe} {w:.3f}"
        spans.append(token_span(tok, title, w, k == selected))
    return f'<div><span style="{LABEL_STYLE}">{label}</span>{"".join(spans)}</div>'


def _check(index: int | None, n: int, what: str) -> None:
    if index is not None and not 0 <= index < n:
        raise ValueError(f"{what} {index} is out of range: there are {n} (0 to {n - 1})")


def highlight_html(
    result: DecodeResult, hypothesis: int = 0, target_index: int | None = None, source_index: int | None = None,
    names: tuple[str, str] = ("source", "target"),
) -> str:
    """Source row over target row as HTML, labelled ``names`` (``viz.heatmap.token_names``).

    With ``target_index``: source tokens shaded by that target token's attention row. With
    ``source_index``: target tokens shaded by how much each attended to that source token
    (its column). Selected tokens are outlined; weights are in each token's title (hover). If
    both are given, the target row decides the shading and both tokens are outlined.
    """
    hyp = pick(result, hypothesis)
    T, S = hyp.attention.shape
    _check(target_index, T, "target_index")
    _check(source_index, S, "source_index")
    src_w = hyp.attention[target_index] if target_index is not None else None
    tgt_w = hyp.attention[:, source_index] if source_index is not None and target_index is None else None
    src_desc = f"attention from “{hyp.tokens[target_index]}” =" if target_index is not None else ""
    tgt_desc = f"attention to “{result.source_tokens[source_index]}” =" if source_index is not None else ""
    return (
        f'<div style="font-family:{html.escape(FONT_FAMILY, quote=True)};line-height:1.9">'
        + _row(names[0], result.source_tokens, src_w, source_index, src_desc)
        + _row(names[1], hyp.tokens, tgt_w, target_index, tgt_desc)
        + "</div>"
    )
