"""The Streamlit app under AppTest: every page, the translate flow, model switching, uploads.

Bundled models come from the tiny random checkpoints of ``tiny_checkpoint_dir``; example
sentences and references from the HSK test split (the corpus package is a dependency).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bench.tiny import make_translator
from models.checkpoint import save_checkpoint
from models.tokenize import tokenizer_for
from models.translator import MAX_SOURCE_TOKENS, REPORTED_BEAM, Translator
from tests.test_app_hardening import unescaped
from webapp import inference, views
from webapp.registry import CHECKPOINTS_ENV

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGES = ["pages/translate.py", "pages/compare.py", "pages/checkpoints.py", "pages/evaluate.py", "pages/heads.py", "pages/about.py"]
TIMEOUT_S = 180  # the first run loads the HSK corpus once per process
WIDGETS = ["button", "checkbox", "date_input", "download_button", "file_uploader", "multiselect", "number_input", "radio",
           "segmented_control", "select_slider", "selectbox", "slider", "text_area", "text_input", "toggle"]


@pytest.fixture
def app(monkeypatch, tiny_checkpoint_dir: Path) -> AppTest:
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()


def translate(at: AppTest, text: str) -> AppTest:
    return at.text_input(key="translate_sentence").input(text).run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> list[dict]:
    """The figures sent to the browser, as Plotly JSON."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def matrix(trace: dict) -> np.ndarray:
    """A trace's z, which Plotly sends as a typed array (base64 bytes, dtype, shape)."""
    z = trace["z"]
    shape = [int(n) for n in str(z["shape"]).split(",")]
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)


def hypothesis_picker(at: AppTest):
    """Translate's beam hypothesis picker (its key names the model)."""
    return next(w for w in at.selectbox if str(w.key).startswith("translate_hypothesis"))


def unkeyed(at: AppTest) -> list[str]:
    return [f"{kind}: {w.label}" for kind in WIDGETS for w in at.get(kind) if not w.key]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(app, page):
    at = app.switch_page(page).run()
    assert_clean(at)
    assert at.title and at.title[0].value
    # drawn in the frame (webapp/frame.py), although AppTest routes every run through Streamlit's
    # legacy pages/ router, which runs the page file without app.py; and it stays on this page
    title = at.title[0].value
    assert at.sidebar.selectbox(key="model").value
    at.run()
    assert at.title[0].value == title and at.sidebar.selectbox(key="model").value


@pytest.mark.parametrize("page", PAGES)
def test_a_session_that_starts_on_a_page_gets_the_frame(monkeypatch, tiny_checkpoint_dir: Path, page):
    """The first run of a session opened at a page URL, as on a fresh server (webapp/frame.py)."""
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).switch_page(page).run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="model").value
    assert at.title[0].value == Path(page).stem.title()


def test_every_widget_on_every_page_and_view_has_a_key(app):
    at = translate(app, "I love you.")
    missing = unkeyed(at)
    for view in ["Highlight", "Flow", "Step through", "Diagnostics"]:
        at.session_state["translate_view"] = view
        missing += unkeyed(at.run())
    for page in PAGES[1:]:
        missing += unkeyed(at.switch_page(page).run())
    assert missing == []


def test_a_typed_sentence_gives_a_translation_and_a_heatmap(app):
    at = translate(app, "I love you.")
    assert_clean(at)
    heatmap = charts(at)[0]["data"][0]
    assert heatmap["type"] == "heatmap"
    assert matrix(heatmap).shape[1] == 5  # I love you . </s>
    assert any("title=\"p = " in h.proto.body for h in at.html)
    chart = at.get("plotly_chart")[0].proto
    assert chart.theme == ""  # theme=None: the figure's own look, which Streamlit's theme would rewrite


def test_empty_input_asks_for_a_sentence(app):
    at = translate(app, "   ")
    assert_clean(at)
    assert "Type a sentence" in at.info[0].value
    assert not at.get("plotly_chart")


def test_a_long_input_is_cut_with_a_visible_note(app):
    at = translate(app, " ".join(["cat"] * (MAX_SOURCE_TOKENS + 20)))
    assert_clean(at)
    assert f"only the first {MAX_SOURCE_TOKENS}" in at.warning[0].value


@pytest.mark.parametrize("text", [("the cat sat on the mat . " * 200)[:5000], " ".join(["tea"] * 500)], ids=["5,000 characters", "500 words"])
@pytest.mark.parametrize("page", ["pages/translate.py", "pages/compare.py"])
def test_a_very_long_paste_reaches_the_translator_whole_and_is_cut_with_a_note(app, page, text):
    at = app.switch_page(page).run()
    key = f"{Path(page).stem}_sentence"
    assert not at.text_input(key=key).proto.max_chars  # a browser would cut the paste there, silently
    at = at.text_input(key=key).input(text).run()
    assert_clean(at)
    assert at.text_input(key=key).value == text
    tokens = len(tokenizer_for("en").tokenize(text))
    assert [w.value for w in at.warning] == [f"The input has {tokens} tokens; only the first {MAX_SOURCE_TOKENS} were translated."]
    assert at.get("plotly_chart")


def test_a_paste_longer_than_the_box_keeps_is_cut_there_with_a_note(app):
    at = translate(app, "tea " * 250_000)  # 1,000,000 characters
    assert_clean(at)
    assert at.text_input(key="translate_sentence").value == ("tea " * 250_000)[: views.MAX_INPUT_CHARS]
    assert at.warning[0].value == f"The text has 1,000,000 characters; only the first {views.MAX_INPUT_CHARS:,} are kept."
    assert f"only the first {MAX_SOURCE_TOKENS} were translated" in at.warning[1].value
    assert at.get("plotly_chart")
    # the cut sentence (and its note) carry over to Compare; a short one clears the note
    at = at.switch_page("pages/compare.py").run()
    assert len(at.text_input(key="compare_sentence").value) == views.MAX_INPUT_CHARS
    assert at.warning[0].value.startswith("The text has 1,000,000 characters")
    at = at.text_input(key="compare_sentence").input("I love you.").run()
    assert_clean(at)
    assert not at.warning


def test_unknown_words_are_named(app):
    at = translate(app, "I love zebras.")
    assert any("zebras" in c.value and "vocabulary" in c.value for c in at.caption)
    assert not at.warning


def test_a_chinese_sentence_typed_into_a_model_that_reads_english_gets_a_warning(app):
    at = translate(app, "我爱北京。")
    assert_clean(at)
    assert any("reads English" in w.value and "Chinese characters" in w.value for w in at.warning)


def test_translate_and_compare_pick_their_view_with_a_segmented_control_that_starts_on_the_heatmaps(app):
    at = translate(app, "I love you.")
    picker = at.segmented_control(key="translate_view")
    assert picker.value == "Heatmap" and picker.options[0] == "Heatmap"
    assert not at.get("tab")  # views.view_picker: no tab panels
    at = at.switch_page("pages/compare.py").run()
    assert at.segmented_control(key="compare_view").value == "Side by side"
    assert_clean(at)


@pytest.mark.parametrize("view, charts", [("Highlight", 0), ("Flow", 1), ("Step through", 2), ("Diagnostics", 2)])
def test_every_translate_view_draws(app, view, charts):
    at = translate(app, "I love you.")
    at.session_state["translate_view"] = view
    at.run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == charts
    if view == "Highlight":
        assert any("you" in h.proto.body for h in at.html[1:])


def test_step_slider_moves_through_the_decoding_steps(app):
    at = translate(app, "I love you.")
    at.session_state["translate_view"] = "Step through"
    at.run()
    first = charts(at)[0]["layout"]["title"]["text"]
    at.select_slider(key="step_slider").set_value(1).run()
    assert_clean(at)
    assert charts(at)[0]["layout"]["title"]["text"] != first


def test_translate_and_compare_open_on_beam_search_of_the_reported_beam_size(app, monkeypatch):
    beams = []  # the beam size of every translation the pages ask for
    translate = inference.translate
    monkeypatch.setattr(inference, "translate", lambda *a, **k: beams.append(a[3] if len(a) > 3 else 1) or translate(*a, **k))
    assert app.segmented_control(key="translate_decoding").value == "Beam search"
    assert app.slider(key="translate_beam").value == REPORTED_BEAM
    at = app.run()
    assert beams == [REPORTED_BEAM]
    at = at.segmented_control(key="translate_decoding").set_value("Greedy").run()
    assert_clean(at)
    assert not any(s.key == "translate_beam" for s in at.slider)
    assert not any(str(w.key).startswith("translate_hypothesis") for w in at.selectbox)
    at = at.switch_page("pages/compare.py").run()
    assert at.segmented_control(key="compare_decoding").value == "Beam search"
    assert at.slider(key="compare_beam").value == REPORTED_BEAM
    models = len(at.dataframe[0].value)
    assert beams[-models:] == [REPORTED_BEAM] * models
    at = at.segmented_control(key="compare_decoding").set_value("Greedy").run()
    assert_clean(at)
    assert not any(s.key == "compare_beam" for s in at.slider)
    assert beams[-models:] == [1] * models


def test_beam_search_shows_every_hypothesis_with_its_attention(app):
    at = translate(app, "I love you.")
    at.segmented_control(key="translate_decoding").set_value("Beam search").run()
    at.slider(key="translate_beam").set_value(3).run()
    assert_clean(at)
    hypotheses = len(hypothesis_picker(at).options)
    assert hypotheses > 1
    at.session_state["translate_view"] = "Diagnostics"
    at.run()
    assert len(at.get("plotly_chart")) == 2  # the hypotheses' heatmaps wait for the toggle
    at.toggle(key="diagnostics_beams").set_value(True).run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 2 + hypotheses


def test_switching_models_changes_language_and_controls(app):
    at = app.selectbox(key="model").set_value("bundled/zh-en-additive-soft.safetensors").run()
    assert_clean(at)
    assert at.text_input(key="translate_sentence").label == "Sentence in Chinese"
    at = app.selectbox(key="model").set_value("bundled/en-zh-additive-hard.safetensors").run()
    assert at.text_input(key="translate_sentence").label == "Sentence in English"
    at = translate(at, "I love you.")
    at.segmented_control(key="translate_hard").set_value("sample").run()
    assert_clean(at)
    assert at.number_input(key="translate_seed").value == 0
    rows = matrix(charts(at)[0]["data"][0])
    assert (rows.max(axis=1) == 1.0).all()  # hard attention: one source token per step


def test_a_model_of_another_language_gets_a_sentence_in_its_language_and_the_typed_one_comes_back(app):
    at = translate(app, "I love you.")
    at = at.selectbox(key="model").set_value("bundled/zh-en-additive-soft.safetensors").run()
    assert_clean(at)
    chinese = at.text_input(key="translate_sentence").value
    assert chinese and not any(ch.isascii() and ch.isalpha() for ch in chinese)  # an example in Chinese, not the English text
    assert any("the English sentence comes back when a model that reads English is chosen" in c.value for c in at.caption)
    at = at.selectbox(key="model").set_value("bundled/en-zh-dot-soft.safetensors").run()
    assert at.text_input(key="translate_sentence").value == "I love you."  # what was typed comes back


def test_picking_an_example_fills_the_box_and_offers_reference_links(app):
    at = app
    picker = at.selectbox(key="translate_example_en")
    picker.set_value(picker.options and 0).run()
    assert_clean(at)
    assert at.text_input(key="translate_sentence").value
    at.segmented_control(key="translate_rows").set_value("Reference translation (teacher-forced)").run()
    assert_clean(at)
    assert at.toggle(key="translate_links").value
    names = [t.get("name", "") for t in charts(at)[0]["data"]]
    assert any(n.startswith("gold sure") for n in names)
    assert not any(n.startswith("eflomal") for n in names)
    at.toggle(key="translate_aligner_links").set_value(True).run()
    assert_clean(at)
    names = [t.get("name", "") for t in charts(at)[0]["data"]]
    assert any(n.startswith("eflomal") for n in names)


def test_the_heatmap_can_show_the_alignment_posterior_instead_of_attention(app):
    at = translate(app, "I love you.")
    attention = matrix(charts(at)[0]["data"][0])
    at.segmented_control(key="translate_cells").set_value(views.CELLS_POSTERIOR).run()
    assert_clean(at)
    posterior = matrix(charts(at)[0]["data"][0])
    assert posterior.shape == attention.shape
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-3)
    assert not np.allclose(posterior, attention, atol=1e-3)
    assert any("posterior" in c.value for c in at.caption)
    assert charts(at)[0]["data"][0]["colorbar"]["title"]["text"] == "posterior"
    assert at.download_button(key="translate_heatmap_csv").proto.label == "Posterior CSV"


def test_the_example_pickers_show_the_example_the_sentence_is_and_nothing_once_it_is_edited(app):
    at = app
    picker = at.selectbox(key="translate_example_en")
    picker.set_value(picker.options and 0).run()
    picked = at.selectbox(key="translate_example_en").value
    at = at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="compare_example_en").value == picked  # the sentence carried over is that example
    at.text_input(key="compare_sentence").input("I love you.").run()
    assert_clean(at)
    assert at.selectbox(key="compare_example_en").value is None


def test_the_sentence_carries_over_to_compare_with_a_heatmap_per_model(app):
    at = translate(app, "I love you.").switch_page("pages/compare.py").run()
    assert_clean(at)
    chosen = at.multiselect(key="compare_models_en_zh").value
    assert len(chosen) == 3  # the en-zh soft scorers among the tiny models: dot, general, additive
    assert len(at.get("plotly_chart")) == len(chosen)
    assert all(matrix(fig["data"][0]).shape[1] == 5 for fig in charts(at))


def test_compare_offers_first_the_models_of_the_sidebar_model_s_direction(app):
    at = app.selectbox(key="model").set_value("bundled/zh-en-additive-soft.safetensors").run()
    at = at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert at.multiselect(key="compare_models_zh_en").value == ["bundled/zh-en-additive-soft.safetensors"]
    at = at.selectbox(key="model").set_value("bundled/en-zh-dot-soft.safetensors").run()  # the sidebar, on Compare
    assert "bundled/en-zh-dot-soft.safetensors" in at.multiselect(key="compare_models_en_zh").value


def test_compare_can_show_every_model_s_alignment_posterior(app):
    at = translate(app, "I love you.").switch_page("pages/compare.py").run()
    attention = [matrix(fig["data"][0]) for fig in charts(at)]
    at.segmented_control(key="compare_cells").set_value(views.CELLS_POSTERIOR).run()
    assert_clean(at)
    posterior = [matrix(fig["data"][0]) for fig in charts(at)]
    assert len(posterior) == len(attention) == 3
    for a, p in zip(attention, posterior):
        assert p.shape == a.shape
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-3)
        assert not np.allclose(p, a, atol=1e-3)


@pytest.mark.parametrize("view, charts", [("Difference", 1), ("Soft vs hard", 2)])
def test_compare_difference_and_soft_vs_hard_draw(app, view, charts):
    at = translate(app, "I love you.").switch_page("pages/compare.py").run()
    at.session_state["compare_view"] = view
    at.run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == charts


def test_each_compared_heatmap_can_be_downloaded(app):
    at = translate(app, "I love you.").switch_page("pages/compare.py").run()
    at.session_state["compare_heatmap_1_download"] = True
    at.run()
    assert_clean(at)
    keys = [b.key for b in at.download_button]
    assert {"compare_heatmap_1_csv", "compare_heatmap_1_json"} <= set(keys)
    assert not any(k.startswith("compare_heatmap_0") for k in keys)


def test_a_bad_upload_shows_the_loader_message_and_the_app_keeps_running(app):
    at = app.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoint_upload").set_value(("broken.safetensors", b"\x00" * 64, "application/octet-stream")).run()
    assert not at.exception
    assert "broken.safetensors could not be loaded: it is not a checkpoint saved by this project's trainer" in unescaped(at.error[0].value)
    assert not any("(uploaded)" in o for o in at.selectbox(key="model").options)
    translate(at.switch_page("pages/translate.py").run(), "I love you.")
    assert_clean(at)
    assert at.get("plotly_chart")


def test_an_uploaded_model_joins_the_pickers_and_translates(app, tmp_path):
    path = save_checkpoint(make_translator("cosine", "soft", seed=7), tmp_path / "mine.safetensors")
    at = app.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoint_upload").set_value(("mine.safetensors", path.read_bytes(), "application/octet-stream")).run()
    assert_clean(at)
    assert "mine (uploaded)" in at.selectbox(key="model").options
    assert "cosine" in at.table[0].value.to_string()  # its model card
    at.button(key="use_upload").click().run()
    assert at.title[0].value == "Translate"
    assert at.selectbox(key="model").value.startswith("upload/")
    # AppTest keeps requesting the page it was last switched to; follow the app's switch.
    at = translate(at.switch_page("pages/translate.py").run(), "I love you.")
    assert_clean(at)
    assert "cosine" in at.caption[0].value
    assert at.get("plotly_chart")


def test_removing_an_upload_takes_it_out_of_the_pickers(app, tiny_checkpoint):
    at = app.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoint_upload").set_value(("tiny.safetensors", tiny_checkpoint.read_bytes(), "application/octet-stream")).run()
    at.button(key="use_upload").click().run()
    at.switch_page("pages/checkpoints.py").run()
    at.button(key="remove_0").click().run()
    assert_clean(at)
    assert not any("(uploaded)" in o for o in at.selectbox(key="model").options)


def test_bundled_models_are_listed_with_cards(app):
    at = app.switch_page("pages/checkpoints.py").run()
    assert [unescaped(e.label) for e in at.expander] == ["en-zh-dot-soft", "en-zh-general-soft", "en-zh-additive-soft", "en-zh-additive-hard", "zh-en-additive-soft"]
    at.session_state["bundled_card_3"] = True
    at.run()
    assert_clean(at)
    card = at.table[0].value.to_string()
    assert "hard" in card and "additive" in card


def test_evaluate_computes_on_demand_and_keeps_the_result(app):
    at = app.switch_page("pages/evaluate.py").run()
    at.multiselect(key="evaluate_models").set_value(["bundled/en-zh-dot-soft.safetensors"]).run()
    at.slider(key="evaluate_sentences").set_value(10).run()
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert not at.button  # the finished run redraws the page without its button
    table = next(d.value for d in at.dataframe if "BLEU" in d.value.columns and "Sentences" in d.value.columns)
    assert list(table.index) == ["en-zh-dot-soft"]
    assert {"BLEU", "AER", "Mean entropy (nats)", "ms / sentence"} <= set(table.columns)
    assert table.loc["en-zh-dot-soft", "Sentences"] == 10
    metric, aer = charts(at)  # the chosen metric (BLEU first); AER of attention and posterior beside eflomal and the diagonal
    assert [t["name"] for t in metric["data"]] == ["BLEU"]
    assert [t["name"] for t in aer["data"]] == ["attention", "posterior", "baseline"]
    assert not at.run().button  # nothing left to compute for this setting: the result is kept


def test_evaluate_with_no_model_chosen_says_what_to_do(app):
    at = app.switch_page("pages/evaluate.py").run()
    at.multiselect(key="evaluate_models").set_value([]).run()
    assert_clean(at)
    assert any("Choose at least one model" in i.value for i in at.info)


def test_about_renders_each_scorer_formula_as_latex(app):
    from models.nets.scorers import SCORERS

    at = app.switch_page("pages/about.py").run()
    formulas = [x.value.strip("$").strip() for x in at.latex]
    assert all(cls.formula in formulas for cls in SCORERS.values())
    assert "Start on **Translate**" in at.markdown[0].value  # a new user reads what the app is and what to try first
    assert "section 6" in at.markdown[1].value  # the GRU-only introduction points to the Transformer's section
    assert not any("\t" in m.value for m in at.markdown)  # "\top" in a plain string: a tab, and "v^ op" on the page


def test_cuda_is_offered_only_when_available(monkeypatch, app):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    at = app.run()
    assert at.radio(key="device").options == ["auto", "cpu"]
    assert "not available" in at.sidebar.caption[0].value


def test_a_failing_model_shows_an_error_instead_of_a_traceback(monkeypatch, app):
    def broken(self, *args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(Translator, "translate", broken)
    at = translate(app, "a sentence no other test translates")
    assert not at.exception
    assert "CUDA out of memory" in at.error[0].value
    assert at.title[0].value == "Translate"


def test_a_rerun_with_the_same_inputs_translates_and_draws_nothing_again(monkeypatch, app):
    calls, drawn = [], []
    original, draw = Translator.translate, views.heatmap_figure

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    def counting_heatmap(*args, **kwargs):
        drawn.append(args)
        return draw(*args, **kwargs)

    monkeypatch.setattr(Translator, "translate", counting)
    monkeypatch.setattr(views, "heatmap_figure", counting_heatmap)
    at = translate(app, "counting calls for this sentence only")
    at.run()
    at.session_state["translate_view"] = "Flow"
    at.run()
    at.session_state["translate_view"] = "Heatmap"
    at.run()
    assert_clean(at)
    assert len(calls) == 1
    assert len(drawn) == 1


def test_evaluate_offers_a_model_s_word_alignments_read_one_way_or_both(app, tiny_checkpoint_dir):
    from models.alignments import read_pharaoh
    from models.checkpoint import load_checkpoint
    from webapp import corpus, evaluation

    at = app.switch_page("pages/evaluate.py").run()
    assert_clean(at)
    at.selectbox(key="evaluate_align_model").set_value("en-zh-dot-soft").run()
    assert at.selectbox(key="evaluate_align_reverse").options[1:] == ["zh-en-additive-soft"]  # the opposite direction only
    at.selectbox(key="evaluate_align_reverse").set_value("zh-en-additive-soft").run()
    at.segmented_control(key="evaluate_align_reading").set_value("posterior").run()
    assert_clean(at)
    assert not at.info  # both GRUs have a posterior: the download is offered
    # the file its button makes: one line per test pair, every link inside its pair's tokens
    tr = load_checkpoint(tiny_checkpoint_dir / "en-zh-dot-soft.safetensors")
    back = load_checkpoint(tiny_checkpoint_dir / "zh-en-additive-soft.safetensors")
    examples = corpus.test_examples("en-zh")[:5]
    path = tiny_checkpoint_dir / "links.en-zh"
    path.write_text(evaluation.alignment_file(tr, examples, "posterior", [back]), encoding="utf-8")
    links = read_pharaoh(path)
    assert len(links) == len(examples)
    for x, pair in zip(examples, links):
        n_en, n_zh = len(tr.src_tokenizer.tokenize(x.source)), len(tr.tgt_tokenizer.tokenize(x.target))
        assert all(0 <= i < n_en and 0 <= j < n_zh for i, j in pair)
