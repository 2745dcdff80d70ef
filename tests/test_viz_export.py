"""Downloads: CSV and JSON parse back to the attention and open safely; image export degrades to None, and says so."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from xml.etree import ElementTree

import numpy as np
import pytest

from bench.tiny import make_translator
from tests.test_viz_samples import TRICKY, make_result
from viz import attention_csv, attention_json, figure_image, heatmap_figure
from viz.export import FORMULA_START


def test_csv_round_trips_to_the_attention_with_positions_keeping_repeats_apart():
    result = make_result(["the", 'say "hi", ok', "the"], ["x", "x,y", "</s>"])
    rows = list(csv.reader(io.StringIO(attention_csv(result))))
    assert rows[0] == ["target", "0:the", '1:say "hi", ok', "2:the", "3:</s>"]
    assert [r[0] for r in rows[1:]] == ["x", "x,y", "</s>"]
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), result.attention, atol=1e-6)


def test_csv_of_a_beam_hypothesis_uses_its_tokens_and_attention():
    result = make_translator().translate("the cat sat .", beam=2)
    rows = list(csv.reader(io.StringIO(attention_csv(result, hypothesis=1))))
    hyp = result.hypotheses[1]
    assert [r[0] for r in rows[1:]] == hyp.tokens
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), hyp.attention, atol=1e-6)


def test_json_round_trips_tokens_attention_and_model_description():
    result = make_result(TRICKY, ["猫", "😀", "</s>"])
    data = json.loads(attention_json(result))
    assert data["source_tokens"] == result.source_tokens and data["target_tokens"] == result.target_tokens
    np.testing.assert_allclose(np.array(data["attention"]), result.attention, atol=1e-6)
    assert (data["translation"], data["scorer"], data["mode"], data["direction"]) == (result.translation, "additive", "soft", "en-zh")
    assert "😀" in attention_json(result)  # readable UTF-8, not \\u escapes


def test_figure_image_is_none_without_kaleido(monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)
    assert figure_image(heatmap_figure(make_result(["a"], ["x"])), "png") is None


def test_figure_image_rejects_other_formats():
    with pytest.raises(ValueError, match="'png' or 'svg'"):
        figure_image(heatmap_figure(make_result(["a"], ["x"])), "gif")


@pytest.mark.browser
def test_figure_image_renders_svg_with_escaped_tokens_through_chromium():
    pytest.importorskip("kaleido")
    if not shutil.which("chromium"):
        pytest.skip("no chromium")
    svg = figure_image(heatmap_figure(make_result(["<tag>", "$x$"], ["x"])), "svg")
    assert svg is not None and svg.lstrip().startswith(b"<svg")
    assert b"&#60;tag&#62;" in svg or b"&lt;tag&gt;" in svg
    assert b"$x$" in svg


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1", "\r=1"]


def test_csv_cells_that_would_start_a_formula_open_as_text():
    result = make_result(FORMULAS, [*FORMULAS, "</s>"])
    rows = list(csv.reader(io.StringIO(attention_csv(result))))
    assert [r[0] for r in rows[1:-1]] == ["'" + f for f in FORMULAS[:4]] + ["\\u0009=1", "\\u000d=1"]  # tab and CR written visibly
    assert all(not cell.startswith(FORMULA_START) for row in rows for cell in row[:1] + rows[0][1:])
    assert rows[0][1] == "0:" + FORMULAS[0]  # a position first: the header cell is text already


ESC_TOKEN = "red\x1b[31m\x9b2J"


def test_control_characters_are_visible_escapes_in_csv_and_json():
    result = make_result([ESC_TOKEN], [ESC_TOKEN, "</s>"])
    for text in (attention_csv(result), attention_json(result)):
        assert not any(0 <= ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in text)
    assert json.loads(attention_json(result))["target_tokens"][0] == "red\\u001b[31m\\u009b2J"


def test_a_right_to_left_override_is_a_visible_escape():
    """U+202E in a typed sentence turned the rest of the heatmap's title around."""
    from models.printable import printable

    assert printable("txet\u202e tab\u2067x\u200f") == "txet\\u202e tab\\u2067x\\u200f"


def test_a_failed_image_export_raises_instead_of_giving_an_empty_file(monkeypatch):
    from webapp import views

    fig = heatmap_figure(make_result(["a"], ["x"]))
    for failed in (None, b""):
        monkeypatch.setattr(views, "figure_image", lambda fig, fmt, failed=failed: failed)
        with pytest.raises(views.ImageExportError, match="could not render the PNG"):
            views.image_file(fig, "png")


@pytest.mark.browser
def test_a_token_holding_esc_exports_well_formed_svg_and_a_png():
    pytest.importorskip("kaleido")
    if not shutil.which("chromium"):
        pytest.skip("no chromium")
    fig = heatmap_figure(make_result([ESC_TOKEN, "b"], [ESC_TOKEN, "</s>"]))
    svg = figure_image(fig, "svg")
    assert svg is not None
    ElementTree.fromstring(svg)  # well-formed XML
    assert b"\\u001b" in svg
    png = figure_image(fig, "png")
    assert png is not None and png.startswith(b"\x89PNG") and len(png) > 1000


def test_export_file_names_name_the_view_model_and_sentence_in_safe_characters():
    from viz.export import file_stem

    assert file_stem("en-zh-dot-soft-guided", "I love you.") == "attention-en-zh-dot-soft-guided-i-love-you"
    assert file_stem("../x (uploaded 2)", "我爱你。<b>", kind="flow") == "flow-x-uploaded-2-我爱你-b"
    assert len(file_stem("m", "word " * 100)) <= 100


def test_the_json_export_names_the_model():
    data = json.loads(attention_json(make_result(["a"], ["x"]), model="en-zh-dot-soft"))
    assert data["model"] == "en-zh-dot-soft" and "attention" in data


def test_an_image_title_cuts_the_sentence_by_display_width_a_chinese_character_counting_two():
    from viz.export import image_title, text_width

    assert text_width("明天，ab") == 8  # 明 天 and the full-width comma take two each
    assert image_title("m", "明天考试，我要准备。", limit=9) == "m · 明天考试…"  # 4 × 2 + the ellipsis
    assert image_title("m", "abcdef", limit=4) == "m · abc…"
    assert image_title("m", "abc", limit=4) == "m · abc"  # fits: not cut
