"""Attention as a matrix: target tokens as rows (decoding order, top down), source tokens as columns."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from models.alignments import Links, Reference
from models.result import DecodeResult

from .style import (
    ALIGNER_COLOR,
    CELL_PX,
    COLORSCALE,
    FONT_SIZE,
    POSSIBLE_COLOR,
    REFERENCE_COLOR,
    TEXT_CELLS_MAX,
    matrix_height,
    styled_figure,
    token_axis,
)
from .tokens import END, hover_token, keep_every, pick, plotly_text, text_px, tick_label, truncate, turned_step

CHART_PX = 1000  # width a heatmap is expected to get (a full-width chart in the app's wide layout)
PHONE_PX = 340  # the width a chart gets on a phone, where Streamlit stacks columns
NARROW_PX = CHART_PX // 2  # a chart this narrow or narrower has its colour bar under the plot
TICK_PX = FONT_SIZE + 5  # height of one line of tick labels
AXIS_TITLE_PX = 15 + FONT_SIZE + 6  # standoff, the title's line, padding
COLORBAR_PX = 105  # room right of the plot for the colour bar, its ticks and title
COLORBAR_BELOW_PX = 60  # room under the plot for the colour bar when it lies below (narrow charts)
LEGEND_PX = 30  # room above the plot for the links legend
TITLE_PX = 60  # room above the plot for a title (and the toolbar beside it)
TOOLBAR_PX = 30  # room above the plot for Plotly's toolbar when there is no title
TEXT_CELL_PX = 32  # print values in cells at least this wide (narrower ones showed "0.000.000.00")
PAD_PX = 8  # between the plot and its tick labels
MIN_LEVEL_FONT = 10  # tick labels may shrink to this size to stay level
MIN_END_FONT = 8  # the end token's label may shrink to this size so that the tokens beside it stay level
END_EM = 1.9  # width of the end token's label "</s>" in em (measured 1.75 in the app's font)


BELOW_COLORBAR = {  # a colour bar lying along the bottom of the figure, its title to its right; three level ticks fit under it
    "orientation": "h", "thickness": 10, "len": 0.7, "x": 0, "xanchor": "left",
    "yref": "container", "y": 0, "yanchor": "bottom", "ypad": 8,
}


def expected_width(user_agent: str, columns: int = 1) -> int:
    """Pixels a chart in one of ``columns`` side-by-side columns is expected to get: on a phone
    (a browser whose user agent says "Mobile") the phone's width, elsewhere its share of the wide
    layout. The server cannot see the window; the user agent is what it has."""
    return PHONE_PX if "Mobile" in user_agent else CHART_PX // columns


def label_text(token: str, known: bool = True) -> str:
    """The plain text of :func:`tick_label` (what takes room on the axis)."""
    return truncate(token) + ("" if known else "?")


def matrix_margins(x_labels: list[str], y_labels: list[str], width: int, legend: bool, title: bool = True) -> dict:
    """Margins (l, r, t, b in pixels) that fit the tick labels of a matrix drawn ``width``
    pixels wide, from estimated label widths (plain text, not markup).

    Plotly's automargin would find them too, but only by drawing the chart twice, which
    doubles the time a new heatmap takes to appear. Given enough room from the start, it
    draws once; when the estimate falls short (another width, a wider font), automargin still
    widens the margins, so labels are never cut. x labels are laid out by :func:`label_layout`
    (level where they fit, smaller if need be), else turned by :func:`turned_angle`.
    """
    below = colorbar_below(width)
    right = 10 if below else COLORBAR_PX
    widest_y = max((text_px(t, FONT_SIZE) for t in y_labels), default=0.0)
    widest_x = max((text_px(t, FONT_SIZE) for t in x_labels), default=0.0)
    left = 10 + PAD_PX + widest_y + AXIS_TITLE_PX
    spacing = (width - left - right) / max(len(x_labels), 1)
    step, fonts = label_layout(x_labels, spacing)
    if fonts is not None:  # level
        ticks = TICK_PX
    elif turned_angle(spacing * step) == -30:
        ticks = widest_x / 2 + TICK_PX
    else:
        ticks = widest_x + 4
    bottom = 10 + PAD_PX + ticks + AXIS_TITLE_PX + (COLORBAR_BELOW_PX if below else 0)
    top = (TITLE_PX if title else TOOLBAR_PX) + (LEGEND_PX if legend else 0)
    return {"l": round(left), "r": right, "t": top, "b": round(bottom), "pad": PAD_PX}


def level_fonts(x_labels: list[str], spacing: float) -> tuple[float, float] | None:
    """Font sizes (of the labels, of the last one) at which ``x_labels`` (plain text, centres
    ``spacing`` pixels apart) stand level without running into each other; None when they
    cannot. The labels shrink from FONT_SIZE to no less than MIN_LEVEL_FONT (Han characters
    turned sideways read poorly, and a phone's columns are a little narrower than a character);
    an end token "</s>", wider than the characters beside it, may shrink further, to MIN_END_FONT,
    so that it alone does not turn the axis."""
    if not x_labels:
        return None
    end = len(x_labels) >= 2 and x_labels[-1] == END
    body = x_labels[:-1] if end else x_labels
    em = max(max(text_px(t, 1.0) for t in body), 1e-9)
    size = min(FONT_SIZE, (spacing - 4) / em) // 0.5 * 0.5
    if size < MIN_LEVEL_FONT:
        return None
    if not end:
        return size, size
    last = min(size, (2 * (spacing - 2) - text_px(x_labels[-2], size)) / END_EM) // 0.5 * 0.5  # half-widths + 2 px <= spacing
    return (size, last) if last >= MIN_END_FONT else None


def label_layout(x_labels: list[str], spacing: float) -> tuple[int, tuple[float, float] | None]:
    """How to draw ``x_labels`` (plain text) centred ``spacing`` pixels apart: every how many to
    draw (1: all), and their :func:`level_fonts` when they stand level, None when they are
    turned. Every label level if it can be; else every k-th label level, when k is no more than
    turned labels would need (Chinese characters); else turned, every k-th when columns are
    narrower than a turned line of text (a long sentence on a phone)."""
    fonts = level_fonts(x_labels, spacing)
    if fonts is not None:
        return 1, fonts
    turned = turned_step(spacing, FONT_SIZE)
    for k in range(2, turned + 1):
        fonts = level_fonts(x_labels[::k], spacing * k)
        if fonts is not None:
            return k, fonts
    return turned, None


def turned_angle(spacing: float) -> int:
    """The angle of labels that cannot stand level, centred ``spacing`` pixels apart: 30 degrees
    where two tick rows fit between them, else 90. Plotly's automatic angle decides much the same,
    but per chart, so that two charts of the same tokens side by side could differ."""
    return -30 if spacing >= 2 * TICK_PX else -90


def level_token_axis(tokens: list[str], known: list[bool], spacing: float, **extra) -> dict:
    """``token_axis`` of the tokens' tick labels laid out by :func:`label_layout`: level where
    they fit (smaller if need be), else turned; every column keeps its hover text."""
    ticks = [tick_label(t, k) for t, k in zip(tokens, known)]
    plain = [label_text(t, k) for t, k in zip(tokens, known)]
    step, fonts = label_layout(plain, spacing)
    title = extra.get("title") or {}
    if step > 1 and title.get("text"):  # say so: on a touch screen there is no hover to name the others
        extra = extra | {"title": title | {"text": f"{title['text']} (every {ordinal(step)} labelled)"}}
    if fonts is None:
        return token_axis(keep_every(ticks, step), tickangle=turned_angle(spacing * step), **extra)
    size, last = fonts
    if step == 1 and max(text_px(t, FONT_SIZE) for t in plain) + 4 <= spacing:  # Plotly's own layout keeps them level
        return token_axis(ticks, **extra)
    kept = step * ((len(ticks) - 1) // step)  # the last label drawn
    if last < size:
        ticks[kept] = f'<span style="font-size:{last:g}px">{ticks[kept]}</span>'
    return token_axis(keep_every(ticks, step), tickangle=0, tickfont={"size": size}, **extra)


def ordinal(k: int) -> str:
    """2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def colorbar_below(width: int) -> bool:
    """Whether a matrix drawn ``width`` pixels wide has its colour bar under the plot (a phone, or
    one of two columns side by side) rather than beside it, where it would take a fifth to a
    third of the width from the cells."""
    return width <= NARROW_PX



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
    axis_titles: tuple[str, str] = ("source", "target"),
    values: bool = True,
) -> go.Figure:
    """Heatmap of ``z`` (T, S) on the fixed colour range ``zrange``; ``axis_titles`` name the
    columns and the rows.

    Axes are positions 0..S-1 and 0..T-1 labelled with the tokens, so repeated tokens stay
    apart. Hover reads "target → source: value"; with ``values``, cells show their values when
    there are at most TEXT_CELLS_MAX of them and they are wide enough. ``title`` is Plotly markup (already escaped); ``overlays`` are
    drawn over the cells. ``width`` is the width in pixels the chart is expected to get; it only
    sets the starting margins (:func:`matrix_margins`).
    """
    T, S = z.shape
    custom = np.empty((T, S, 2), dtype=object)
    custom[:, :, 0] = np.asarray([hover_token(t) for t in target_tokens], dtype=object).reshape(T, 1)
    custom[:, :, 1] = np.asarray([hover_token(t, k) for t, k in zip(source_tokens, source_known)], dtype=object).reshape(1, S)
    below = colorbar_below(width)
    margin = matrix_margins(
        [label_text(t, k) for t, k in zip(source_tokens, source_known)], [label_text(t) for t in target_tokens], width, bool(overlays), bool(title)
    )
    cell_px = (width - margin["l"] - margin["r"]) / S
    heat = go.Heatmap(
        z=z,
        x=list(range(S)),
        y=list(range(T)),
        zmin=zrange[0],
        zmax=zrange[1],
        colorscale=colorscale,
        # The same five ticks on every chart of a range (Plotly's own thin out on short charts,
        # so side-by-side panels on Compare disagreed).
        colorbar=(BELOW_COLORBAR if below else {"thickness": 14})
        | {"title": {"text": value_name}, "tickvals": np.linspace(*zrange, 3 if below else 5).round(2).tolist(), "tickangle": 0},
        customdata=custom,
        hovertemplate=f"%{{customdata[0]}} → %{{customdata[1]}}: %{{z:{value_format}}}<extra></extra>",
        texttemplate=f"%{{z:{cell_format}}}" if values and T * S <= TEXT_CELLS_MAX and cell_px >= TEXT_CELL_PX else None,
        textfont={"size": 10},
        xgap=1,
        ygap=1,
    )
    return styled_figure(
        [heat, *overlays],
        title=title,
        height=matrix_height(T) + (COLORBAR_BELOW_PX if below else 0),
        margin=margin,
        # fixed ranges: link markers would otherwise make Plotly pad the axes
        xaxis=level_token_axis(source_tokens, source_known, cell_px, title={"text": axis_titles[0]}, range=[-0.5, S - 0.5]),
        yaxis=token_axis([tick_label(t) for t in target_tokens], title={"text": axis_titles[1]}, range=[T - 0.5, -0.5]),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
    )


def links_trace(
    links: Links, name: str, color: str, values: np.ndarray, source_tokens: list[str], target_tokens: list[str], corner: bool = False
) -> go.Scatter:
    """Marks on the cells of ``links`` (source index, target index) of a matrix of ``values``
    (T, S); pairs outside the matrix are left out. A mark is an open square around the cell, or
    with ``corner`` a small cross in its top right corner, so that the value printed in the cell
    stays readable; hovering a mark names the link and the cell's value."""
    kept = sorted((i, j) for i, j in links if 0 <= i < len(source_tokens) and 0 <= j < len(target_tokens))
    shift = (0.32, -0.26) if corner else (0.0, 0.0)
    marker = {"symbol": "x-thin-open", "size": 9} if corner else {"symbol": "square-open", "size": CELL_PX}
    return go.Scatter(
        x=[i + shift[0] for i, _ in kept],
        y=[j + shift[1] for _, j in kept],
        mode="markers",
        name=f"{name} ({len(kept)})",
        marker=marker | {"color": color, "line": {"width": 2, "color": color}},
        customdata=[f"{hover_token(target_tokens[j])} → {hover_token(source_tokens[i])}: {values[j, i]:.3f}" for i, j in kept],
        hovertemplate=f"{name} link: %{{customdata}}<extra></extra>",
    )


def heatmap_figure(
    result: DecodeResult,
    hypothesis: int = 0,
    reference_links: Links | Reference | None = None,
    aligner_links: Links | None = None,
    title: str = "",
    width: int = CHART_PX,
    values: bool = True,
) -> go.Figure:
    """Attention (T, S) of one hypothesis (or what ``result.cells`` says its rows hold), on the
    fixed range 0..1.

    ``reference_links`` (the gold: sure links as dark squares, possible-only links as light ones)
    and ``aligner_links`` (eflomal's) are (source index, target index) pairs drawn as open
    squares around cells and as small crosses in their corners, each a legend entry with its
    count. Source tokens missing from the vocabulary are labelled in italics with
    a "?". ``width`` and ``values``: see :func:`matrix_figure`.
    """
    hyp = pick(result, hypothesis)
    gold = None if reference_links is None else Reference.of(reference_links)
    marks = [
        (None if gold is None else gold.sure, "gold sure", REFERENCE_COLOR, False),
        (None if gold is None or gold.possible == gold.sure else gold.possible - gold.sure, "gold possible", POSSIBLE_COLOR, False),
        (aligner_links, "eflomal", ALIGNER_COLOR, True),
    ]
    overlays = tuple(
        links_trace(links, name, color, hyp.attention, result.source_tokens, hyp.tokens, corner)
        for links, name, color, corner in marks
        if links is not None
    )
    value_name = "posterior" if result.cells == "posterior" else "weight"
    return matrix_figure(
        hyp.attention, result.source_tokens, result.source_known, hyp.tokens, title=plotly_text(title), overlays=overlays, width=width,
        value_name=value_name, axis_titles=axis_titles(result.cells), values=values,
    )


ENCODER_SELF_CELLS, DECODER_SELF_CELLS = ("encoder self", "rollout"), ("decoder self",)  # how DecodeResult.cells starts


def token_names(cells: str) -> tuple[str, str]:
    """(column, row) tokens of a map of ``cells`` in a word: "source" and "target" for
    cross-attention, "key" and "query" for a self-attention map, whose rows and columns are
    the same sentence."""
    return ("key", "query") if cells.startswith(ENCODER_SELF_CELLS + DECODER_SELF_CELLS) else ("source", "target")


def axis_titles(cells: str) -> tuple[str, str]:
    """(columns, rows) titles of a heatmap of ``cells`` (``DecodeResult.cells``): a self-attention
    map has queries as rows and keys as columns of the same sentence, not source and target."""
    if cells.startswith(ENCODER_SELF_CELLS):
        return "source (keys)", "source (queries)"
    if cells.startswith(DECODER_SELF_CELLS):
        return "target so far (keys)", "target (queries)"
    return "source", "target"
