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


def apply_layout(fig: go.Figure, title: str = "", height: int | None = None, subtitle: str = "", **layout) -> go.Figure:
    """Shared defaults (template, fonts, margins, hover font) plus any ``layout`` overrides.

    ``title`` and ``subtitle`` are Plotly markup: escape tokens (tokens.plotly_text) first.
    """
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_FAMILY, "size": FONT_SIZE},
        title={"text": title, "x": 0, "xanchor": "left", "pad": {"l": 8}, "subtitle": {"text": subtitle}},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": FONT_SIZE}},
        margin={"l": 10, "r": 10, "t": 90 if subtitle else 60, "b": 10},
        height=height,
        **layout,
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def token_axis(labels: list[str], **extra) -> dict:
    """An axis whose positions 0..n-1 carry ``labels``: repeated tokens stay separate."""
    return {"tickmode": "array", "tickvals": list(range(len(labels))), "ticktext": labels, "showgrid": False, **extra}
