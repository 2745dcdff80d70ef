"""Decoding step by step: the attention over source tokens when each target token was chosen."""

from __future__ import annotations

import plotly.graph_objects as go

from models.result import DecodeResult, Hypothesis

from .diagnostics import Y_AXIS_PX
from .heatmap import CHART_PX, level_token_axis
from .style import COLORSCALE, matrix_height, styled_figure, weight_color
from .tokens import hover_token, pick, plotly_text, target_joiner, tick_label, truncate

CONTEXT_TOKENS = 12  # output tokens shown before the current one in a step's title
FRAME_MS = 700
RIGHT_PX = 40  # right of the plot: room for the last token's label, which a turned axis draws past its bar
SLIDER_LABELS_MAX = 20  # more steps than this: slider ticks unlabelled (the current one is shown above)


def _check_step(hyp: Hypothesis, step: int) -> None:
    T = len(hyp.tokens)
    if not 0 <= step < T:
        raise ValueError(f"step {step} is out of range: this hypothesis has {T} steps (0 to {T - 1})")


def _bar(result: DecodeResult, hyp: Hypothesis, step: int) -> go.Bar:
    """Attention row ``step`` as bars over the S source positions, coloured on the shared scale."""
    row = hyp.attention[step]
    return go.Bar(
        x=list(range(len(row))),
        y=row,
        marker={"color": row, "colorscale": COLORSCALE, "cmin": 0, "cmax": 1, "line": {"width": 1, "color": weight_color(0.6)}},
        customdata=[hover_token(t, k) for t, k in zip(result.source_tokens, result.source_known)],
        hovertemplate="%{customdata}: %{y:.3f}<extra></extra>",
        name="attention",
    )


def _title(result: DecodeResult, hyp: Hypothesis, step: int) -> str:
    """ "Step 3/7: 我爱<b>你</b> (p = 0.87)", the last CONTEXT_TOKENS earlier tokens as context."""
    before = [plotly_text(truncate(t)) for t in hyp.tokens[max(0, step - CONTEXT_TOKENS) : step]]
    lead = "… " if step > CONTEXT_TOKENS else ""
    now = f"<b>{plotly_text(truncate(hyp.tokens[step]))}</b>"
    output = target_joiner(result).join([*before, now])
    return f"Step {step + 1}/{len(hyp.tokens)}: {lead}{output} (p = {float(hyp.token_probs[step]):.2f})"


def _alternatives(hyp: Hypothesis, step: int, k: int = 3) -> str:
    """ "top choices: 你 0.87 · 您 0.05 · 他 0.01" for ``step`` (three fit a phone's width)."""
    alts = hyp.alternatives[step][:k] if step < len(hyp.alternatives) else []
    return "top choices: " + " · ".join(f"{plotly_text(truncate(t))} {p:.2f}" for t, p in alts) if alts else ""


def _figure(
    result: DecodeResult,
    hyp: Hypothesis,
    step: int,
    width: int,
    frames: list | None = None,
    extra_height: int = 0,
    x_title: str = "source token",
    margin: dict | None = None,
    **layout,
) -> go.Figure:
    """Step ``step``'s bars with the shared axes and titles, token labels laid out for a chart
    ``width`` pixels wide (``viz.heatmap.level_token_axis``); ``layout`` adds to it."""
    S = len(result.source_tokens)
    spacing = (width - Y_AXIS_PX - RIGHT_PX) / max(S, 1)
    return styled_figure(
        [_bar(result, hyp, step)],
        title=_title(result, hyp, step),
        subtitle=_alternatives(hyp, step),
        height=matrix_height(8) + extra_height,
        frames=frames,
        xaxis=level_token_axis(list(result.source_tokens), list(result.source_known), spacing, title={"text": x_title}),
        yaxis={"range": [0, 1], "title": {"text": "attention"}},
        showlegend=False,
        margin={"r": RIGHT_PX} | (margin or {}),
        **layout,
    )


def step_figure(result: DecodeResult, step: int, hypothesis: int = 0, x_title: str = "source token", width: int = CHART_PX) -> go.Figure:
    """Attention over the source tokens at decoding step ``step`` (0-based): bars on 0..1,
    the output so far in the title with the step's token in bold and its probability, the
    model's top alternatives as subtitle; ``x_title`` names the bars' tokens; ``width``: the
    chart's expected pixels, for its token labels."""
    hyp = pick(result, hypothesis)
    _check_step(hyp, step)
    return _figure(result, hyp, step, width, x_title=x_title)


def animation_figure(result: DecodeResult, hypothesis: int = 0, width: int = CHART_PX) -> go.Figure:
    """All decoding steps as Plotly frames (one per target token) with play/pause buttons and
    a slider labelled with the target tokens; the y range stays 0..1. ``width``: the chart's
    expected pixels, for its token labels."""
    hyp = pick(result, hypothesis)
    T = len(hyp.tokens)
    frames = [
        go.Frame(
            data=[_bar(result, hyp, t)],
            name=str(t),
            layout={"title": {"text": _title(result, hyp, t), "subtitle": {"text": _alternatives(hyp, t)}}},
        )
        for t in range(T)
    ]
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    jump = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    return _figure(
        result,
        hyp,
        0,
        width,
        frames,
        extra_height=170,
        x_title="",  # the play buttons and the slider sit where its title would (and covered it); the tick labels are the source tokens
        margin={"b": 180},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0,
                "y": -0.3,  # under tick labels turned upright on a phone (about a quarter of the plot's height)
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], jump]},
                ],
            }
        ],
        sliders=[
            {
                "active": 0,
                "x": 0,
                "len": 1.0,
                "y": -0.42,  # under the buttons, the full width
                "yanchor": "top",
                "currentvalue": {"prefix": "target token: ", "font": {"color": "#333"}},
                "font": {"color": "#333" if T <= SLIDER_LABELS_MAX else "rgba(0,0,0,0)"},
                "steps": [{"label": tick_label(tok), "method": "animate", "args": [[str(t)], jump]} for t, tok in enumerate(hyp.tokens)],
            }
        ],
    )
