"""Downloads: CSV and JSON parse back to the attention; image export degrades to None."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys

import numpy as np
import pytest

from tests.conftest import make_translator
from tests.test_viz_samples import TRICKY, make_result
from viz import attention_csv, attention_json, figure_image, heatmap_figure


def test_csv_round_trips_to_the_attention_with_positions_keeping_repeats_apart():
    result = make_result(["the", 'say "hi", ok', "the"], ["x", "x,\ny", "</s>"])
    rows = list(csv.reader(io.StringIO(attention_csv(result))))
    assert rows[0] == ["target", "0:the", '1:say "hi", ok', "2:the", "3:</s>"]
    assert [r[0] for r in rows[1:]] == ["x", "x,\ny", "</s>"]
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
