"""The shared look of every figure and HTML snippet: colours, fonts, layout defaults."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

COLORSCALE = "Blues"  # attention weights, fixed range 0..1
DIVERGING = "RdBu_r"  # differences, fixed range -1..1 (blue: second model looks more)
REFERENCE_COLOR = "#d62728"
ALIGNER_COLOR = "#ff9f1c"
ACCENT = "#d62728"  # outlines of selected tokens, reference lines
FONT_FAMILY = (
    '"Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"Segoe UI", "Helvetica Neue", Arial, "Noto Color Emoji", sans-serif'
)
FONT_SIZE = 13
CELL_PX = 26  # height of one token row in matrices and bar charts
TEXT_CELLS_MAX = 400  # print weights in heatmap cells up to this many cells

# Pass to st.plotly_chart(config=...): the toolbar's camera button downloads SVG (vector, text
# kept as text so CJK renders with the viewer's fonts); no Plotly logo.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "svg", "filename": "attention", "scale": 2},
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


# The 2-D part of Plotly's "plotly_white" look. The full template (3-D scenes, maps, ternary
# plots) is 7 KB that Plotly validates and copies into every figure: a third of the time to
# build a heatmap, for nothing these figures use.
_AXIS = {
    "gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "zerolinewidth": 2, "ticks": "",
    "title": {"standoff": 15},
    # Tick labels are kept inside the chart by the margins (automargin), so Plotly's per-label
    # overflow check (its default, which measures every label once per label) is not needed.
    "automargin": True, "ticklabeloverflow": "allow",
}
TEMPLATE = go.layout.Template(
    layout={
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"],
        "font": {"color": "#2a3f5f"},
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "coloraxis": {"colorbar": {"outlinewidth": 0, "ticks": ""}},
    }
)


def styled_figure(data: list, title: str = "", height: int | None = None, subtitle: str = "", frames: list | None = None, **layout) -> go.Figure:
    """A figure of the traces ``data`` with the shared look (template, fonts, margins, hover
    font) plus any ``layout`` overrides (a key given here replaces the default's whole value).

    Built in one go: Plotly's update_layout on an existing figure costs about ten times as
    much. ``title`` and ``subtitle`` are Plotly markup: escape tokens (tokens.plotly_text) first.
    """
    defaults = {
        "template": TEMPLATE,
        "font": {"family": FONT_FAMILY, "size": FONT_SIZE},
        "title": {"text": title, "x": 0, "xanchor": "left", "pad": {"l": 8}, "subtitle": {"text": subtitle}},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": FONT_SIZE}},
        "margin": {"l": 10, "r": 10, "t": 90 if subtitle else 60, "b": 10},
        "height": height,
    }
    merged = defaults | {k: defaults[k] | v if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v for k, v in layout.items()}
    return go.Figure(data=data, layout=merged, frames=frames)


def token_axis(labels: list[str], **extra) -> dict:
    """An axis whose positions 0..n-1 carry ``labels``: repeated tokens stay separate."""
    return {"tickmode": "array", "tickvals": list(range(len(labels))), "ticktext": labels, "showgrid": False, **extra}
