"""Attention as lines from source tokens (top row) to target tokens (bottom row)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from models.result import DecodeResult

from .heatmap import CHART_PX
from .style import FONT_SIZE, styled_figure, weight_color
from .tokens import hover_token, pair_px, pick, text_px, tick_label, truncate

BINS = 5  # line styles: weights are bucketed, one trace per bucket
STAGGER_ABOVE = 20  # more tokens than this in a row: labels alternate between two heights
LABELS_MAX = 40  # more tokens than this in a row: only every k-th is labelled
LABEL_COLUMNS = 10  # a label's most display columns (longer tokens end in an ellipsis)


def positions(n: int) -> np.ndarray:
    """(n,) x positions spread over 0..1."""
    return np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5])


def segments(start: np.ndarray, end: np.ndarray) -> list[float | None]:
    """(n,) starts and ends as one coordinate list: start, end, None (a break), ..."""
    out = np.full(3 * len(start), None, dtype=object)
    out[0::3], out[1::3] = start.tolist(), end.tolist()
    return out.tolist()


def _spacing(n: int, width: int) -> float:
    """Pixels between neighbouring markers of a row of ``n`` in a chart ``width`` pixels wide
    (the plot spans about 90% of the chart)."""
    return 0.9 * width / max(n - 1, 1)


def _label_px(token: str, known: bool, columns: int) -> float:
    """Estimated width of a token's label cut to ``columns``, with the unknown-word mark."""
    return text_px(truncate(token, columns) + ("" if known else "?"), FONT_SIZE)


def row_labels(labels: list[str], above: bool, widths: list[float] | None = None, width: int = CHART_PX) -> list[str]:
    """Labels for one row of markers in a chart ``width`` pixels wide, ``widths`` the labels'
    estimated pixel widths. When neighbours would overlap (or past STAGGER_ABOVE tokens) every
    other label sits a line further out; when even that is too tight (or past LABELS_MAX) only
    every k-th is written (all keep their hover text)."""
    n = len(labels)
    spacing = _spacing(n, width)
    widths = widths or [0.0] * n
    every = math.ceil(n / LABELS_MAX)
    while pair_px(widths, 2 * every) > 2 * every * spacing:
        every += 1
    stagger = n > STAGGER_ABOVE or pair_px(widths, every) > spacing * every
    out = []
    for k, label in enumerate(labels):
        if k % every:
            out.append("")
        elif stagger and (k // every) % 2:
            out.append(f"{label}<br>&nbsp;" if above else f"&nbsp;<br>{label}")
        else:
            out.append(label)
    return out


def label_columns(tokens: list[str], known: list[bool], width: int = CHART_PX) -> int:
    """How many columns (LABEL_COLUMNS down to 4) a row's labels keep: the most at which
    staggered labels fit side by side, so that long words are shortened (their hover text stays
    whole) before any label is left out."""
    spacing = _spacing(len(tokens), width)
    for columns in range(LABEL_COLUMNS, 4, -1):
        if pair_px([_label_px(t, k, columns) for t, k in zip(tokens, known)], 2) <= 2 * spacing:
            return columns
    return 4


def _token_row(tokens: list[str], known: list[bool], x: np.ndarray, y: float, name: str, width: int = CHART_PX) -> go.Scatter:
    """Markers at height ``y`` with short escaped tokens above (y > 0.5) or below them."""
    above = y > 0.5
    columns = label_columns(tokens, known, width)
    widths = [_label_px(t, k, columns) for t, k in zip(tokens, known)]
    return go.Scatter(
        x=x,
        y=np.full(len(tokens), y),
        mode="markers+text",
        text=row_labels([tick_label(t, k, width=columns) for t, k in zip(tokens, known)], above, widths, width),
        textposition="top center" if above else "bottom center",
        textfont={"size": FONT_SIZE},
        marker={"size": 7, "color": weight_color(0.9)},
        cliponaxis=False,  # a staggered label's outer line may reach past the plot (a phone's legend takes height)
        name=name,
        showlegend=False,
        customdata=[f"{name} #{i}: {hover_token(t, k)}" for i, (t, k) in enumerate(zip(tokens, known))],
        hovertemplate="%{customdata}<extra></extra>",
    )


def flow_figure(
    result: DecodeResult, hypothesis: int = 0, threshold: float = 0.05, width: int = CHART_PX, names: tuple[str, str] = ("source", "target")
) -> go.Figure:
    """Lines from source token i to target token t for every weight >= ``threshold``, labelled
    for a chart ``width`` pixels wide (labels that would collide alternate rows or thin out);
    ``names`` the two rows (``viz.heatmap.token_names``).

    Width, opacity and colour grow with the weight. Weights are put into BINS equal buckets
    between ``threshold`` and 1, each bucket one Scatter trace of None-separated segments, so
    the figure has at most BINS + 3 traces however many lines it draws: the buckets, invisible
    markers at line midpoints that carry the hover text, and the two token rows.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    hyp = pick(result, hypothesis)
    attn = np.asarray(hyp.attention, dtype=float)
    T, S = attn.shape
    xs, xt = positions(S), positions(T)
    tgt, src = np.nonzero(attn >= threshold)
    weights = attn[tgt, src]
    edges = np.linspace(threshold, 1.0, BINS + 1)
    bucket = np.clip(np.searchsorted(edges, weights, side="right") - 1, 0, BINS - 1)
    traces = []
    for b in range(BINS):
        sel = bucket == b
        if not sel.any():
            continue
        n = int(sel.sum())
        mid = (edges[b] + edges[b + 1]) / 2
        traces.append(
            go.Scatter(
                x=segments(xs[src[sel]], xt[tgt[sel]]),
                y=segments(np.ones(n), np.zeros(n)),
                mode="lines",
                line={"width": 0.5 + 6 * mid, "color": weight_color(0.35 + 0.65 * mid)},
                opacity=min(0.15 + 0.85 * mid, 1.0),
                name=f"{edges[b]:.2f}–{edges[b + 1]:.2f} ({n})",
                hoverinfo="skip",
                legendgroup="weights",
                legendgrouptitle={"text": "weight"},
            )
        )
    traces.append(
        go.Scatter(
            x=(xs[src] + xt[tgt]) / 2,
            y=np.full(len(weights), 0.5),
            mode="markers",
            marker={"size": 10, "opacity": 0},
            showlegend=False,
            name="links",
            customdata=[f"{hover_token(hyp.tokens[t])} → {hover_token(result.source_tokens[i])}" for t, i in zip(tgt, src)],
            text=[f"{w:.3f}" for w in weights],
            hovertemplate="%{customdata}: %{text}<extra></extra>",
        )
    )
    traces += [
        _token_row(result.source_tokens, result.source_known, xs, 1.0, names[0], width),
        _token_row(hyp.tokens, [True] * T, xt, 0.0, names[1], width),
    ]
    hidden = {"visible": False, "fixedrange": True}
    return styled_figure(
        traces,
        title=f"Where each {names[1]} token looked",
        subtitle=f"links of weight ≥ {threshold:.2f}",
        height=380,
        xaxis={**hidden, "range": [-0.05, 1.05]},
        yaxis={**hidden, "range": [-0.35, 1.35]},
        legend={"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0},
    )
