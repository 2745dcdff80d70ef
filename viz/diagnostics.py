"""Attention diagnostics: entropy per decoding step, coverage per source token, a summary."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from models.result import DecodeResult, attention_stats

from .heatmap import CHART_PX, level_token_axis
from .style import ACCENT, COLORSCALE, matrix_height, styled_figure, weight_color
from .tokens import hover_token, pick


def step_entropy(attention: np.ndarray) -> np.ndarray:
    """(T,) entropy in nats of each attention row of ``attention`` (T, S)."""
    return np.array([attention_stats(row[None, :])["entropy"] for row in attention])


LABEL_MARGIN_PX = 56  # right margin that holds a reference line's label
Y_AXIS_PX = 64  # left of the plot: the y axis' tick labels and title (automargin)


def _column_px(width: int, columns: int) -> float:
    """Pixels between the x positions of ``columns`` tokens in a chart ``width`` pixels wide."""
    return (width - Y_AXIS_PX - LABEL_MARGIN_PX) / max(columns, 1)


def _reference_line(ys: list[float], name: str) -> tuple[go.Scatter, dict]:
    """A dashed line at height ys[i] over position i (one value: across the chart) and its label
    beside its right end (an annotation: a legend would share the subtitle's band and collide with it)."""
    xs, ys = ([-0.5, len(ys) - 0.5], ys[:1] * 2) if len(set(ys)) == 1 else (list(range(len(ys))), ys)
    line = go.Scatter(x=xs, y=ys, mode="lines", name=name, line={"dash": "dash", "color": ACCENT, "width": 1.5, "shape": "hvh"}, hoverinfo="skip")
    # in the right margin, beside the line's end: above it, the label sat on bars as tall as the line
    label = {"x": 1, "xref": "paper", "xshift": 4, "y": ys[-1], "text": name, "showarrow": False, "xanchor": "left", "yanchor": "middle",
             "font": {"color": ACCENT, "size": 11}}
    return line, label


CROSS_NAMES = ("source", "target")  # viz.heatmap.token_names of a cross-attention map: (columns, rows)


def _rows_word(names: tuple[str, str], plural: bool = False) -> str:
    """What a row is: a decoding step (cross-attention) or a query token (self-attention)."""
    word = "step" if names == CROSS_NAMES else names[1]
    return ("queries" if word == "query" else f"{word}s") if plural else word


def uniform_entropies(T: int, S: int, causal: bool = False) -> np.ndarray:
    """(T,) entropy of attention spread evenly over what each row sees: log S, or for a causal
    map (row t sees keys 0..t) log(t + 1)."""
    return np.log(np.minimum(np.arange(1, T + 1), S)) if causal else np.full(T, math.log(S))


def entropy_figure(
    result: DecodeResult, hypothesis: int = 0, names: tuple[str, str] = CROSS_NAMES, width: int = CHART_PX, causal: bool = False
) -> go.Figure:
    """Entropy (nats) of the attention of each row (a decoding step; a query token of a self map,
    ``names`` = ("key", "query")); the dashed line is log(S), the entropy of uniform attention
    over the S columns, or for a ``causal`` map (decoder self-attention: row t sees keys 0..t)
    log(t + 1), row by row. ``width``: the chart's expected pixels, for its token labels."""
    hyp = pick(result, hypothesis)
    T, S = hyp.attention.shape
    entropy = step_entropy(hyp.attention)
    line = go.Scatter(
        x=list(range(T)),
        y=entropy,
        mode="lines+markers",
        name="entropy",
        line={"color": weight_color(0.8)},
        customdata=[hover_token(t) for t in hyp.tokens],
        hovertemplate="%{customdata}: %{y:.3f} nats<extra></extra>",
    )
    uniform = uniform_entropies(T, S, causal).tolist()
    reference, label = _reference_line(uniform, "log t" if causal else f"log {S}")
    subtitle = f"low: focused; dashed ({'log t' if causal else 'log S'}): spread evenly" + (" over the t tokens a query sees" if causal else "")
    top = max(max(uniform, default=0.0), float(entropy.max(initial=0.0))) * 1.15 or 0.1
    return styled_figure(
        [line, reference],
        title=f"Attention entropy per {_rows_word(names)}",
        subtitle=subtitle,
        xaxis=level_token_axis(list(hyp.tokens), [True] * T, _column_px(width, T), title={"text": f"{names[1]} token"}),
        yaxis={"range": [0, top], "title": {"text": "entropy (nats)"}},
        showlegend=False,
        annotations=[label],
        margin={"r": LABEL_MARGIN_PX},
    )


def coverage_figure(result: DecodeResult, hypothesis: int = 0, names: tuple[str, str] = CROSS_NAMES, width: int = CHART_PX) -> go.Figure:
    """Total attention each column token (source, or key of a self map) received: the column
    sums of the (T, S) attention. ``width``: the chart's expected pixels, for its token labels."""
    hyp = pick(result, hypothesis)
    T, S = hyp.attention.shape
    coverage = hyp.attention.sum(axis=0)
    row, rows = _rows_word(names), _rows_word(names, plural=True)
    bars = go.Bar(
        x=list(range(S)),
        y=coverage,
        name="coverage",
        marker={"color": coverage, "colorscale": COLORSCALE, "cmin": 0, "cmax": max(float(coverage.max(initial=0.0)), 1.0)},
        customdata=[hover_token(t, k) for t, k in zip(result.source_tokens, result.source_known)],
        hovertemplate=f"%{{customdata}}: %{{y:.3f}} (summed over {T} {rows})<extra></extra>",
    )
    reference, label = _reference_line([1.0] * S, f"1 {row}")
    return styled_figure(
        [bars, reference],
        title=f"Coverage per {names[0]} token",
        subtitle=f"summed over {T} {rows}; dashed: one {row}'s worth",
        height=matrix_height(8),
        xaxis=level_token_axis(list(result.source_tokens), list(result.source_known), _column_px(width, S), title={"text": f"{names[0]} token"}),
        yaxis={"title": {"text": "total attention"}, "range": [0, max(float(coverage.max(initial=0.0)), 1.0) * 1.15]},
        showlegend=False,
        annotations=[label],
        margin={"r": LABEL_MARGIN_PX},
    )


STAT_NAMES = {  # what every page calls attention_summary's (and models.evaluate's) statistics
    "mean_entropy": "Mean entropy (nats)",
    "uniform_entropy": "Uniform entropy: log S",
    "final_token_share": "Final-token share",
    "eos_share": "</s> share",
    "max_coverage": "Top coverage (steps)",
    "max_coverage_token": "…received by",
}


def stat_names(names: tuple[str, str] = CROSS_NAMES, causal: bool = False) -> dict[str, str]:
    """STAT_NAMES for a map whose (columns, rows) are ``names``: coverage counts query tokens,
    not decoding steps, on a self-attention map. A ``causal`` map (decoder self-attention) has
    no "</s>" among its keys and only its last query sees the final key: those shares are left
    out, and uniform entropy is the mean of log t over its rows."""
    out = STAT_NAMES | {"max_coverage": f"Top coverage ({_rows_word(names, plural=True)})"}
    if causal:
        out = {k: v for k, v in out.items() if k not in ("final_token_share", "eos_share")} | {"uniform_entropy": "Uniform entropy: mean log t"}
    return out


def attention_summary(result: DecodeResult, hypothesis: int = 0, causal: bool = False) -> dict:
    """mean_entropy (nats), uniform_entropy (log S; for a ``causal`` map the mean of log t over
    its rows, row t seeing t keys), final_token_share (mean weight on the last real source token),
    eos_share (on "</s>"), max_coverage and max_coverage_token."""
    hyp = pick(result, hypothesis)
    T, S = hyp.attention.shape
    stats = attention_stats(hyp.attention)
    coverage = hyp.attention.sum(axis=0)
    top = int(np.argmax(coverage))
    return {
        "mean_entropy": stats["entropy"],
        "uniform_entropy": float(uniform_entropies(T, S, causal).mean()),
        "final_token_share": stats["final_token_share"],
        "eos_share": stats["eos_share"],
        "max_coverage": float(coverage[top]),
        "max_coverage_token": result.source_tokens[top],
    }
