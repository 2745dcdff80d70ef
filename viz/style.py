"""The shared look of every figure and HTML snippet: colours, fonts, layout defaults."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

COLORSCALE = "Blues"  # attention weights, fixed range 0..1
DIVERGING = "RdBu_r"  # differences, fixed range -1..1 (blue: second model looks more)
REFERENCE_COLOR = "#d62728"  # gold sure links
POSSIBLE_COLOR = "#f4a3a3"  # gold possible-only links
ALIGNER_COLOR = "#ff9f1c"
ACCENT = "#d62728"  # outlines of selected tokens, reference lines
FONT_FAMILY = (
    '"Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"Segoe UI", "Helvetica Neue", Arial, "Noto Color Emoji", sans-serif'
)
FONT_SIZE = 13
CELL_PX = 26  # height of one token row in matrices and bar charts
TEXT_CELLS_MAX = 400  # print weights in heatmap cells up to this many cells

# Pass to st.plotly_chart(config=...): the toolbar's camera button downloads a PNG drawn by the
# browser (Plotly's toImage), so Chinese renders with the viewer's fonts, which a server without
# CJK fonts could not do; no Plotly logo. webapp.views.chart names the file per chart.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "filename": "attention", "scale": 2},
}


def weight_color(weight: float, scale: str = COLORSCALE) -> str:
    """'rgb(r, g, b)' of ``weight`` (0..1) on the shared scale."""
    return sample_colorscale(scale, [min(max(float(weight), 0.0), 1.0)])[0]


def text_color(weight: float) -> str:
    """Readable text colour over :func:`weight_color` of ``weight``."""
    return "white" if weight > 0.55 else "black"


def confidence_background(prob: float) -> str:
    """Tint for a token chosen with probability ``prob``: the less sure, the warmer."""
    return f"rgba(255, 159, 28, {0.75 * (1.0 - min(max(float(prob), 0.0), 1.0)):.2f})"


def matrix_height(rows: int) -> int:
    """Figure height for ``rows`` token rows plus room for labels, title and legend."""
    return min(max(220 + CELL_PX * rows, 320), 2400)


# The 2-D part of Plotly's "plotly_white" look, written into each figure's own layout. Not as a
# template: right after mounting a chart, Streamlit hands plotly.js a fresh copy of its figure (even
# with theme=None), and plotly.js draws the chart again from scratch when the template in it is a
# new object, so a templated chart was drawn twice. (Plotly's full template would also be 7 KB to
# validate and copy into every figure, for nothing these figures use.)
_AXIS = {
    "gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "zerolinewidth": 2, "ticks": "",
    "title": {"standoff": 15},
    # Tick labels are kept inside the chart by the margins (automargin), so Plotly's per-label
    # overflow check (its default, which measures every label once per label) is not needed.
    "automargin": True, "ticklabeloverflow": "allow",
}
LOOK = {
    "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"],
    "font": {"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#2a3f5f"},
    "hovermode": "closest",
    "hoverlabel": {"align": "left", "font": {"family": FONT_FAMILY, "size": FONT_SIZE}},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "xaxis": _AXIS,
    "yaxis": _AXIS,
    # A drawn chart's data never changes: a new figure is a new Streamlit element. A fixed data
    # revision tells plotly.js so; without one, the arrays of that fresh copy are new objects,
    # which plotly.js takes for new data, and it draws the chart again.
    "datarevision": 0,
}


def merged(base: dict, over: dict) -> dict:
    """``base`` with ``over`` laid on top: dicts in both merge key by key, at any depth; any other
    value in ``over`` replaces the one in ``base``."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def styled_figure(data: list, title: str = "", height: int | None = None, subtitle: str = "", frames: list | None = None, **layout) -> go.Figure:
    """A figure of the traces ``data`` with the shared look (``LOOK``, title, margins) plus any
    ``layout`` overrides, merged into it (:func:`merged`). It has no template, not even
    Plotly's default one.

    Built in one go: Plotly's update_layout on an existing figure costs about ten times as
    much. ``title`` and ``subtitle`` are Plotly markup: escape tokens (tokens.plotly_text) first.
    """
    defaults = LOOK | {
        "title": {"text": title, "x": 0, "xanchor": "left", "pad": {"l": 8}, "subtitle": {"text": subtitle}},
        "margin": {"l": 10, "r": 10, "t": 90 if subtitle else 60, "b": 10},
        "height": height,
    }
    fig = go.Figure(data=data, layout=merged(defaults, layout), frames=frames)
    fig.layout.template = None  # go.Figure puts in the default template (Streamlit's) when none is given
    return fig


def token_axis(labels: list[str], **extra) -> dict:
    """An axis whose positions 0..n-1 carry ``labels``: repeated tokens stay separate."""
    return {"tickmode": "array", "tickvals": list(range(len(labels))), "ticktext": labels, "showgrid": False, **extra}
