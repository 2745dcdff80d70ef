"""Attention as a matrix: target tokens as rows (decoding order, top down), source tokens as columns."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from models.result import DecodeResult

from .style import ALIGNER_COLOR, CELL_PX, COLORSCALE, FONT_SIZE, REFERENCE_COLOR, TEXT_CELLS_MAX, matrix_height, styled_figure, token_axis
from .tokens import hover_token, pick, plotly_text, text_px, tick_label, truncate

Links = set[tuple[int, int]]
CHART_PX = 1000  # width a heatmap is expected to get (a full-width chart in the app's wide layout)
TICK_PX = FONT_SIZE + 5  # height of one line of tick labels
AXIS_TITLE_PX = 15 + FONT_SIZE + 6  # standoff, the title's line, padding
COLORBAR_PX = 105  # room right of the plot for the colour bar, its ticks and title
LEGEND_PX = 30  # room above the plot for the links legend
PAD_PX = 8  # between the plot and its tick labels


def label_text(token: str, known: bool = True) -> str:
    """The plain text of :func:`tick_label` (what takes room on the axis)."""
    return truncate(token) + ("" if known else "?")


def matrix_margins(x_labels: list[str], y_labels: list[str], width: int, legend: bool) -> dict:
    """Margins (l, r, t, b in pixels) that fit the tick labels of a matrix drawn ``width``
    pixels wide, from estimated label widths (plain text, not markup).

    Plotly's automargin would find them too, but only by drawing the chart twice, which
    doubles the time a new heatmap takes to appear. Given enough room from the start, it
    draws once; when the estimate falls short (another width, a wider font), automargin still
    widens the margins, so labels are never cut. x labels are laid out as Plotly's automatic
    angle would: level when they fit their columns, else at 30 or 90 degrees.
    """
    widest_y = max((text_px(t, FONT_SIZE) for t in y_labels), default=0.0)
    widest_x = max((text_px(t, FONT_SIZE) for t in x_labels), default=0.0)
    left = 10 + PAD_PX + widest_y + AXIS_TITLE_PX
    spacing = (width - left - COLORBAR_PX) / max(len(x_labels), 1)
    if widest_x + 4 <= spacing:
        ticks = TICK_PX
    elif spacing / 2 >= TICK_PX:
        ticks = widest_x / 2 + TICK_PX
    else:
        ticks = widest_x + 4
    bottom = 10 + PAD_PX + ticks + AXIS_TITLE_PX
    return {"l": round(left), "r": COLORBAR_PX, "t": 60 + (LEGEND_PX if legend else 0), "b": round(bottom), "pad": PAD_PX}



def matrix_figure(
    z: np.ndarray,
    source_tokens: list[str],
    source_known: list[bool],
    target_tokens: list[str],
    *,
    colorscale: str = COLORSCALE,
    zrange: tuple[float, float] = (0.0, 1.0),
    value_format: str = ".3f",
    cell_format: str = ".2f",
    value_name: str = "weight",
    title: str = "",
    overlays: tuple[go.Scatter, ...] = (),
    width: int = CHART_PX,
) -> go.Figure:
    """Heatmap of ``z`` (T, S) on the fixed colour range ``zrange``.

    Axes are positions 0..S-1 and 0..T-1 labelled with the tokens, so repeated tokens stay
    apart. Hover reads "target → source: value"; cells show their values when there are at most
    TEXT_CELLS_MAX of them. ``title`` is Plotly markup (already escaped); ``overlays`` are
    drawn over the cells. ``width`` is the width in pixels the chart is expected to get; it only
    sets the starting margins (:func:`matrix_margins`).
    """
    T, S = z.shape
    custom = np.empty((T, S, 2), dtype=object)
    custom[:, :, 0] = np.asarray([hover_token(t) for t in target_tokens], dtype=object).reshape(T, 1)
    custom[:, :, 1] = np.asarray([hover_token(t, k) for t, k in zip(source_tokens, source_known)], dtype=object).reshape(1, S)
    heat = go.Heatmap(
        z=z,
        x=list(range(S)),
        y=list(range(T)),
        zmin=zrange[0],
        zmax=zrange[1],
        colorscale=colorscale,
        # The same five ticks on every chart of a range (Plotly's own thin out on short charts,
        # so side-by-side panels on Compare disagreed).
        colorbar={"title": {"text": value_name}, "thickness": 14, "tickvals": np.linspace(*zrange, 5).round(2).tolist()},
        customdata=custom,
        hovertemplate=f"%{{customdata[0]}} → %{{customdata[1]}}: %{{z:{value_format}}}<extra></extra>",
        texttemplate=f"%{{z:{cell_format}}}" if T * S <= TEXT_CELLS_MAX else None,
        textfont={"size": 10},
        xgap=1,
        ygap=1,
    )
    return styled_figure(
        [heat, *overlays],
        title=title,
        height=matrix_height(T),
        margin=matrix_margins(
            [label_text(t, k) for t, k in zip(source_tokens, source_known)], [label_text(t) for t in target_tokens], width, bool(overlays)
        ),
        xaxis=token_axis([tick_label(t, k) for t, k in zip(source_tokens, source_known)], title={"text": "source"}),
        yaxis=token_axis([tick_label(t) for t in target_tokens], title={"text": "target"}, autorange="reversed"),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
    )


def links_trace(links: Links, name: str, symbol: str, color: str, source_tokens: list[str], target_tokens: list[str]) -> go.Scatter:
    """Markers on the cells of ``links`` (source index, target index); pairs outside the matrix
    are left out."""
    kept = sorted((i, j) for i, j in links if 0 <= i < len(source_tokens) and 0 <= j < len(target_tokens))
    return go.Scatter(
        x=[i for i, _ in kept],
        y=[j for _, j in kept],
        mode="markers",
        name=f"{name} ({len(kept)})",
        marker={"symbol": symbol, "size": CELL_PX - 4, "color": color, "line": {"width": 2, "color": color}},
        customdata=[f"{hover_token(target_tokens[j])} → {hover_token(source_tokens[i])}" for i, j in kept],
        hovertemplate=f"{name} link: %{{customdata}}<extra></extra>",
    )


def heatmap_figure(
    result: DecodeResult,
    hypothesis: int = 0,
    reference_links: Links | None = None,
    aligner_links: Links | None = None,
    title: str = "",
    width: int = CHART_PX,
) -> go.Figure:
    """Attention (T, S) of one hypothesis, weights on the fixed range 0..1.

    ``reference_links`` and ``aligner_links`` are (source index, target index) pairs drawn as
    open squares and crosses, each a legend entry with its count. Source tokens missing from
    the vocabulary are labelled in italics with a "?". ``width``: see :func:`matrix_figure`.
    """
    hyp = pick(result, hypothesis)
    marks = [(reference_links, "reference", "square-open", REFERENCE_COLOR), (aligner_links, "aligner", "x-thin-open", ALIGNER_COLOR)]
    overlays = tuple(
        links_trace(links, name, symbol, color, result.source_tokens, hyp.tokens) for links, name, symbol, color in marks if links is not None
    )
    return matrix_figure(hyp.attention, result.source_tokens, result.source_known, hyp.tokens, title=plotly_text(title), overlays=overlays, width=width)
