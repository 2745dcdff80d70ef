"""Models side by side: attention difference map, a metrics table, alignment error rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from models.result import DecodeResult

from .diagnostics import STAT_NAMES, attention_summary
from .heatmap import CHART_PX, matrix_figure
from .style import DIVERGING, REFERENCE_COLOR, styled_figure
from .tokens import pick, plotly_text, words


def difference_figure(
    a: DecodeResult, b: DecodeResult, title: str = "", hypothesis_a: int = 0, hypothesis_b: int = 0, width: int = CHART_PX
) -> go.Figure:
    """Attention of ``a`` minus attention of ``b`` (T, S) on the fixed range -1..1, laid out for a
    chart ``width`` pixels wide (cell values only where they fit, as in ``matrix_figure``).

    Raises ValueError when the two read different source tokens or produced different target
    tokens: the cells would not mean the same thing.
    """
    ha, hb = pick(a, hypothesis_a), pick(b, hypothesis_b)
    if a.source_tokens != b.source_tokens:
        raise ValueError(
            f"Can't subtract attention: the models read different source tokens ({len(a.source_tokens)} vs {len(b.source_tokens)} tokens; "
            "tokenisation differs). Compare their heatmaps side by side instead."
        )
    if ha.tokens != hb.tokens:
        raise ValueError(
            "Can't subtract attention: the models produced different translations "
            f"({len(ha.tokens)} vs {len(hb.tokens)} tokens). A difference map needs the same target tokens; "
            "compare their heatmaps side by side instead."
        )
    known = [x and y for x, y in zip(a.source_known, b.source_known)]
    return matrix_figure(
        np.asarray(ha.attention, dtype=float) - np.asarray(hb.attention, dtype=float),
        a.source_tokens,
        known,
        ha.tokens,
        colorscale=DIVERGING,
        zrange=(-1.0, 1.0),
        value_format="+.3f",
        cell_format="+.2f",
        value_name="A − B",
        title=plotly_text(title),
        width=width,
    )


def metrics_frame(results: dict[str, DecodeResult]) -> pd.DataFrame:
    """One row per model (index: the dict keys) for each best hypothesis: translation, tokens
    (generated, end token not counted), mean entropy (nats), final-token share, EOS share,
    mean token probability (end token included)."""
    rows = {}
    for name, result in results.items():
        summary = attention_summary(result)
        rows[name] = {
            "Translation": result.translation,
            "Tokens": len(words(result.best)),
            **{STAT_NAMES[k]: summary[k] for k in ("mean_entropy", "final_token_share", "eos_share")},
            "Mean token probability": float(np.mean(result.best.token_probs)),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Model")


BAR_COLOR = "#1f4e9c"
AER_SERIES = {"attention": BAR_COLOR, "posterior": REFERENCE_COLOR, "baseline": "#9e9e9e"}  # column -> bar colour


def bar_figure(frame: pd.DataFrame, x_title: str, colors: dict[str, str] | None = None, x_range: tuple[float, float] | None = None) -> go.Figure:
    """Horizontal bars of a frame's numeric columns, one row per index entry, top down in the
    frame's order, grouped when there are several columns; labels drawn in full (Plotly widens
    the margin for them, where Streamlit's bar chart cuts them). ``colors``: column -> colour."""
    labels = [plotly_text(str(i)) for i in frame.index]
    bars = [
        go.Bar(y=labels, x=frame[col].tolist(), name=str(col), orientation="h", marker_color=(colors or {}).get(col, BAR_COLOR),
               hovertemplate="%{y}: %{x:.4g}<extra>" + plotly_text(str(col)) + "</extra>")
        for col in frame.columns
    ]
    return styled_figure(
        bars,
        height=120 + (30 if len(bars) > 1 else 22) * len(labels),
        barmode="group",
        showlegend=len(bars) > 1,
        xaxis={"title": {"text": plotly_text(x_title)}} | ({"range": list(x_range)} if x_range else {}),
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
        margin={"t": 40},
    )


def aer_figure(frame: pd.DataFrame) -> go.Figure:
    """Alignment error rates (``webapp.tables.aer_frame``: columns attention, posterior, baseline)
    as grouped bars on the range 0..1."""
    return bar_figure(frame, "AER (lower is better)", AER_SERIES, (0.0, 1.0))  # short: a phone's plot is narrow
