"""Per-head views: select() of decoder self-attention, rollout, head statistics, the grid, the
head view and the statistics matrices, on tiny models of both families."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.tiny import make_translator
from models.alignments import Reference
from models.heads import HeadStatistics, dev_chosen_heads, head_statistics, is_punctuation, rollout, rollout_result
from models.nets import build_model
from models.result import MEAN, START, Selection, select
from models.translator import Translator
from viz.heads import grid_figure, head_view_figure, map_axes, stats_figure
from viz.heatmap import heatmap_figure


def make_transformer(seed: int = 0, layers: int = 2, heads: int = 2) -> Translator:
    """A tiny random Transformer over bench.tiny's toy vocabulary."""
    t = make_translator(seed=seed)
    torch.manual_seed(seed)
    cfg = replace(t.model.config, family="transformer", hidden=16, layers=layers, heads=heads, ff_dim=32)
    return Translator(build_model(cfg).eval(), t.src_vocab, t.tgt_vocab, t.src_tokenizer, t.tgt_tokenizer, "en", "zh",
                      meta={"name": "tiny-transformer", "training": {"corpus": "toy"}, "metrics": {}})


@pytest.fixture(scope="module")
def transformer() -> Translator:
    return make_transformer()


def test_rollout_of_a_hand_example():
    # one head per layer; layer 1 sends token 0 to token 1, layer 2 averages
    a1 = np.array([[0.0, 1.0], [0.0, 1.0]])
    a2 = np.array([[0.5, 0.5], [0.5, 0.5]])
    r = rollout(np.stack([a1[None], a2[None]]))
    A1 = (a1 + np.eye(2)) / 2  # [[.5, .5], [0, 1]]
    A2 = (a2 + np.eye(2)) / 2  # [[.75, .25], [.25, .75]]
    np.testing.assert_allclose(r[0], A1, atol=1e-6)
    np.testing.assert_allclose(r[1], A2 @ A1, atol=1e-6)
    np.testing.assert_allclose(r[1], [[0.375, 0.625], [0.125, 0.875]], atol=1e-6)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-6)


def test_rollout_averages_heads_and_refuses_cross_shapes():
    heads = np.stack([np.eye(3), np.full((3, 3), 1 / 3)])[None]  # (1, 2, 3, 3)
    expected = (heads[0].mean(0) + np.eye(3)) / 2
    np.testing.assert_allclose(rollout(heads)[0], expected, atol=1e-6)
    with pytest.raises(ValueError):
        rollout(np.ones((1, 1, 3, 4)))


def test_rollout_result_draws_the_source_on_both_axes(transformer):
    r = transformer.translate("I love you .")
    out = rollout_result(r)
    assert out.best.tokens == r.source_tokens and out.best.attention.shape == (len(r.source_tokens),) * 2
    assert out.cells.startswith("rollout")
    heatmap_figure(out, 0)


def test_select_labels_decoder_self_keys_with_the_decoder_inputs(transformer):
    r = transformer.force(["I", "love", "you", ".", "</s>"], ["我", "爱", "你", "。"])
    out = select(r, Selection("decoder_self", 1, MEAN))
    T = len(r.best.tokens)
    assert out.source_tokens == [START, "我", "爱", "你", "。"] and out.best.tokens == r.best.tokens
    assert out.best.attention.shape == (T, T) and out.source_known == [True] * T
    assert np.allclose(np.triu(out.best.attention, 1), 0)  # masked: query t sees keys 0..t
    heatmap_figure(out, 0)  # the shapes agree with the labels


def axis_titles_of(fig) -> tuple[str, str]:
    return fig.layout.xaxis.title.text, fig.layout.yaxis.title.text


def test_self_attention_heatmaps_name_queries_and_keys_not_source_and_target(transformer):
    r = transformer.translate("I love you .")
    assert axis_titles_of(heatmap_figure(r, 0)) == ("source", "target")
    assert axis_titles_of(heatmap_figure(select(r, Selection("cross", 0, MEAN)), 0)) == ("source", "target")
    assert axis_titles_of(heatmap_figure(select(r, Selection("encoder_self", 0, MEAN)), 0)) == ("source (keys)", "source (queries)")
    assert axis_titles_of(heatmap_figure(rollout_result(r), 0)) == ("source (keys)", "source (queries)")
    decoder = heatmap_figure(select(r, Selection("decoder_self", 1, 0)), 0)
    assert axis_titles_of(decoder) == ("target so far (keys)", "target (queries)")


def test_select_decoder_self_keeps_the_chosen_beam(transformer):
    r = transformer.translate("I love you .", beam=3)
    n = len(r.hypotheses) - 1
    out = select(r, Selection("decoder_self", 0, 0), n)
    assert len(out.hypotheses) == 1 and out.best.tokens == r.hypotheses[n].tokens
    assert out.source_tokens[0] == START and out.source_tokens[1:] == r.hypotheses[n].tokens[:-1]


def test_map_axes_for_each_map(transformer):
    r = transformer.translate("I love you .")
    T, S = len(r.best.tokens), len(r.source_tokens)
    assert map_axes(r, "cross")[0].shape == (2, 2, T, S)
    assert map_axes(r, "encoder_self")[0].shape == (2, 2, S, S)
    v, q, k, _ = map_axes(r, "decoder_self")
    assert v.shape == (2, 2, T, T) and k[0] == START and len(q) == len(k) == T


@pytest.mark.parametrize("name", ["cross", "encoder_self", "decoder_self"])
def test_grid_has_one_cell_per_head_on_one_scale(transformer, name):
    r = transformer.translate("I love you .")
    fig = grid_figure(r, name, 0, 1000, (1, 0))
    assert len(fig.data) == 4 and all(t.coloraxis == "coloraxis" for t in fig.data)
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    assert [a.text for a in fig.layout.annotations] == ["L1 H1", "L1 H2", "<b>L2 H1</b>", "L2 H2"]
    assert len(fig.layout.shapes) == 1
    # tick labels only on the left column and the bottom row
    assert fig.layout.yaxis.showticklabels and not fig.layout.yaxis2.showticklabels
    assert not fig.layout.xaxis.showticklabels and fig.layout.xaxis3.showticklabels


def test_grid_leaves_out_labels_that_do_not_fit_and_escapes_tokens():
    t = make_transformer(layers=1, heads=4)
    r = t.translate("I love you . " * 8)
    fig = grid_figure(r, "encoder_self", 0, 340)
    assert not any(getattr(fig.layout, f"xaxis{n if n > 1 else ''}").showticklabels for n in range(1, 5))
    hostile = replace(r, source_tokens=["<b>x</b>$1$", *r.source_tokens[1:]])
    fig = grid_figure(hostile, "cross", 0)
    text = str(fig.to_plotly_json())
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;&#36;1&#36;" in text


@pytest.mark.parametrize("width", [358, 1000])
def test_grid_rows_leave_room_for_the_cell_titles(width):
    t = make_transformer(layers=2, heads=4)
    fig = grid_figure(t.translate("I love you so much ."), "encoder_self", 0, width)  # square cells, no tick labels
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    upper, lower = fig.layout.yaxis.domain, fig.layout.yaxis5.domain  # layer 1 on top, layer 2 under it
    assert (upper[0] - lower[1]) * plot_h >= 20  # "L2 H1" fits between the rows (it overlapped layer 1 on a phone)
    assert (lower[1] - lower[0]) * plot_h >= 59  # the cells keep their minimum height


def test_grid_of_the_gru_is_one_cell(tiny_translator):
    fig = grid_figure(tiny_translator.translate("I love you ."), "cross")
    assert len(fig.data) == 1 and fig.layout.annotations[0].text == "L1 H1"


def test_head_view_draws_the_matrix_as_lines(transformer):
    r = select(transformer.translate("I love you ."), Selection("encoder_self", 0, 1))
    fig = head_view_figure(r, 0, threshold=0.0)
    lines = [t for t in fig.data if t.mode == "lines"]
    S = len(r.source_tokens)
    assert sum(len(t.x) // 3 for t in lines) == int((r.best.attention > 0).sum()) <= S * S
    assert list(fig.data[-2].text) == list(fig.data[-1].text)  # the same tokens in both columns
    assert sum(len(t.x) // 3 for t in head_view_figure(r, 0, threshold=1.1).data if t.mode == "lines") == 0


def test_head_statistics_of_a_tiny_model(transformer):
    gold = Reference(frozenset({(0, 0), (1, 1), (2, 2)}), frozenset({(0, 0), (1, 1), (2, 2), (3, 3)}))
    pairs = [("I love you .", "我爱你。", gold), ("we like tea .", "我们喜欢茶。", None)]
    calls = []
    stats = head_statistics(transformer, pairs, lambda n, total: calls.append((n, total)))
    assert calls == [(1, 2), (2, 2)] and stats.sentences == 2 and stats.aligned == 1
    assert all(v.shape == (2, 2) for v in stats.values.values())
    v = stats.values
    assert np.all((v["aer"] >= 0) & (v["aer"] <= 1)) and np.all((v["confidence"] > 0) & (v["confidence"] <= 1))
    assert np.all(v["eos_share"] + v["punct_share"] <= 1 + 1e-6) and np.all(v["entropy"] >= 0)
    reading, layer, head, aer = stats.best()
    assert reading in ("aer", "aer_shift") and aer == v[reading].min()
    # the argmax reading of one head by hand
    src, _ = transformer.source_tokens("I love you .")
    m = transformer.force(src, transformer.tgt_tokenizer.tokenize("我爱你。")).best.maps["cross"].values[0, 1]
    from models.alignments import AlignmentScore, attention_links

    s = AlignmentScore()
    s.add(attention_links(m, src[:-1], transformer.tgt_tokenizer.tokenize("我爱你。")), gold)
    assert v["aer"][0, 1] == pytest.approx(s.aer)


def test_best_head_is_chosen_on_dev_and_scored_on_test(transformer):
    gold = Reference(frozenset({(0, 0), (1, 1), (2, 2)}), frozenset({(0, 0), (1, 1), (2, 2), (3, 3)}))
    other = Reference(frozenset({(0, 2), (2, 0)}), frozenset({(0, 2), (2, 0)}))
    dev, test = [("I love you .", "我爱你。", gold)], [("I love you .", "我爱你。", other)]
    on_dev, on_test = head_statistics(transformer, dev).values, head_statistics(transformer, test).values
    m = dev_chosen_heads(transformer, dev, test)
    for reading, suffix in (("aer", ""), ("aer_shift", "_shift")):
        layer, head = np.unravel_index(int(np.nanargmin(on_dev[reading])), on_dev[reading].shape)
        assert m[f"head{suffix}"] == f"layer {layer + 1} head {head + 1}"
        assert m[f"head_aer{suffix}"] == pytest.approx(on_test[reading][layer, head])  # the test AER of the dev choice


def test_best_head_of_a_one_head_model_is_not_reported(tiny_translator):
    gold = Reference(frozenset({(0, 0)}), frozenset({(0, 0)}))
    assert dev_chosen_heads(tiny_translator, [("I love you .", "我爱你。", gold)], [("I love you .", "我爱你。", gold)]) == {}


def test_head_statistics_of_the_gru_and_without_gold(tiny_translator):
    stats = head_statistics(tiny_translator, [("I love you .", "我爱你。", None)])
    assert stats.values["entropy"].shape == (1, 1) and np.isnan(stats.values["aer"][0, 0]) and stats.best() is None
    with pytest.raises(ValueError):
        head_statistics(tiny_translator, [])


def test_punctuation():
    assert is_punctuation(".") and is_punctuation("。") and is_punctuation("…") and not is_punctuation("a.") and not is_punctuation("")


def test_stats_figure_outlines_the_best_head():
    stats = HeadStatistics({"aer": np.array([[0.5, np.nan], [0.2, 0.3]])}, 3, 3)
    fig = stats_figure(stats.values["aer"], "AER", True, (1, 0))
    assert fig.data[0].text[0][1] == "–" and len(fig.layout.shapes) == 1
    assert fig.layout.shapes[0].x0 == -0.5 and fig.layout.shapes[0].y0 == 0.5


def test_stats_figure_scales_shares_from_0_to_1_and_entropy_on_its_own_range():
    v = np.array([[2.03, 2.06]])
    assert stats_figure(v, "entropy", True, None, None).data[0].zmin is None
    fig = stats_figure(v / 10, "share")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)


def test_cli_heads_stores_the_dev_chosen_heads_in_the_test_metrics(tmp_path):
    import subprocess
    import sys

    from models.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "tiny-transformer.safetensors"
    save_checkpoint(make_transformer(), path)
    r = subprocess.run([sys.executable, "-m", "models", "heads", "--checkpoint", str(path), "--device", "cpu", "--store"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    stored = load_checkpoint(path).meta["metrics"]["test"]
    assert stored["head"].startswith("layer ") and 0 <= stored["head_aer"] <= 1 and 0 <= stored["head_aer_shift"] <= 1


def test_align_reads_one_chosen_cross_attention_head(transformer, tmp_path, capsys):
    from models.alignments import attention_links, read_pharaoh
    from models.checkpoint import save_checkpoint
    from models.cli import main

    ckpt = save_checkpoint(transformer, tmp_path / "tf.safetensors")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I love you .\t我爱你。\n", encoding="utf-8")
    out = tmp_path / "links.en-zh"
    assert main(["align", "--checkpoint", str(ckpt), "--pairs", str(pairs), "--layer", "1", "--head", "0", "--out", str(out)]) == 0
    src, tgt = transformer.source_tokens("I love you .")[0], transformer.tgt_tokenizer.tokenize("我爱你。")
    cross = transformer.force(src, tgt).best.maps["cross"]
    assert read_pharaoh(out)[0] == attention_links(cross.matrix(1, 0), src[:-1], tgt)
    assert main(["align", "--checkpoint", str(ckpt), "--pairs", str(pairs), "--layer", "0", "--reading", "shift", "--out", str(out)]) == 0
    assert read_pharaoh(out)[0] == attention_links(cross.matrix(0), src[:-1], tgt, shift=1)  # the mean of layer 0's heads
    for bad, message in ((["--layer", "2"], "--layer must be 0 to 1"), (["--layer", "0", "--head", "2"], "--head -1 (the mean) to 1"),
                         (["--head", "1"], "--head needs --layer"), (["--layer", "0", "--reading", "posterior"], "not posterior")):
        assert main(["align", "--checkpoint", str(ckpt), "--pairs", str(pairs), *bad, "--out", str(out)]) != 0
        assert message in capsys.readouterr().err


def test_a_selection_names_the_layer_and_head_only_where_the_map_has_several():
    gru = make_translator(seed=0).translate("I love you .")
    assert select(gru, Selection("cross")).cells == "cross"  # a GRU: one layer, one head
    two_by_two = make_transformer().translate("I love you .")
    assert select(two_by_two, Selection("cross", 1, MEAN)).cells == "cross · layer 2 · mean of heads"
    assert select(make_transformer(layers=1, heads=2).translate("I love you ."), Selection("cross", 0, 1)).cells == "cross · head 2"


def test_grid_key_labels_stay_level_where_every_label_or_every_second_or_third_fits_else_turn_and_thin(transformer):
    r = transformer.translate("I love you .")
    assert grid_figure(r, "decoder_self", width=1000).layout.xaxis3.tickangle == 0  # the bottom row's keys
    crowded = transformer.translate("I love you . I love you . I love you .")
    axis = grid_figure(crowded, "cross", width=400).layout.xaxis3
    assert axis.tickangle == 0 and axis.ticktext[:3] == ("I", "", "you")  # every second label fits upright
    axis = grid_figure(crowded, "cross", width=300).layout.xaxis3
    assert axis.tickangle == -60 and "" in axis.ticktext and axis.ticktext[0]  # too close even turned: every k-th label


def test_the_head_view_names_its_map_in_a_subtitle_that_fits_a_phone(transformer):
    fig = head_view_figure(select(transformer.translate("I love you ."), Selection("decoder_self", 0, MEAN)))
    assert fig.layout.title.text == "Head view" and fig.layout.title.subtitle.text == "decoder self · layer 1 · mean of heads"
