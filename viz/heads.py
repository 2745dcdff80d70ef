"""Every head at once: a layer × head grid of small heatmaps (bertviz's model view for an
encoder–decoder), the head view (lines between two columns of tokens), and layer × head
matrices of per-head statistics (the head explorer)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from models.result import START, DecodeResult

from .heatmap import CHART_PX
from .style import COLORSCALE, FONT_SIZE, LOOK, styled_figure, token_axis, weight_color
from .tokens import hover_token, keep_every, pair_px, plotly_text, text_px, tick_label, truncate, turned_step

MAP_TITLES = {"cross": "cross-attention", "encoder_self": "encoder self-attention", "decoder_self": "decoder self-attention"}
GRID_GAP = 0.04  # between cells, as a share of the plot
SMALL_FONT = 10  # tick labels in grid cells
MIN_TICK_PX = 12  # a cell's tick labels are drawn only when each token gets this many pixels
KEY_ANGLE = 60  # degrees the grid's key labels are turned by where they do not fit upright
ROW_GAP_PX = 24  # at least this between rows of the grid: a cell title's height
NARROW_PX = 500  # charts narrower than this put the colour bar under the grid
HEAD_VIEW_BINS = 10  # lines of a head view are drawn in this many opacity steps (one trace each)


def map_axes(result: DecodeResult, name: str, hypothesis: int = 0) -> tuple[np.ndarray, list[str], list[str], list[bool]]:
    """(values (L, H, Q, K), query tokens, key tokens, keys known) of map ``name``: cross
    (target × source), encoder_self (source × source) or decoder_self (target × its inputs
    "<s>", y1 … y_{T-1})."""
    if name in result.source_maps:
        return result.source_maps[name].values, list(result.source_tokens), list(result.source_tokens), list(result.source_known)
    hyp = result.hypotheses[hypothesis]
    if name not in hyp.maps:
        raise ValueError(f"this result has no {name!r} attention")
    T = len(hyp.tokens)
    if name == "decoder_self":
        return hyp.maps[name].values[:, :, :T, :T], list(hyp.tokens), [START, *hyp.tokens[: T - 1]], [True] * T
    return hyp.maps[name].values[:, :, :T], list(hyp.tokens), list(result.source_tokens), list(result.source_known)


def _domains(n: int, gap: float) -> list[tuple[float, float]]:
    size = (1 - gap * (n - 1)) / n
    return [(i * (size + gap), i * (size + gap) + size) for i in range(n)]


def grid_figure(result: DecodeResult, name: str = "cross", hypothesis: int = 0, width: int = CHART_PX, selected: tuple[int, int] | None = None) -> go.Figure:
    """A layer × head grid of small heatmaps of map ``name`` (rows: layers, top down;
    columns: heads), on one 0–1 colour scale. Tick labels only where they fit: token labels on
    the left column and bottom row when a cell gives each token ``MIN_TICK_PX`` pixels.
    ``selected`` (layer, head) is outlined."""
    values, queries, keys, known = map_axes(result, name, hypothesis)
    L, H, Q, K = values.shape
    label_px = max(text_px(truncate(t, 8), SMALL_FONT) for t in queries) + 8
    narrow = width < NARROW_PX  # a phone: the colour bar lies under the grid
    plot_w = max(width - label_px - (20 if narrow else 90), 120)
    colorbar = ({"orientation": "h", "thickness": 10, "len": 0.7, "x": 0, "xanchor": "left", "y": 0, "yref": "container",
                 "yanchor": "bottom", "ypad": 8, "title": {"text": "weight", "side": "right"}}
                if narrow else {"title": {"text": "weight"}, "thickness": 10, "len": 0.6})
    cell_w = plot_w * (1 - GRID_GAP * (H - 1)) / H
    cell_h = min(max(cell_w * Q / max(K, 1), 60), 260)
    show_x, show_y = cell_w / K >= MIN_TICK_PX, cell_h / Q >= MIN_TICK_PX
    # Key labels upright when every label, or every second or third, fits beside its neighbour
    # (Chinese characters); else turned, every k-th where even turned ones would touch.
    key_px, column = [text_px(truncate(t, 8), SMALL_FONT) for t in keys], cell_w / K
    level = next((k for k in (1, 2, 3) if pair_px(key_px, k) <= k * column), None)
    key_step = level or turned_step(column, SMALL_FONT, KEY_ANGLE)
    bottom_px = (SMALL_FONT + 10 if level else max(key_px) + 10) if show_x else 10
    # rows apart by at least ROW_GAP_PX, room for the next row's "L2 H1" above its cells
    row_gap = max(GRID_GAP * 1.5 * L * cell_h, ROW_GAP_PX)
    plot_h = L * cell_h + (L - 1) * row_gap
    bottom_margin = bottom_px + (50 if narrow else 0)
    height = int(plot_h) + 60 + bottom_margin + 10
    xd, yd = _domains(H, GRID_GAP), _domains(L, row_gap / plot_h)
    qhover = [hover_token(t) for t in queries]
    khover = [hover_token(t, k) for t, k in zip(keys, known)]
    hover = np.array([[f"query {qhover[q]}<br>key {khover[k]}" for k in range(K)] for q in range(Q)], dtype=object)
    traces, layout, notes = [], {}, []
    for layer in range(L):
        for head in range(H):
            n = layer * H + head + 1
            xa, ya = f"xaxis{'' if n == 1 else n}", f"yaxis{'' if n == 1 else n}"
            xr, yr = f"x{'' if n == 1 else n}", f"y{'' if n == 1 else n}"
            traces.append(go.Heatmap(
                z=values[layer, head], coloraxis="coloraxis", xaxis=xr, yaxis=yr, customdata=hover, xgap=0, ygap=0,
                hovertemplate=f"layer {layer + 1} · head {head + 1}<br>%{{customdata}}<br>weight %{{z:.3f}}<extra></extra>",
            ))
            bottom, left = layer == L - 1, head == 0
            layout[xa] = LOOK["xaxis"] | token_axis(
                keep_every([tick_label(t, k, 8) for t, k in zip(keys, known)], key_step), domain=xd[head], anchor=yr,
                showticklabels=bottom and show_x, tickfont={"size": SMALL_FONT}, tickangle=0 if level else -KEY_ANGLE, zeroline=False,
            )
            layout[ya] = LOOK["yaxis"] | token_axis(
                [tick_label(t, True, 8) for t in queries], domain=yd[L - 1 - layer], anchor=xr, autorange="reversed",
                showticklabels=left and show_y, tickfont={"size": SMALL_FONT}, zeroline=False,
            )
            top = yd[L - 1 - layer][1]
            mid = sum(xd[head]) / 2
            chosen = selected == (layer, head)
            notes.append({
                "text": f"<b>L{layer + 1} H{head + 1}</b>" if chosen else f"L{layer + 1} H{head + 1}", "xref": "paper", "yref": "paper",
                "x": mid, "y": top, "yanchor": "bottom", "showarrow": False, "font": {"size": 11},
            })
    shapes = []
    if selected is not None and 0 <= selected[0] < L and 0 <= selected[1] < H:
        layer, head = selected
        x0, x1 = xd[head]
        y0, y1 = yd[L - 1 - layer]
        shapes.append({"type": "rect", "xref": "paper", "yref": "paper", "x0": x0, "x1": x1, "y0": y0, "y1": y1,
                       "line": {"color": "#d62728", "width": 2}})
    title = plotly_text(f"{MAP_TITLES.get(name, name)}: {L} layer{'s' * (L > 1)} × {H} head{'s' * (H > 1)}")
    return styled_figure(
        traces, title=title, height=height, annotations=notes, shapes=shapes, **layout,
        coloraxis={"colorscale": COLORSCALE, "cmin": 0, "cmax": 1, "colorbar": colorbar},
        margin={"l": label_px if show_y else 10, "r": 10 if narrow else 70, "t": 60, "b": bottom_margin},
    )


def head_view_figure(result: DecodeResult, hypothesis: int = 0, threshold: float = 0.02) -> go.Figure:
    """bertviz's head view of the matrix a (selected) result draws: the queries (its rows) in
    a left column, the keys (its columns) in a right one, a line from each query to each key
    as dark as the weight; lines lighter than ``threshold`` are left out."""
    hyp = result.hypotheses[hypothesis]
    a = np.asarray(hyp.attention, dtype=float)
    queries, keys, known = list(hyp.tokens), list(result.source_tokens), list(result.source_known)
    Q, K = a.shape
    n = max(Q, K)
    yq = [i * (n - 1) / max(Q - 1, 1) for i in range(Q)] if Q > 1 else [(n - 1) / 2]
    yk = [i * (n - 1) / max(K - 1, 1) for i in range(K)] if K > 1 else [(n - 1) / 2]
    traces = []
    bins = np.clip(np.ceil(a * HEAD_VIEW_BINS).astype(int), 0, HEAD_VIEW_BINS)
    for b in range(1, HEAD_VIEW_BINS + 1):
        xs, ys = [], []
        for q, k in zip(*np.nonzero((bins == b) & (a >= threshold))):
            xs += [0, 1, None]
            ys += [yq[q], yk[k], None]
        if xs:
            w = b / HEAD_VIEW_BINS
            traces.append(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                     line={"color": weight_color(w), "width": 1 + 3 * w}, opacity=0.35 + 0.65 * w))
    traces.append(go.Scatter(
        x=[0] * Q, y=yq, mode="markers+text", text=[tick_label(t) for t in queries], textposition="middle left",
        marker={"size": 7, "color": "#2a3f5f"}, showlegend=False, hoverinfo="text",
        hovertext=[f"{hover_token(t)}: strongest key {hover_token(keys[int(a[q].argmax())], known[int(a[q].argmax())])} ({a[q].max():.2f})" for q, t in enumerate(queries)],
    ))
    traces.append(go.Scatter(
        x=[1] * K, y=yk, mode="markers+text", text=[tick_label(t, k) for t, k in zip(keys, known)], textposition="middle right",
        marker={"size": 7, "color": "#2a3f5f"}, showlegend=False, hoverinfo="text", hovertext=[hover_token(t, k) for t, k in zip(keys, known)],
    ))
    pad = 0.6
    return styled_figure(
        traces, title="Head view", subtitle=plotly_text("cross-attention as the model reads it as alignment" if result.cells == "attention" else result.cells), height=min(max(26 * n + 120, 300), 2000),
        xaxis={"visible": False, "range": [-pad, 1 + pad], "fixedrange": True},
        yaxis={"visible": False, "autorange": "reversed", "fixedrange": True},
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
    )


def stats_figure(
    values: np.ndarray, title: str, lower_is_better: bool = True, best: tuple[int, int] | None = None, zrange: tuple[float, float] | None = (0.0, 1.0)
) -> go.Figure:
    """A layer × head matrix of one statistic per head (rows: layers), values printed in the
    cells; ``best`` (layer, head) outlined. Colours run light to dark towards the better AER or
    the more focused head (``lower_is_better``: the low end is dark), over ``zrange`` (shares and
    weights: 0 to 1, so that small differences look small), or over the values' own range (None)."""
    v = np.asarray(values, dtype=float)
    L, H = v.shape
    scale = "Blues_r" if lower_is_better else "Blues"
    text = [["–" if np.isnan(x) else f"{x:.2f}" for x in row] for row in v]
    trace = go.Heatmap(
        z=v, x=list(range(H)), y=list(range(L)), colorscale=scale, text=text, texttemplate="%{text}", showscale=False,
        hovertemplate="layer %{y} · head %{x}<br>%{text}<extra></extra>".replace("%{y}", "%{customdata[0]}").replace("%{x}", "%{customdata[1]}"),
        customdata=[[[layer + 1, head + 1] for head in range(H)] for layer in range(L)], xgap=2, ygap=2,
        textfont={"size": FONT_SIZE}, **({} if zrange is None else {"zmin": zrange[0], "zmax": zrange[1]}),
    )
    shapes = []
    if best is not None:
        layer, head = best
        shapes.append({"type": "rect", "x0": head - 0.5, "x1": head + 0.5, "y0": layer - 0.5, "y1": layer + 0.5,
                       "line": {"color": "#d62728", "width": 3}})
    return styled_figure(
        [trace], title=plotly_text(title), height=max(120 + 44 * L, 200), shapes=shapes,
        xaxis=token_axis([f"head {h + 1}" for h in range(H)], title={"text": ""}),
        yaxis=token_axis([f"layer {layer + 1}" for layer in range(L)], autorange="reversed"),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
