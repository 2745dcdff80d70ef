"""Plotly figures: shapes, labels, fixed colour ranges, hover text, escaping, bucketing, frames."""

from __future__ import annotations

import ast
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import viz
from bench.tiny import make_translator
from models.result import attention_stats
from tests.test_viz_samples import TRICKY, edge_cases, make_result
from viz import (
    animation_figure,
    attention_summary,
    coverage_figure,
    difference_figure,
    entropy_figure,
    flow_figure,
    heatmap_figure,
    metrics_frame,
    step_figure,
)
from viz.compare import aer_figure, bar_figure
from viz.diagnostics import stat_names
from viz.flow import BINS
from viz.heatmap import CHART_PX, MIN_LEVEL_FONT, PHONE_PX, expected_width, ordinal
from viz.style import FONT_SIZE, LOOK, TEXT_CELLS_MAX, merged
from viz.tokens import plotly_text

FIGURES = {
    "heatmap": lambda r, h: heatmap_figure(r, hypothesis=h, reference_links={(0, 0)}, aligner_links={(1, 0)}),
    "difference": lambda r, h: difference_figure(r, r, hypothesis_a=h, hypothesis_b=h),
    "flow": lambda r, h: flow_figure(r, hypothesis=h),
    "step": lambda r, h: step_figure(r, len(r.hypotheses[h].tokens) - 1, hypothesis=h),
    "animation": lambda r, h: animation_figure(r, hypothesis=h),
    "entropy": lambda r, h: entropy_figure(r, hypothesis=h),
    "coverage": lambda r, h: coverage_figure(r, hypothesis=h),
}


def raw_text(fig: go.Figure) -> str:
    """Everything the figure sends to the browser."""
    return fig.to_json()


@pytest.mark.parametrize("case", list(edge_cases()))
@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_draws_edge_cases_without_raw_markup(name, case):
    result = edge_cases()[case]
    for h in range(len(result.hypotheses)):
        text = raw_text(FIGURES[name](result, h))
        assert "<script" not in text and "<b>alt" not in text


def test_figures_draw_a_real_translation_and_a_beam_hypothesis():
    result = make_translator().translate("the cat sat on the mat .", beam=3)
    for name, draw in FIGURES.items():
        fig = draw(result, 2)
        assert isinstance(fig, go.Figure), name


def test_heatmap_matrix_is_target_rows_by_source_columns_on_a_fixed_range():
    result = make_translator().translate("I love you .")
    heat = heatmap_figure(result).data[0]
    T, S = len(result.target_tokens), len(result.source_tokens)
    assert np.asarray(heat.z).shape == (T, S)
    np.testing.assert_allclose(heat.z, result.attention)
    assert (heat.zmin, heat.zmax) == (0, 1)


def test_heatmaps_of_any_size_show_the_same_colour_bar_ticks():
    short = heatmap_figure(make_result(["a", "b"], ["x", "</s>"])).data[0]
    tall = heatmap_figure(make_result(["a", "b"], [*"xyzuvwpq", "</s>"])).data[0]
    assert list(short.colorbar.tickvals) == list(tall.colorbar.tickvals) == [0, 0.25, 0.5, 0.75, 1]


def test_heatmap_labels_are_the_tokens_in_order_and_repeats_stay_apart():
    result = make_result(["the", "cat", "the", "cat"], ["猫", "猫", "</s>"])
    fig = heatmap_figure(result)
    assert list(fig.data[0].x) == [0, 1, 2, 3, 4]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3, 4]
    assert list(fig.layout.xaxis.ticktext) == ["the", "cat", "the", "cat", "&lt;/s&gt;"]
    assert list(fig.layout.yaxis.ticktext) == ["猫", "猫", "&lt;/s&gt;"]
    assert list(fig.layout.yaxis.range) == [2.5, -0.5]  # top down, no padding around the cells
    assert list(fig.layout.xaxis.range) == [-0.5, 4.5]


def test_heatmap_hover_reads_target_arrow_source_weight():
    result = make_result(["a", "<b>"], ["x", "</s>"])
    heat = heatmap_figure(result).data[0]
    assert heat.customdata[1][1].tolist() == ["&lt;/s&gt;", "&lt;b&gt;"]
    assert heat.hovertemplate == "%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>"


def test_heatmap_escapes_markup_and_dollars_and_marks_unknown_tokens():
    result = make_result(TRICKY, ["x"], known=[False] + [True] * 8)
    ticks = heatmap_figure(result).layout.xaxis.ticktext
    assert ticks[0].startswith("<i>&lt;script&gt;") and ticks[0].endswith("</i><sup>?</sup>")
    assert ticks[1] == "&#36;x&#36;"
    assert ticks[4] == "&amp;amp;"
    assert "(not in vocabulary)" in heatmap_figure(result).data[0].customdata[0][0][1]


def test_heatmap_truncates_long_labels_but_hovers_the_full_token():
    long = "supercalifragilisticexpialidocious"
    fig = heatmap_figure(make_result([long], ["x"]))
    assert fig.layout.xaxis.ticktext[0].endswith("…") and len(fig.layout.xaxis.ticktext[0]) < len(long)
    assert fig.data[0].customdata[0][0][1] == long


def test_a_chinese_source_on_a_phone_keeps_its_characters_level_and_draws_the_end_token_smaller():
    zh = make_result(list("我把雨伞忘在家里了。"), ["I", "forgot", "his", "umbrella", "."], direction="zh-en")
    axis = heatmap_figure(zh, width=PHONE_PX).layout.xaxis
    assert axis.tickangle == 0 and axis.ticktext[-1].startswith('<span style="font-size:') and axis.ticktext[-1].endswith("&lt;/s&gt;</span>")
    assert heatmap_figure(zh, width=CHART_PX).layout.xaxis.tickangle is None  # room enough: Plotly's own layout, "</s>" as is
    en = make_result(["I", "forgot", "my", "umbrella", "at", "home", "."], ["我"])
    assert heatmap_figure(en, width=PHONE_PX).layout.xaxis.tickangle in (-30, -90)  # words need turning anyway: the end token stays as it is
    assert heatmap_figure(en, width=PHONE_PX).layout.xaxis.ticktext[-1] == "&lt;/s&gt;"


def test_the_entropy_chart_of_a_chinese_translation_on_a_phone_keeps_its_characters_level():
    """Found on a phone: Diagnostics' entropy chart turned the Chinese target labels sideways."""
    en_zh = make_result(["I", "forgot", "my", "umbrella", "."], list("我把雨伞忘在家里了。") + ["</s>"])
    axis = entropy_figure(en_zh, width=PHONE_PX).layout.xaxis
    assert axis.tickangle == 0 and axis.ticktext[-1].endswith("&lt;/s&gt;</span>")
    assert entropy_figure(en_zh, width=CHART_PX).layout.xaxis.tickangle is None


def test_a_thirteen_character_translation_on_a_phone_stays_level_in_a_smaller_font():
    """Found on a phone: Diagnostics turned a 13-character Chinese translation sideways, its
    columns (about 16 px) a little narrower than a character at the chart's font."""
    en_zh = make_result(["I", "like", "tea", "."], list("我们明天早上八点在学校门口") + ["</s>"])
    axis = entropy_figure(en_zh, width=PHONE_PX).layout.xaxis
    assert axis.tickangle == 0 and all(axis.ticktext) and MIN_LEVEL_FONT <= axis.tickfont.size < FONT_SIZE


def test_a_longer_chinese_text_on_a_phone_labels_every_kth_character_level_rather_than_turning_them():
    zh_en = make_result(list("我们明天早上八点在学校门口见面吧好的谢谢你今天天气很好"), ["I", "like", "tea", "."], direction="zh-en")
    axis = heatmap_figure(zh_en, width=PHONE_PX).layout.xaxis
    drawn = [t for t in axis.ticktext if t]
    assert axis.tickangle == 0 and len(axis.ticktext) // 3 <= len(drawn) < len(axis.ticktext) and axis.ticktext[0] == "我"
    en_zh = make_result(["I", "like", "tea", "."], list("我们明天早上八点在学校门口见面吧好的谢谢你") + ["</s>"])
    assert entropy_figure(en_zh, width=PHONE_PX).layout.xaxis.tickangle == 0


def test_a_long_sentence_on_a_phone_labels_every_kth_source_token_only():
    """Found on a phone: 60 source columns drew 60 turned labels into one smear."""
    long = make_result([f"w{i}" for i in range(59)], ["我", "</s>"])
    ticks = heatmap_figure(long, width=PHONE_PX).layout.xaxis.ticktext
    assert len(ticks) == 60 and 5 <= sum(bool(t) for t in ticks) <= 30 and ticks[0] == "w0"
    assert heatmap_figure(long, width=PHONE_PX).layout.xaxis.tickangle == -90  # words are turned, not shrunk to fit
    assert heatmap_figure(long, width=PHONE_PX).layout.xaxis.title.text.startswith("source (every ")  # said, for touch screens
    assert heatmap_figure(long, width=4000).layout.xaxis.title.text == "source"
    assert [ordinal(k) for k in (2, 3, 4, 11, 12, 21, 22)] == ["2nd", "3rd", "4th", "11th", "12th", "21st", "22nd"]
    assert all(heatmap_figure(long, width=4000).layout.xaxis.ticktext)  # wide enough: every label


def test_a_fifteen_character_translation_keeps_its_characters_level_in_half_the_wide_layout():
    """Diagnostics draws its two charts side by side: each gets half the width (found on the
    default example, whose characters were turned sideways when sized for the full width)."""
    en_zh = make_result(["There", "is", "a", "test", "tomorrow", "."], list("明天有一个考试，我需要做准备。") + ["</s>"])
    axis = entropy_figure(en_zh, width=expected_width("", 2)).layout.xaxis
    assert axis.tickangle == 0 and all(axis.ticktext)


def test_turned_labels_of_the_same_tokens_at_the_same_width_turn_alike_in_both_diagnostics_charts():
    """Found on encoder self-attention: the entropy chart's labels stood upright, the coverage
    chart's beside it (same tokens, same width) at 30 degrees: Plotly had picked each angle."""
    words = ["yesterday", "afternoon", "grandmother", "walked", "carefully", "towards", "the", "station"]
    result = make_result(words, [*words, "</s>"])
    result.hypotheses[0].attention[:] = np.eye(len(words) + 1)
    for width in (PHONE_PX, CHART_PX // 2):
        angles = {entropy_figure(result, names=("key", "query"), width=width).layout.xaxis.tickangle,
                  coverage_figure(result, names=("key", "query"), width=width).layout.xaxis.tickangle}
        assert len(angles) == 1 and angles <= {-30, -90}  # set here, not left to Plotly chart by chart


def test_step_charts_keep_a_chinese_source_level_and_leave_room_for_the_last_label():
    """Found on Step through: the last label, "</s>" turned, was cut at the chart's right edge."""
    zh = make_result(list("虽然外面下着大雨但是他还是坚持每天早上去跑步"), ["Although", "it", "rains", "</s>"], direction="zh-en")
    for fig in (step_figure(zh, 0, width=PHONE_PX), animation_figure(zh, width=PHONE_PX)):
        assert fig.layout.xaxis.tickangle == 0 and fig.layout.margin.r >= 40  # characters level, smaller or every k-th
    assert all(step_figure(zh, 0, width=CHART_PX).layout.xaxis.ticktext)
    assert animation_figure(zh, width=PHONE_PX).layout.margin.b == 180  # the buttons' and slider's room stays


def test_heatmap_prints_cell_values_only_when_small():
    small = make_result(["a", "b"], ["x", "</s>"])
    big = make_result([f"w{i}" for i in range(40)], [f"t{i}" for i in range(TEXT_CELLS_MAX // 40)])
    assert heatmap_figure(small).data[0].texttemplate == "%{z:.2f}"
    assert heatmap_figure(big).data[0].texttemplate is None


def test_heatmap_prints_cell_values_only_in_cells_wide_enough_to_read():
    result = make_result([f"w{i}" for i in range(10)], ["x", "</s>"])  # 11 columns
    assert heatmap_figure(result, width=1000).data[0].texttemplate == "%{z:.2f}"
    assert heatmap_figure(result, width=500).data[0].texttemplate == "%{z:.2f}"  # colour bar below: about 39 px a column
    assert heatmap_figure(result, width=400).data[0].texttemplate is None  # about 28 px a column
    assert heatmap_figure(result, width=1000, values=False).data[0].texttemplate is None


PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def test_on_a_phone_a_heatmap_expects_the_phones_width_and_leaves_out_cell_values_that_would_not_fit():
    assert expected_width(DESKTOP) == CHART_PX and expected_width(DESKTOP, 2) == CHART_PX // 2
    assert expected_width(PHONE) == expected_width(PHONE, 2) == PHONE_PX  # columns stack on a phone
    short = make_result(["I", "like", "tea", "."], ["我", "喜欢", "茶", "。", "</s>"])
    long = make_result(["I", "like", "to", "drink", "green", "tea", "with", "my", "friends", "every", "day", "."], ["我", "每天", "喝", "茶", "。", "</s>"])
    assert heatmap_figure(long, width=expected_width(DESKTOP)).data[0].texttemplate == "%{z:.2f}"
    assert heatmap_figure(long, width=expected_width(PHONE)).data[0].texttemplate is None
    assert heatmap_figure(short, width=expected_width(PHONE)).data[0].texttemplate == "%{z:.2f}"  # five columns fit


def test_on_a_phone_the_colour_bar_lies_under_the_heatmap_and_gives_it_the_width():
    result = make_result(["I", "like", "tea", "."], ["我", "喜欢", "茶", "。", "</s>"])
    desktop, phone = heatmap_figure(result, width=CHART_PX), heatmap_figure(result, width=PHONE_PX)
    assert desktop.data[0].colorbar.orientation is None and phone.data[0].colorbar.orientation == "h"
    assert phone.layout.margin.r < desktop.layout.margin.r and phone.layout.margin.b > desktop.layout.margin.b
    assert phone.layout.height > desktop.layout.height  # the bar's room is added, not taken from the rows
    assert phone.data[0].colorbar.title.text == desktop.data[0].colorbar.title.text == "weight"


def test_in_one_of_two_columns_the_colour_bar_lies_under_the_heatmap_too():
    result = make_result(["I", "like", "to", "drink", "green", "tea", "."], ["我", "喜欢", "喝", "绿茶", "。", "</s>"])
    column = heatmap_figure(result, width=CHART_PX // 2)
    assert column.data[0].colorbar.orientation == "h"
    assert column.layout.margin.r < 30  # the cells get the width the bar took beside them
    # a short bar: three level ticks, so Plotly does not turn five crowded labels sideways
    assert list(column.data[0].colorbar.tickvals) == [0, 0.5, 1] and column.data[0].colorbar.tickangle == 0


def test_heatmap_of_the_alignment_posterior_says_so_on_its_colour_bar():
    result = make_result(["a", "b"], ["x", "</s>"])
    assert heatmap_figure(result).data[0].colorbar.title.text == "weight"
    assert heatmap_figure(replace(result, cells="posterior")).data[0].colorbar.title.text == "posterior"


def test_heatmap_overlays_links_as_named_marker_traces_dropping_out_of_range_pairs():
    result = make_result(["a", "b", "c"], ["x", "y", "</s>"])
    fig = heatmap_figure(result, reference_links={(0, 0), (2, 1), (9, 0)}, aligner_links={(1, 1)})
    ref, ali = fig.data[1], fig.data[2]
    assert (ref.name, ali.name) == ("gold sure (2)", "eflomal (1)")
    assert list(zip(ref.x, ref.y)) == [(0, 0), (2, 1)]
    assert ref.marker.symbol != ali.marker.symbol
    x, y = ali.x[0], ali.y[0]
    assert 1 < x < 1.5 and 0.5 < y < 1  # eflomal's cross sits in the top right corner of cell (1, 1), clear of its value
    z = fig.data[0].z
    assert ref.customdata[1] == f"y → c: {z[1][2]:.3f}"


def test_heatmap_without_links_has_only_the_matrix():
    assert len(heatmap_figure(make_result(["a"], ["x"])).data) == 1


def margins(fig: go.Figure) -> dict:
    return fig.layout.margin.to_plotly_json()


def test_heatmap_margins_grow_with_the_longest_target_label_counting_wide_characters_double():
    short = margins(heatmap_figure(make_result(["a"], ["我", "</s>"])))
    latin = margins(heatmap_figure(make_result(["a"], ["abcdefgh", "</s>"])))
    wide = margins(heatmap_figure(make_result(["a"], ["我爱你们好", "</s>"])))
    assert short["l"] < latin["l"] < wide["l"]


def test_heatmap_bottom_margin_makes_room_for_source_labels_turned_when_columns_are_narrow():
    result = make_result([f"word{i:02d}" for i in range(12)], ["x"])
    wide, narrow = margins(heatmap_figure(result, width=2000)), margins(heatmap_figure(result, width=300))
    assert narrow["b"] > wide["b"]


def test_heatmap_top_margin_makes_room_for_the_links_legend_and_keeps_automargin_on():
    result = make_result(["a", "b"], ["x", "</s>"])
    assert margins(heatmap_figure(result, reference_links={(0, 0)}))["t"] > margins(heatmap_figure(result))["t"]
    axes = heatmap_figure(result).layout
    assert axes.xaxis.automargin and axes.yaxis.automargin  # a short estimate still never cuts a label


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_carry_their_look_in_their_own_layout_without_a_template(name):
    """Streamlit's default template (or any) would make plotly.js draw a chart twice; the look is
    in each figure's layout, axis defaults merged with the figure's own axis settings."""
    spec = json.loads(FIGURES[name](make_result(["a", "b"], ["x", "</s>"]), 0).to_json())
    layout = spec["layout"]
    assert "template" not in layout
    assert layout["datarevision"] == 0 and layout["plot_bgcolor"] == "white" and layout["font"]["size"] == FONT_SIZE
    assert layout["xaxis"]["gridcolor"] == LOOK["xaxis"]["gridcolor"] and layout["xaxis"]["title"]["standoff"] == 15


def test_merged_lays_dicts_over_each_other_at_any_depth():
    base = {"a": {"b": {"c": 1, "d": 2}, "e": 3}, "f": [1]}
    assert merged(base, {"a": {"b": {"c": 9}}, "f": [2], "g": 4}) == {"a": {"b": {"c": 9, "d": 2}, "e": 3}, "f": [2], "g": 4}
    assert merged(base, {"a": 5}) == {"a": 5, "f": [1]}
    assert base == {"a": {"b": {"c": 1, "d": 2}, "e": 3}, "f": [1]}  # inputs are left as they were


def test_hypothesis_index_selects_the_beam_hypothesis():
    result = make_result(["a", "b"], ["x", "</s>"], hypotheses=3)
    np.testing.assert_allclose(heatmap_figure(result, hypothesis=2).data[0].z, result.hypotheses[2].attention)
    with pytest.raises(ValueError, match="hypothesis 3 does not exist"):
        heatmap_figure(result, hypothesis=3)


def test_title_is_escaped():
    assert heatmap_figure(make_result(["a"], ["x"]), title="<b>$1$</b>").layout.title.text == "&lt;b&gt;&#36;1&#36;&lt;/b&gt;"


def test_difference_is_a_minus_b_on_a_fixed_diverging_range():
    a, b = make_result(["a", "b"], ["x", "</s>"], seed=1), make_result(["a", "b"], ["x", "</s>"], seed=2)
    heat = difference_figure(a, b).data[0]
    np.testing.assert_allclose(heat.z, a.attention.astype(float) - b.attention.astype(float))
    assert (heat.zmin, heat.zmax) == (-1, 1)
    assert "%{z:+.3f}" in heat.hovertemplate


def test_difference_rejects_different_source_or_target_tokens():
    a = make_result(["a", "b"], ["x", "</s>"])
    with pytest.raises(ValueError, match="different source tokens"):
        difference_figure(a, make_result(["a", "c"], ["x", "</s>"]))
    with pytest.raises(ValueError, match="different translations"):
        difference_figure(a, make_result(["a", "b"], ["y", "</s>"]))


def test_metrics_frame_has_a_row_per_model_with_attention_statistics():
    a, b = make_result(["a", "b"], ["x", "y", "</s>"], seed=1), make_result(["a"], ["z"], seed=2, finished=False)
    frame = metrics_frame({"m1": a, "m2": b})
    assert list(frame.index) == ["m1", "m2"]
    assert list(frame.columns) == ["Translation", "Tokens", "Mean entropy (nats)", "Final-token share", "</s> share", "Mean token probability"]
    stats = attention_stats(a.attention)
    row = frame.loc["m1"]
    assert (row["Translation"], row["Tokens"]) == ("x y", 2)
    assert row["Mean entropy (nats)"] == pytest.approx(stats["entropy"])
    assert row["</s> share"] == pytest.approx(stats["eos_share"])
    assert row["Mean token probability"] == pytest.approx(float(np.mean(a.best.token_probs)))
    assert frame.loc["m2", "Tokens"] == 1


def line_count(trace: go.Scatter) -> int:
    return sum(v is None for v in trace.x)


def line_traces(fig: go.Figure) -> list[go.Scatter]:
    return [t for t in fig.data if t.mode == "lines"]


def test_flow_draws_one_line_per_weight_above_threshold_in_few_bucketed_traces():
    result = make_result([f"w{i}" for i in range(60)], [f"t{i}" for i in range(120)])
    fig = flow_figure(result, threshold=0.0)
    assert sum(line_count(t) for t in line_traces(fig)) == 120 * 61
    assert len(fig.data) <= BINS + 3
    assert len(flow_figure(make_result(["a"], ["x"]), threshold=0.0).data) <= BINS + 3


def test_flow_threshold_filters_lines():
    result = make_result([f"w{i}" for i in range(10)], [f"t{i}" for i in range(8)])
    for threshold in (0.05, 0.2, 0.5):
        drawn = sum(line_count(t) for t in line_traces(flow_figure(result, threshold=threshold)))
        assert drawn == int((result.attention >= threshold).sum())
    with pytest.raises(ValueError, match="threshold"):
        flow_figure(result, threshold=1.5)


def test_flow_lines_get_wider_with_weight_and_join_source_to_target_rows():
    result = make_result([f"w{i}" for i in range(10)], [f"t{i}" for i in range(10)], seed=3)
    traces = line_traces(flow_figure(result, threshold=0.0))
    widths = [t.line.width for t in traces]
    assert len(traces) > 1 and widths == sorted(widths)
    assert set(traces[0].y) == {1.0, 0.0, None}


def test_flow_hover_names_each_line():
    result = make_result(["a"], ["<x>"])
    hover = next(t for t in flow_figure(result, threshold=0.0).data if t.name == "links")
    assert sorted(hover.customdata) == ["&lt;x&gt; → &lt;/s&gt;", "&lt;x&gt; → a"]


def test_step_figure_shows_that_rows_attention_token_probability_and_alternatives():
    result = make_result(["a", "b"], ["x", "<y>", "</s>"], direction="en-fr")
    fig = step_figure(result, 1)
    np.testing.assert_allclose(fig.data[0].y, result.attention[1])
    p = float(result.best.token_probs[1])
    assert fig.layout.title.text == f"Step 2/3: x <b>&lt;y&gt;</b> (p = {p:.2f})"
    assert fig.layout.title.subtitle.text == "top choices: &lt;y&gt; 0.60 · &lt;b&gt;alt&lt;/b&gt; 0.30 · &#36; 0.10"
    assert list(fig.layout.yaxis.range) == [0, 1]
    with pytest.raises(ValueError, match="step 3 is out of range"):
        step_figure(result, 3)


def test_step_title_joins_chinese_output_without_spaces():
    result = make_result(["a"], ["我", "爱", "你", "</s>"], direction="en-zh")
    assert step_figure(result, 2).layout.title.text.startswith("Step 3/4: 我爱<b>你</b>")


def test_animation_has_one_frame_per_target_token_and_a_fixed_y_range():
    result = make_result(["a", "b", "c"], ["x", "y", "z", "</s>"])
    fig = animation_figure(result)
    assert len(fig.frames) == 4
    for t, frame in enumerate(fig.frames):
        np.testing.assert_allclose(frame.data[0].y, result.attention[t])
    assert list(fig.layout.yaxis.range) == [0, 1]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    assert [s.label for s in fig.layout.sliders[0].steps] == ["x", "y", "z", "&lt;/s&gt;"]


def test_entropy_figure_plots_each_rows_entropy_under_the_uniform_maximum():
    result = make_result(["a", "b", "c"], ["x", "</s>"])
    line, uniform = entropy_figure(result).data
    p = result.attention.astype(float)
    np.testing.assert_allclose(line.y, -(p * np.log(p)).sum(axis=1), rtol=1e-5)
    assert list(uniform.y) == pytest.approx([math.log(4)] * 2)


def test_coverage_figure_plots_column_sums():
    result = make_result(["a", "b", "c"], ["x", "y", "</s>"])
    np.testing.assert_allclose(coverage_figure(result).data[0].y, result.attention.sum(axis=0))


@pytest.mark.parametrize("build", [entropy_figure, coverage_figure])
def test_diagnostics_label_their_dashed_line_in_place_not_in_a_legend_beside_the_subtitle(build):
    fig = build(make_result(["a", "b", "c"], ["x", "y", "</s>"]))
    assert fig.layout.showlegend is False
    (label,) = fig.layout.annotations
    line = fig.data[1]
    assert (label.text, label.y) == (line.name, line.y[-1])
    # level with the line's end, in the right margin (above the line it sat on tall bars)
    assert (label.xref, label.x, label.xanchor) == ("paper", 1, "left") and fig.layout.margin.r >= 40
    assert label.y < fig.layout.yaxis.range[1]


def test_diagnostics_of_a_self_attention_map_speak_of_queries_and_keys_not_steps():
    result = make_result(["a", "b", "c"], ["x", "y", "</s>"])
    cross = [fig.layout.title.text + fig.layout.xaxis.title.text for fig in (entropy_figure(result), coverage_figure(result))]
    assert "step" in cross[0] and "target token" in cross[0] and "source token" in cross[1]
    entropy, coverage = entropy_figure(result, names=("key", "query")), coverage_figure(result, names=("key", "query"))
    assert entropy.layout.xaxis.title.text == "query token" and "per query" in entropy.layout.title.text
    assert coverage.layout.xaxis.title.text == "key token" and "per key token" in coverage.layout.title.text
    texts = " ".join(str(x) for x in (entropy.layout.title.text, coverage.layout.title.text, coverage.layout.annotations[0].text, coverage.data[0].hovertemplate))
    assert "step" not in texts and "1 query" in texts and "over 3 queries" in texts
    assert stat_names(("key", "query"))["max_coverage"] == "Top coverage (queries)" and stat_names()["max_coverage"] == "Top coverage (steps)"


def test_diagnostics_of_a_masked_self_attention_map_measure_against_the_tokens_each_query_sees():
    """Found on decoder self-attention: a "spread evenly" line at log S that query t, seeing t
    keys, can never reach, and a "</s> share" of a map whose keys hold no "</s>"."""
    result = make_result(["<s>", "我", "爱"], ["我", "爱", "你", "。"])  # 4 keys: make_result appends one
    T = 4
    causal = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]  # each query spread evenly over what it sees
    result.hypotheses[0].attention[:] = causal
    fig = entropy_figure(result, names=("key", "query"), causal=True)
    line = fig.data[1]
    np.testing.assert_allclose(line.y, np.log(np.arange(1, T + 1)))  # row by row: log t
    np.testing.assert_allclose(fig.data[0].y, line.y, atol=1e-6)  # uniform rows lie on it
    summary, names = attention_summary(result, causal=True), stat_names(("key", "query"), causal=True)
    assert summary["uniform_entropy"] == pytest.approx(np.log(np.arange(1, T + 1)).mean())
    assert "eos_share" not in names and "final_token_share" not in names and "mean log t" in names["uniform_entropy"]
    assert entropy_figure(result).data[1].y == (pytest.approx(np.log(T)),) * 2  # unmasked: one line at log S


def test_attention_summary_agrees_with_attention_stats():
    result = make_result(["a", "b", "c"], ["x", "y", "</s>"])
    summary, stats = attention_summary(result), attention_stats(result.attention)
    assert summary["mean_entropy"] == pytest.approx(stats["entropy"])
    assert summary["final_token_share"] == pytest.approx(stats["final_token_share"])
    assert summary["eos_share"] == pytest.approx(stats["eos_share"])
    coverage = result.attention.sum(axis=0)
    assert summary["max_coverage"] == pytest.approx(coverage.max())
    assert summary["max_coverage_token"] == result.source_tokens[int(coverage.argmax())]


def test_plotly_text_leaves_nothing_plotly_would_read_as_markup():
    text = plotly_text("<br>$\\alpha$ & <a href='x'>")
    assert "<" not in text and "$" not in text and json.loads(json.dumps(text)) == text


def test_viz_does_not_import_streamlit():
    imported = set()
    for path in Path(viz.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "plotly" in imported and "streamlit" not in imported


def test_aer_figure_groups_attention_posterior_and_baselines_with_escaped_full_labels():
    frame = pd.DataFrame(
        {"attention": [0.33, None], "posterior": [0.21, None], "baseline": [None, 0.2]},
        index=["<b>model</b>", "en-zh: eflomal (union)"],
    )
    fig = aer_figure(frame)
    assert [t.name for t in fig.data] == ["attention", "posterior", "baseline"]
    assert fig.layout.barmode == "group" and all(t.orientation == "h" for t in fig.data)
    assert list(fig.data[0].y) == ["&lt;b&gt;model&lt;/b&gt;", "en-zh: eflomal (union)"]
    assert list(fig.data[1].x)[0] == 0.21
    assert fig.layout.template.to_plotly_json() == {}


def test_bar_figure_of_one_metric_has_one_unlabelled_series_in_the_frame_order():
    frame = pd.DataFrame({"BLEU": [14.2, 9.8]}, index=["b-model", "a-model"])
    fig = bar_figure(frame, "BLEU")
    assert len(fig.data) == 1 and not fig.layout.showlegend
    assert list(fig.data[0].y) == ["b-model", "a-model"] and fig.layout.yaxis.autorange == "reversed"


def test_flow_labels_of_a_ten_word_sentence_do_not_collide_on_a_phone():
    from viz.flow import flow_figure
    from viz.heatmap import PHONE_PX

    words = ["I", "like", "to", "drink", "green", "tea", "with", "my", "friends", "today"]
    result = make_result([*words, "</s>"], ["我", "喜欢", "喝", "绿茶", "</s>"])
    wide = flow_figure(result, width=1000).data[-2].text
    narrow = flow_figure(result, width=PHONE_PX).data[-2].text
    assert all("<br>" not in t for t in wide)  # room enough on a desktop
    assert any("<br>" in t for t in narrow)  # staggered on a phone


def test_flow_labels_every_word_of_a_ten_word_sentence_on_a_phone_shortening_long_ones():
    """Found on a phone: 'yesterday' was too wide to stagger, so every other word lost its label."""
    from viz.flow import flow_figure
    from viz.heatmap import PHONE_PX

    def labels(words: list[str]) -> list[str]:
        result = make_result(words, ["我", "妹妹", "昨天", "买", "了", "自行车", "。", "</s>"])  # the source's "</s>" is added
        return [t.replace("<br>", "").replace("&nbsp;", "") for t in flow_figure(result, width=PHONE_PX).data[-2].text]

    everyday = labels(["My", "sister", "bought", "a", "new", "red", "bicycle", "yesterday", "."])
    assert all(everyday) and "yesterday" in everyday  # staggered, its neighbours short: room enough whole
    long = labels(["Unfortunately", "international", "transportation", "was", "extraordinarily", "complicated", "yesterday", "."])
    assert all(long) and any(t.endswith("…") for t in long) and "was" in long


def test_flow_rows_are_staggered_by_their_neighbours_widths_not_the_widest_label():
    """Found on a phone: a zh→en source row was split over two lines only because "</s>", at
    its end, is wider than a character's column."""
    from viz.flow import flow_figure
    from viz.heatmap import PHONE_PX

    result = make_result(list("我明天要去北京看朋友。"), ["I", "will", "see", "a", "friend", "."], direction="zh-en")
    assert all("<br>" not in t for t in flow_figure(result, width=PHONE_PX).data[-2].text)
