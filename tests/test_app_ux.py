"""Issue 16: the first page, and the defects found using the app (AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bench.tiny import make_translator
from models.checkpoint import load_checkpoint, save_checkpoint
from tests.test_app_pages import APP, TIMEOUT_S, assert_clean, charts, hypothesis_picker, matrix, translate
from viz.heatmap import PHONE_PX
from webapp import registry, views
from webapp.registry import CHECKPOINTS_ENV
from webapp.text import plain


def with_metrics(scorer: str, mode: str, bleu: float | None, aer: float | None):
    t = make_translator(scorer, mode)
    if bleu is not None:
        t.meta["metrics"] = {"test": {"bleu": bleu, "aer": aer}}
    return t


@pytest.fixture
def ranked_dir(tmp_path: Path) -> Path:
    """Bundled models whose stored test metrics name a best one that is not the first file."""
    d = tmp_path / "checkpoints"
    for scorer, mode, bleu, aer in [("additive", "soft", 10.0, 0.4), ("dot", "soft", 12.0, 0.5), ("general", "soft", 12.0, 0.3),
                                    ("additive", "hard", None, None)]:
        save_checkpoint(with_metrics(scorer, mode, bleu, aer), d / f"en-zh-{scorer}-{mode}.safetensors")
    return d


def test_the_default_model_is_the_best_by_stored_bleu_then_aer(ranked_dir):
    best = registry.best_bundled(registry.bundled_entries(ranked_dir))
    assert best.label == "en-zh-general-soft"  # BLEU ties with dot; lower AER wins


def test_the_first_page_opens_on_the_best_model_with_a_translated_example(monkeypatch, ranked_dir):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(ranked_dir))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="model").value == "bundled/en-zh-general-soft.safetensors"
    assert at.text_input(key="translate_sentence").value  # no typing needed
    assert charts(at)[0]["data"][0]["type"] == "heatmap"
    captions = " ".join(c.value for c in at.caption)
    assert "wrong translations are expected" in captions
    assert "computed before the token was chosen" in captions
    # the address keeps model, sentence and view
    assert at.query_params["model"] == "bundled/en-zh-general-soft.safetensors"
    assert at.query_params["s"] == at.text_input(key="translate_sentence").value
    assert at.query_params["view"] == "Heatmap"


@pytest.fixture
def app(monkeypatch, tiny_checkpoint_dir: Path) -> AppTest:
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()


def test_a_shared_address_opens_its_model_sentence_and_view(monkeypatch, tiny_checkpoint_dir):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params.update({"model": "bundled/en-zh-dot-soft.safetensors", "s": "the cat", "view": "Flow"})
    at.run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="model").value == "bundled/en-zh-dot-soft.safetensors"
    assert at.text_input(key="translate_sentence").value == "the cat"
    assert at.segmented_control(key="translate_view").value == "Flow"


def test_beam_picker_after_a_model_switch_shows_the_new_model_s_hypotheses_and_rank_scores(app, tiny_checkpoint_dir):
    general = tiny_checkpoint_dir / "en-zh-general-soft.safetensors"
    tr = load_checkpoint(general)
    tr.meta["decoding"] = {"length_alpha": 1.5, "coverage_beta": 0.2}  # a model with a ranking of its own
    save_checkpoint(tr, general)
    at = translate(app, "I love you.")
    at.segmented_control(key="translate_decoding").set_value("Beam search").run()
    first = hypothesis_picker(at)
    shown_before = list(first.options)
    at.sidebar.selectbox(key="model").set_value("bundled/en-zh-general-soft.safetensors").run()
    assert_clean(at)
    picker = hypothesis_picker(at)
    # a new widget for the new model: the browser kept showing the old one's chosen text under the old key
    assert picker.key != first.key and picker.index == 0
    assert shown_before and all("rank score" in o for o in picker.options)
    # each model's own ranking, spelled out
    assert "log-prob / tokens^0.6 (" in first.help and "coverage penalty" not in first.help
    assert "log-prob / tokens^1.5 + 0.2 × coverage penalty" in picker.help


@pytest.mark.parametrize("view", ["Heatmap", "Highlight"])
def test_segmented_controls_cannot_be_switched_off(app, view):
    """Every segmented control is required: clicking the chosen option keeps it (the browser
    enforces it; the protocol flag is what AppTest can see)."""
    at = translate(app, "I love you.")
    at.segmented_control(key="translate_view").set_value(view).run()
    controls = at.segmented_control
    assert len(controls) >= 2
    assert all(c.proto.required for c in controls), [c.key for c in controls if not c.proto.required]


def test_token_probabilities_can_be_shown_without_hovering_numbered_from_step_1(app):
    at = translate(app, "I love you.")
    at.toggle(key="translate_probs").set_value(True).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["Token", "Probability"] and len(table) >= 1
    assert list(table.index) == list(range(1, len(table) + 1))  # as Step through and Highlight number them


def test_two_uploads_with_one_file_name_get_distinct_labels(tmp_path):
    store = registry.UploadStore()
    a = store.add("model.safetensors", save_checkpoint(make_translator("dot"), tmp_path / "a.safetensors").read_bytes())
    b = store.add("model.safetensors", save_checkpoint(make_translator("general"), tmp_path / "b.safetensors").read_bytes())
    assert a.label != b.label


@pytest.mark.parametrize("view, key", [("Heatmap", "translate_heatmap"), ("Highlight", "highlight"), ("Flow", "flow"),
                                       ("Step through", "steps"), ("Diagnostics", "diagnostics")])
def test_every_translate_view_exports_csv_and_json(app, view, key):
    at = translate(app, "I love you.")
    at.segmented_control(key="translate_view").set_value(view).run()
    assert_clean(at)
    keys = {b.key for b in at.get("download_button")}
    assert {f"{key}_csv", f"{key}_json"} <= keys


def test_charts_save_pngs_named_by_model_and_sentence(app):
    at = translate(app, "I love you.")
    model = at.sidebar.selectbox(key="model").value.removeprefix("bundled/").removesuffix(".safetensors")
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["format"] == "png"  # drawn by the browser, with its fonts
    assert config["toImageButtonOptions"]["filename"] == f"attention-{model}-i-love-you"
    title = charts(at)[0]["layout"]["title"]["text"]
    assert model in title and "I love you." in title


def test_compare_s_difference_map_exports_and_fits_a_phone(monkeypatch, app):
    at = translate(app, "the cat sat on the mat and the dog ran home")
    at.switch_page("pages/compare.py").run()
    at.segmented_control(key="compare_view").set_value("Difference").run()
    assert_clean(at)
    assert {"compare_difference_csv", "compare_difference_json"} <= {b.key for b in at.get("download_button")}
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["filename"].startswith("difference-")
    monkeypatch.setattr(views, "chart_width", lambda columns=1: PHONE_PX)
    at.run()
    fig = charts(at)[0]
    assert fig["layout"]["title"]["text"] == "A − B"
    assert not fig["data"][0].get("texttemplate")  # no values printed over narrow cells


def test_hard_attention_shows_the_distribution_it_picked_from(app):
    at = app.selectbox(key="model").set_value("bundled/en-zh-additive-hard.safetensors").run()
    at = translate(at, "I love you.")
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 2  # the one-hot choice and the distribution
    picks = at.dataframe[0].value
    assert "Probability" in picks.columns
    assert ((picks["Probability"] > 0) & (picks["Probability"] <= 1)).all()
    assert picks.index[0] == 1
    rows = matrix(charts(at)[1]["data"][0])
    assert np.allclose(rows.sum(axis=1), 1.0, atol=1e-3) and (rows.max(axis=1) < 1.0).any()


def test_statistics_never_show_minus_zero():
    assert views.number(-1e-9) == "0.000" and views.number(-0.5) == "-0.500" and views.number(3) == "3"
    assert views.number("?") == "“?”"  # a token: quoted, not taken for a missing value


def test_evaluate_on_few_sentences_says_how_many_and_shows_intervals(app):
    at = app.switch_page("pages/evaluate.py").run()
    at.multiselect(key="evaluate_models").set_value(["bundled/en-zh-dot-soft.safetensors"]).run()
    at.slider(key="evaluate_sentences").set_value(10).run()
    assert at.button(key="evaluate_run").label.startswith("Evaluate 1 model on ")
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert any("Measured on 10 test sentences " in c.value for c in at.caption)  # a plural, not "sentence(s)"
    spread = at.dataframe[-1].value
    assert "AER (95% interval)" in spread.columns
    low, high = (float(x) for x in spread.loc["en-zh-dot-soft", "AER (95% interval)"].split(" – "))
    assert 0 <= low <= high <= 1


def test_a_junk_pt_upload_is_refused_as_a_pt_file(app):
    from tests.test_app_hardening import unescaped

    at = app.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoint_upload").set_value(("model.pt", b"not a model at all" * 8, "application/octet-stream")).run()
    assert not at.exception
    message = unescaped(at.error[0].value)
    assert "model.pt was refused: .pt files" in message and "header" not in message


def test_a_one_epoch_model_s_history_is_a_table_not_an_empty_chart(app, tmp_path):
    t = make_translator("cosine", "soft", seed=3)
    t.meta["training"] = {"epochs_run": 1, "history": [{"epoch": 1, "train_loss": 5.0, "dev_loss": 4.0, "dev_bleu": 0.5}]}
    path = save_checkpoint(t, tmp_path / "one.safetensors")
    at = app.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoint_upload").set_value(("one.safetensors", path.read_bytes(), "application/octet-stream")).run()
    assert_clean(at)
    assert not at.get("arrow_vega_lite_chart")
    assert any("one epoch" in c.value for c in at.caption)


def test_the_model_picker_s_help_says_uploads_come_first(app):
    assert "uploads" in app.sidebar.selectbox(key="model").help.split("first")[0]


def test_a_long_sentence_stays_out_of_the_address(app):
    at = translate(app, "tea " * 200)
    assert_clean(at)
    assert "s" not in at.query_params and at.query_params["view"] == "Heatmap"


def test_the_heatmap_title_fits_a_phone(monkeypatch, app):
    monkeypatch.setattr(views, "chart_width", lambda columns=1: PHONE_PX)
    at = translate(app, "There is a test tomorrow, I need to prepare.")
    title = charts(at)[0]["layout"]["title"]["text"]
    assert len(title) <= views.TITLE_CHARS_PHONE and title.endswith("…")


def test_a_shared_address_naming_a_model_that_is_not_here_says_so(monkeypatch, tiny_checkpoint_dir):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params.update({"model": "upload/1-*mine*.safetensors", "s": "the cat"})
    at.run()
    assert_clean(at)
    shown = plain("upload/1-*mine*.safetensors")  # as text: the stars are not Markdown
    assert any(shown in w.value and "not have" in w.value for w in at.main.warning)
    picker = at.sidebar.selectbox(key="model")
    other = next(m for m in ("bundled/en-zh-dot-soft.safetensors", "bundled/en-zh-general-soft.safetensors") if m != picker.value)
    picker.set_value(other).run()
    assert not any("not have" in w.value for w in at.warning)  # gone once the user picks a model
