"""The attention picker on Translate, its Heads view, and the Heads page, under AppTest, with a
tiny Transformer and a tiny GRU."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.tiny import make_translator
from models.checkpoint import save_checkpoint
from models.heads import STATISTICS
from tests.test_app_hardening import unescaped
from tests.test_app_pages import APP, TIMEOUT_S, assert_clean, charts, matrix, translate, unkeyed
from tests.test_heads import make_transformer
from webapp.heads import ROLLOUT
from webapp.registry import CHECKPOINTS_ENV

TRANSFORMER, GRU = "bundled/en-zh-transformer.safetensors", "bundled/en-zh-additive-soft.safetensors"
VIEWS = ["Heatmap", "Highlight", "Flow", "Step through", "Diagnostics", "Heads"]


@pytest.fixture
def app(monkeypatch, tmp_path: Path) -> AppTest:
    d = tmp_path / "checkpoints"
    save_checkpoint(make_transformer(), d / "en-zh-transformer.safetensors")
    save_checkpoint(make_translator(), d / "en-zh-additive-soft.safetensors")
    monkeypatch.setenv(CHECKPOINTS_ENV, str(d))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()


def use(at: AppTest, model: str) -> AppTest:
    return at.sidebar.selectbox(key="model").set_value(model).run()


def heatmap(at: AppTest) -> dict:
    return next(t for c in charts(at) for t in c["data"] if t["type"] == "heatmap")


def test_the_picker_feeds_the_heatmap_each_map_layer_and_head(app):
    at = translate(use(app, TRANSFORMER), "I love you .")
    assert_clean(at)
    assert at.segmented_control(key="translate_attn_map").options == ["cross", "encoder self", "decoder self"]
    S = 5  # I love you . </s>
    T = matrix(heatmap(at)).shape[0]
    assert matrix(heatmap(at)).shape == (T, S)
    at.segmented_control(key="translate_attn_map").set_value("encoder_self").run()
    at.selectbox(key="translate_attn_head_encoder_self").set_value(1).run()
    assert_clean(at)
    assert matrix(heatmap(at)).shape == (S, S)
    assert any("encoder self · layer 1 · head 2" in c.value for c in at.caption)
    assert any("one source token (a query)" in c.value for c in at.caption)  # not "one token the model wrote"
    assert not any("one token the model wrote:" in c.value for c in at.caption)
    at.selectbox(key="translate_attn_head_encoder_self").set_value(ROLLOUT).run()
    assert_clean(at)
    assert any("rollout" in c.value for c in at.caption)
    at.segmented_control(key="translate_attn_map").set_value("decoder_self").run()
    at.selectbox(key="translate_attn_head_decoder_self").set_value(0).run()
    assert_clean(at)
    fig = next(c for c in charts(at) if any(t["type"] == "heatmap" for t in c["data"]))
    assert matrix(heatmap(at)).shape == (T, T)
    assert fig["layout"]["xaxis"]["ticktext"][0] == "&lt;s&gt;"
    assert fig["layout"]["xaxis"]["title"]["text"] == "target so far (keys)"
    assert any("the tokens written before it" in c.value for c in at.caption)


@pytest.mark.parametrize("selection", [("encoder_self", "translate_attn_head_encoder_self", 0), ("decoder_self", "translate_attn_head_decoder_self", -1)])
def test_every_view_draws_a_selection(app, selection):
    label, key, head = selection
    at = translate(use(app, TRANSFORMER), "I love you .")
    at.segmented_control(key="translate_attn_map").set_value(label).run()
    at.selectbox(key=key).set_value(head).run()
    for view in VIEWS:
        at.session_state["translate_view"] = view
        at.run()
        assert_clean(at)
    assert unkeyed(at) == []


def test_the_heads_view_draws_the_grid_and_the_chosen_head_large(app):
    at = translate(use(app, TRANSFORMER), "I love you .")
    at.session_state["translate_view"] = "Heads"
    at.run()
    at.selectbox(key="translate_attn_head_cross").set_value(1).run()
    at.selectbox(key="translate_attn_layer_cross").set_value(1).run()
    assert_clean(at)
    grid, large = charts(at)[:2]
    assert len(grid["data"]) == 4 and grid["layout"]["coloraxis"]["cmax"] == 1
    assert len(grid["layout"]["shapes"]) == 1  # the chosen head outlined
    assert "<b>L2 H2</b>" in [a["text"] for a in grid["layout"]["annotations"]]
    assert len(large["data"]) >= 1
    at.toggle(key="heads_lines").set_value(True).run()
    assert_clean(at)
    assert any(t.get("mode") == "lines" for c in charts(at) for t in c["data"])
    assert any(c.value.startswith("Left: each row's token (a query)") for c in at.caption)  # the two columns explained
    assert unkeyed(at) == []


def test_the_heads_view_names_the_alignment_reading_it_draws_and_outlines_its_head(app):
    """Found by a fresh user: the large map was titled "Attention" and nothing was outlined."""
    from dataclasses import replace

    from models.nets import build_model
    from webapp.heads import alignment_cell

    at = translate(use(app, TRANSFORMER), "I love you .")
    at.session_state["translate_view"] = "Heads"
    at.run()
    assert_clean(at)
    assert [h.value for h in at.subheader] == ["Cross-attention: the alignment reading (the mean of layer 1's heads)"]  # the penultimate of 2
    assert not charts(at)[0]["layout"].get("shapes")  # a mean: no one head to outline
    one_head = make_transformer()
    one_head.model = build_model(replace(one_head.model.config, align_layer=0, align_head=1))
    assert alignment_cell(one_head) == (0, 1) and alignment_cell(make_transformer()) is None


def test_the_gru_has_no_picker_and_a_one_cell_grid(app):
    at = translate(use(app, GRU), "I love you .")
    assert_clean(at)
    assert not [w for w in at.segmented_control if w.key == "translate_attn_map"]
    at.session_state["translate_view"] = "Heads"
    at.run()
    assert_clean(at)
    assert len(charts(at)[0]["data"]) == 1


@pytest.mark.parametrize("model", [TRANSFORMER, GRU])
def test_the_heads_page_measures_on_demand_and_keeps_the_result(app, model):
    at = use(app, model).switch_page("pages/heads.py").run()
    assert_clean(at)
    assert not at.get("plotly_chart")
    at.slider(key="heads_sentences").set_value(10).run()
    at.button(key="heads_run").click().run()
    assert_clean(at)
    figs = charts(at)
    layers_heads = (2, 2) if model == TRANSFORMER else (1, 1)
    assert len(figs) == 6 and all(matrix(f["data"][0]).shape == layers_heads for f in figs)
    # in reading order, two to a row, so a phone (which stacks columns) keeps each pair together
    assert [html.unescape(f["layout"]["title"]["text"]).rstrip(" ↓↑") for f in figs] == [title for title, _ in STATISTICS.values()]
    assert at.success and "Best aligner" in at.success[0].value
    assert unkeyed(at) == []
    at.run()  # kept: no button needed
    assert len(charts(at)) == 6 and not [b for b in at.button if b.key == "heads_run"]


def test_compare_shows_a_gru_beside_a_chosen_transformer_head(app):
    at = app.switch_page("pages/compare.py").run()
    at.multiselect(key="compare_models_en_zh").set_value([GRU, TRANSFORMER]).run()
    at.text_input(key="compare_sentence").input("I love you .").run()
    assert_clean(at)
    pickers = [w for w in at.selectbox if w.key and w.key.endswith("_cross_head")]
    assert len(pickers) == 1  # the Transformer's only
    before = [matrix(c["data"][0]) for c in charts(at)]
    pickers[0].set_value((1, 0)).run()
    assert_clean(at)
    after = [matrix(c["data"][0]) for c in charts(at)]
    assert (before[0] == after[0]).all() and before[1].shape == after[1].shape and not (before[1] == after[1]).all()
    assert unkeyed(at) == []


def test_evaluate_shows_a_metric_the_transformer_lacks_as_a_dash(app):
    """A Transformer has no alignment posterior: its cell is empty, and the browser would draw an
    empty cell as "None" unless the table is given a placeholder."""
    at = app.switch_page("pages/evaluate.py").run()
    at.multiselect(key="evaluate_models").set_value([GRU, TRANSFORMER]).run()
    at.slider(key="evaluate_sentences").set_value(10).run()
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    measured = next(d.value for d in at.dataframe if "Sentences" in d.value.columns)
    assert measured["AER of the posterior"].isna().sum() == 1
    assert at.dataframe and all(d.proto.placeholder == "—" for d in at.dataframe)
    # and its chart leaves the Transformer out, saying so (an empty row read as 0)
    at.segmented_control(key="evaluate_chart_metric").set_value("AER of the posterior").run()
    chart = charts(at)[0]  # the chosen metric's chart, above the AER one
    assert [list(t["y"]) for t in chart["data"]] == [["en-zh-additive-soft"]]
    assert any(c.value.replace("\\", "").startswith("No AER of the posterior for en-zh-transformer") for c in at.caption)


def test_alignment_controls_are_offered_on_cross_attention_only(app):
    """Gold and eflomal links and the alignment posterior align source with target: a
    self-attention map has nothing of the kind, the encoder's does not depend on the rows, and
    a Transformer has no posterior (picking it raised a KeyError)."""
    at = use(app, GRU)
    at.selectbox(key="translate_example_en").set_value(0).run()
    at.segmented_control(key="translate_cells").set_value("Alignment posterior").run()  # kept for the session
    assert_clean(at)

    def shown(at: AppTest) -> set[str]:
        keys = {w.key for kind in ("toggle", "segmented_control") for w in at.get(kind)}
        return keys & {"translate_rows", "translate_links", "translate_aligner_links", "translate_cells"}

    assert shown(at) == {"translate_rows", "translate_links", "translate_aligner_links", "translate_cells"}
    use(at, TRANSFORMER)
    assert_clean(at)
    assert shown(at) == {"translate_rows", "translate_links", "translate_aligner_links"}
    assert heatmap(at)["colorbar"]["title"]["text"] == "weight"
    at.segmented_control(key="translate_attn_map").set_value("decoder_self").run()
    assert_clean(at)
    assert shown(at) == {"translate_rows"}
    assert not any("reference alignment" in c.value or "see the links" in c.value for c in at.caption)
    at.segmented_control(key="translate_attn_map").set_value("encoder_self").run()
    assert_clean(at)
    assert shown(at) == set()
    assert matrix(heatmap(at)).shape[0] == matrix(heatmap(at)).shape[1]


def test_compare_leaves_a_transformer_out_of_the_alignment_posterior_and_says_so(app):
    at = app.switch_page("pages/compare.py").run()
    at.multiselect(key="compare_models_en_zh").set_value([GRU, TRANSFORMER]).run()
    at.text_input(key="compare_sentence").input("I love you .").run()
    at.segmented_control(key="compare_cells").set_value("Alignment posterior").run()
    assert_clean(at)
    assert [heatmap_trace["colorbar"]["title"]["text"] for c in charts(at) for heatmap_trace in c["data"][:1]] == ["posterior"]
    assert any("no alignment posterior" in c.value and "en-zh-transformer" in unescaped(c.value) for c in at.caption)


def test_highlight_and_flow_name_a_self_attention_map_s_tokens_queries_and_keys(app):
    at = translate(use(app, TRANSFORMER), "I love you .")
    at.session_state["translate_view"] = "Highlight"
    at.run()
    assert at.segmented_control(key="highlight_by").options == ["a target token", "a source token"]
    at.segmented_control(key="translate_attn_map").set_value("encoder_self").run()
    assert_clean(at)
    assert at.segmented_control(key="highlight_by").options == ["a query token", "a key token"]
    assert at.selectbox(key="highlight_target").label.startswith("Query token (key tokens")
    rows = next(h.value for h in at.get("html") if ">key<" in h.value)  # the two token rows, labelled
    assert ">query<" in rows and ">target<" not in rows
    at.session_state["translate_view"] = "Flow"
    at.run()
    assert_clean(at)
    assert charts(at)[0]["layout"]["title"]["text"] == "Where each query token looked"


def test_step_through_has_no_steps_for_the_encoder_and_names_the_decoder_s_keys(app):
    at = translate(use(app, TRANSFORMER), "I love you .")
    at.segmented_control(key="translate_attn_map").set_value("encoder_self").run()
    at.session_state["translate_view"] = "Step through"
    at.run()
    assert_clean(at)
    assert not charts(at) and "no decoding steps" in at.info[0].value
    at.segmented_control(key="translate_attn_map").set_value("decoder_self").run()
    assert_clean(at)
    assert charts(at)[0]["layout"]["xaxis"]["title"]["text"] == "key token"
