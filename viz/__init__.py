"""Figures and HTML for decoding results: pure Plotly/pandas/HTML, no Streamlit.

Every function takes a ``models.result.DecodeResult`` and an optional ``hypothesis`` index
(0 = best). Tokens are escaped for Plotly's label markup and for HTML. Pass ``PLOTLY_CONFIG``
to ``st.plotly_chart(config=...)``.
"""

from .compare import difference_figure, metrics_frame
from .diagnostics import attention_summary, coverage_figure, entropy_figure
from .export import attention_csv, attention_json, figure_image
from .flow import flow_figure
from .heatmap import heatmap_figure
from .highlight import highlight_html
from .steps import animation_figure, step_figure
from .style import PLOTLY_CONFIG
from .translation import translation_html

__all__ = [
    "PLOTLY_CONFIG",
    "animation_figure",
    "attention_csv",
    "attention_json",
    "attention_summary",
    "coverage_figure",
    "difference_figure",
    "entropy_figure",
    "figure_image",
    "flow_figure",
    "heatmap_figure",
    "highlight_html",
    "metrics_frame",
    "step_figure",
    "translation_html",
]
