"""The app's support code without Streamlit pages: registry, uploads, tables, escaping, corpus."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.tiny import make_translator
from models.checkpoint import CheckpointError, save_checkpoint
from webapp import corpus, evaluation, registry, tables
from webapp.registry import MAX_UPLOADS, UploadLimitError, UploadStore
from webapp.state import plain
from webapp.text import WORD_JOINER


def test_bundled_models_are_listed_en_zh_first_soft_before_hard_simplest_scorer_first(tiny_checkpoint_dir):
    (tiny_checkpoint_dir / "notes.txt").write_text("not a model")
    labels = [e.label for e in registry.bundled_entries(tiny_checkpoint_dir)]
    assert labels == ["en-zh-dot-soft", "en-zh-general-soft", "en-zh-additive-soft", "en-zh-additive-hard", "zh-en-additive-soft"]


def test_the_checkpoint_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(registry.CHECKPOINTS_ENV, str(tmp_path))
    assert registry.checkpoint_dir() == tmp_path
    monkeypatch.delenv(registry.CHECKPOINTS_ENV)
    assert registry.checkpoint_dir() == registry.DEFAULT_DIR
    assert registry.bundled_entries(tmp_path / "missing") == []


def test_a_rewritten_file_gets_a_new_fingerprint(tiny_checkpoint_dir):
    before = registry.bundled_entries(tiny_checkpoint_dir)[0]
    save_checkpoint(make_translator("dot", "soft", seed=5), before.path)
    later = before.path.stat().st_mtime_ns + 10**9
    os.utime(before.path, ns=(later, later))
    after = registry.bundled_entries(tiny_checkpoint_dir)[0]
    assert after.id == before.id and after.fingerprint != before.fingerprint


def test_compare_defaults_to_the_soft_scorers_of_a_direction_then_one_transformer(tiny_checkpoint_dir):
    entries = registry.bundled_entries(tiny_checkpoint_dir)
    ids = registry.default_compare(entries)
    assert ids == ["bundled/en-zh-dot-soft.safetensors", "bundled/en-zh-general-soft.safetensors", "bundled/en-zh-additive-soft.safetensors"]
    assert registry.default_compare(entries, "zh-en") == ["bundled/zh-en-additive-soft.safetensors"]
    for name in ("en-zh-transformer-guided", "en-zh-transformer"):
        save_checkpoint(make_translator("dot", "soft", seed=1), tiny_checkpoint_dir / f"{name}.safetensors")
    ids = registry.default_compare(registry.bundled_entries(tiny_checkpoint_dir))
    assert ids[-2:] == ["bundled/en-zh-additive-soft.safetensors", "bundled/en-zh-transformer-guided.safetensors"]


def test_soft_and_hard_pairs_need_both_files(tiny_checkpoint_dir):
    pairs = registry.soft_hard_pairs(registry.bundled_entries(tiny_checkpoint_dir), "en-zh")
    assert list(pairs) == ["additive"]
    assert [e.label for e in pairs["additive"]] == ["en-zh-additive-soft", "en-zh-additive-hard"]


def checkpoint_bytes(tmp_path: Path, seed: int) -> bytes:
    return save_checkpoint(make_translator(seed=seed), tmp_path / f"m{seed}.safetensors").read_bytes()


def test_uploads_are_kept_once_per_content_and_bounded(tmp_path):
    store = UploadStore()
    data = checkpoint_bytes(tmp_path, 0)
    first = store.add("model.safetensors", data)
    again = store.add("renamed.safetensors", data)
    assert again == first and len(store.entries()) == 1
    for seed in range(1, MAX_UPLOADS):
        store.add(f"m{seed}.safetensors", checkpoint_bytes(tmp_path, seed))
    with pytest.raises(UploadLimitError, match=f"{MAX_UPLOADS} uploaded models"):
        store.add("one-more.safetensors", checkpoint_bytes(tmp_path, 99))
    store.remove(first.id)
    store.add("one-more.safetensors", checkpoint_bytes(tmp_path, 99))
    assert len(store.entries()) == MAX_UPLOADS


def test_the_result_store_keeps_each_pool_to_its_limit_least_recently_used_out_first():
    store = evaluation.ResultStore({"bundled": 3, "uploaded": 2})
    for n in range(3):
        store.put("bundled", n, {"bleu": n})
    assert store.get("bundled", 0) == {"bleu": 0}  # used: now the newest
    store.put("bundled", 3, {"bleu": 3})
    assert store.get("bundled", 1) is None and store.get("bundled", 0) == {"bleu": 0}
    for n in range(10):
        store.put("uploaded", n, {"bleu": n})
    assert store.size("uploaded") == 2 and store.size("bundled") == 3
    assert store.get("uploaded", 9) == {"bleu": 9} and store.get("uploaded", 7) is None


def test_evaluation_results_of_uploads_are_bounded_apart_from_the_bundled_ones(monkeypatch, tiny_translator):
    monkeypatch.setattr(evaluation, "evaluate", lambda translator, pairs, refs, beam, progress, gloss: {"sentences": len(pairs), "beam": beam})
    evaluation._results.clear()
    try:
        bundled = registry.ModelEntry("bundled/a", "a", "bundled", "a@1")
        assert evaluation.run(bundled, tiny_translator, [], 1, lambda done, total: None) == {"sentences": 0, "beam": 1}
        count = evaluation.MAX_UPLOADED_RESULTS + 5
        uploads = [registry.ModelEntry(f"upload/{n}", f"u{n}", "uploaded", f"sha256:{n}") for n in range(count)]
        for entry in uploads:
            evaluation.run(entry, tiny_translator, [], 2, lambda done, total: None)
        assert evaluation._results().size("uploaded") == evaluation.MAX_UPLOADED_RESULTS
        assert evaluation.cached(uploads[-1], tiny_translator, 0, 2) is not None
        assert evaluation.cached(uploads[0], tiny_translator, 0, 2) is None
        assert evaluation.cached(bundled, tiny_translator, 0, 1) is not None
        assert evaluation._results().limits == {"bundled": evaluation.MAX_RESULTS, "uploaded": evaluation.MAX_UPLOADED_RESULTS}
        assert evaluation.MAX_UPLOADED_RESULTS < evaluation.MAX_RESULTS <= 1024
    finally:
        evaluation._results.clear()


def test_a_bad_upload_raises_the_loader_message_and_is_not_kept():
    store = UploadStore()
    with pytest.raises(CheckpointError):
        store.add("bad.safetensors", b"\x00" * 100)
    assert store.entries() == []


def test_an_upload_loads_on_the_device_asked_for(tmp_path):
    store = UploadStore()
    entry = store.add("m.safetensors", checkpoint_bytes(tmp_path, 0))
    translator = registry.load(entry, torch.device("cpu"), store)
    assert translator.device.type == "cpu"
    assert translator.meta["name"] == "tiny-additive-soft"
    assert entry.label == "m (uploaded)"


def test_model_card_names_what_the_model_is():
    translator = make_translator("cosine", "hard")
    entry = registry.ModelEntry("bundled/x.safetensors", "x", "bundled", "x@1", Path("x.safetensors"))
    card = dict(zip(*tables.card(entry, translator).to_dict("list").values()))
    assert card["Scorer"] == "cosine" and card["Attention"] == "hard" and card["Direction"] == "en → zh"
    assert card["Parameters"] == f"{translator.num_parameters:,}"
    assert card["Source vocabulary"] == str(len(translator.src_vocab))
    assert card["Beam ranking"] == "log-prob / tokens^0.6"  # the default ranking


def test_model_card_says_how_the_model_ranks_its_beams():
    translator = make_translator()
    translator.meta["decoding"] = {"length_alpha": 1.5, "coverage_beta": 0.2}
    entry = registry.ModelEntry("bundled/x.safetensors", "x", "bundled", "x@1", Path("x.safetensors"))
    card = dict(zip(*tables.card(entry, translator).to_dict("list").values()))
    assert card["Beam ranking"] == "log-prob / tokens^1.5 + 0.2 × coverage penalty"


def test_a_transformer_s_card_names_its_layers_and_heads_not_a_gru_scorer():
    from tests.test_heads import make_transformer

    translator = make_transformer()
    entry = registry.ModelEntry("bundled/t.safetensors", "t", "bundled", "t@1", Path("t.safetensors"))
    card = dict(zip(*tables.card(entry, translator).to_dict("list").values()))
    c = translator.model.config
    assert "Scorer" not in card and card["Network"] == f"Transformer, {c.layers} layers × {c.heads} heads"
    assert card["Attention"] == "scaled dot product, multi-head"


def test_every_training_option_has_a_name_on_the_model_card():
    from dataclasses import fields

    from models.train import TrainConfig

    assert {f.name for f in fields(TrainConfig)} <= tables.TRAINING.keys()


def test_training_summary_and_history_tables():
    meta = {"training": {"corpus": "hsk", "pairs": {"train": 90, "dev": 5}, "lr": 0.002, "history": [{"epoch": 1, "loss": 3.0, "note": "x"}, {"epoch": 2, "loss": 2.0, "note": "y"}]}}
    summary = tables.training(meta)
    assert list(summary["Setting"]) == ["Corpus", "Sentence pairs", "Learning rate"]
    assert "train: 90, dev: 5" in list(summary["Value"])
    curve = tables.history(meta)
    assert list(curve.columns) == ["loss"] and list(curve.index) == [1, 2]
    assert tables.history({"training": {}}) is None
    assert tables.training({}).empty


def test_training_keys_the_card_does_not_know_show_as_stored_and_history_columns_are_named():
    meta = {"training": {"my_flag": 1, "history": [{"epoch": 1, "train_loss": 3.0, "dev_bleu": 1.5, "train_s": 41.2, "tokens": 65000}]}}
    assert list(tables.training(meta)["Setting"]) == ["my_flag"]
    assert list(tables.history(meta).columns) == ["Training loss", "Dev BLEU"]  # seconds and tokens would flatten the BLEU curve
    never = {"training": {"history": [{"epoch": e, "train_loss": 3.0 / e, "dev_bleu": None} for e in (1, 2)]}}
    assert list(tables.history(never).columns) == ["Training loss"]  # a column never measured draws no empty chart


def test_shown_metrics_have_fixed_decimals_and_a_dash_for_gaps():
    frame = tables.metrics({"a": {"bleu": 9.8, "aer": 0.5, "sentences": 10}, "b": {"bleu": 12.483, "aer": None}})
    html = tables.styled(frame).to_html()
    assert "9.80" in html and "12.48" in html and "0.500" in html and "—" in html
    assert ">10<" in html  # a count stays whole


def test_metrics_table_keeps_a_fixed_column_order_and_leaves_gaps_empty():
    frame = tables.metrics({"a": {"aer": 0.4, "bleu": 12.0, "unknown": 1}, "b": {"bleu": 10.0}, "c": None})
    assert list(frame.columns) == ["BLEU", "AER"]
    assert frame.loc["b", "BLEU"] == 10.0 and frame["AER"].isna().sum() == 2


@pytest.mark.parametrize("text", ["*bold*", "[link](http://x)", ":red[alert]", "$x$", "<b>", "a_b_c", "# head", "`code`"])
def test_plain_escapes_every_markdown_control_character(text):
    escaped = plain(text)
    assert not re.search(r"(?<!\\)[*\[\]():$<>_#`]", escaped)
    assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == text  # a word joiner keeps GFM from linking http://


def test_examples_come_from_the_test_split_with_links_in_the_models_direction():
    en_zh, zh_en = corpus.test_examples("en-zh"), corpus.test_examples("zh-en")
    assert len(en_zh) == len(zh_en) > 100
    a, b = en_zh[0], zh_en[0]
    assert a.id == b.id and a.source == b.target
    assert a.links.flipped() == b.links and a.links.sure <= a.links.possible
    assert corpus.find(en_zh, f"  {a.source} ") == a
    assert corpus.find(en_zh, "not in the corpus") is None
    assert corpus.test_examples("fr-de") == []


def test_curated_examples_are_test_sentences_with_reference_links():
    notes = corpus.curated_notes()
    by_id = {e.id: e for e in corpus.test_examples("en-zh")}
    assert notes and all(i in by_id and by_id[i].links and by_id[i].note == n for i, n in notes.items())


def test_app_sets_torch_threads_from_the_environment_once_per_process(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(registry.THREADS_ENV, "2")
        registry.configure_threads.clear()
        assert registry.configure_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.delenv(registry.THREADS_ENV)
        assert registry.configure_threads() == 2  # cached: set once per process
        registry.configure_threads.clear()
        assert registry.configure_threads() == 1 and torch.get_num_threads() == 1  # the default
        monkeypatch.setenv(registry.THREADS_ENV, "two")
        registry.configure_threads.clear()
        with pytest.raises(ValueError, match="ATTNVIZ_TORCH_THREADS"):
            registry.configure_threads()
    finally:
        registry.configure_threads.clear()
        torch.set_num_threads(before)


def test_aer_frame_puts_each_model_s_attention_and_posterior_beside_eflomal_and_the_diagonal():
    m = {"aer": 0.33, "aer_posterior": 0.21, "eflomal_aer": 0.2, "eflomal_method": "union", "diagonal_aer": 0.54}
    frame = tables.aer_frame({"a": ("en-zh", m), "b": ("en-zh", m | {"aer": 0.4}), "c": ("en-zh", {"bleu": 1.0})})
    assert list(frame.index) == ["a", "b", "en-zh: eflomal (union)", "en-zh: diagonal"]
    assert list(frame.columns) == ["attention", "posterior", "baseline"]
    assert frame.loc["b", "attention"] == 0.4 and frame.loc["a", "posterior"] == 0.21
    assert frame.loc["en-zh: eflomal (union)", "baseline"] == 0.2 and frame.loc["en-zh: diagonal", "baseline"] == 0.54
    assert tables.aer_frame({"c": ("en-zh", {"bleu": 1.0})}).empty


def test_compare_takes_a_guided_scorer_where_no_unguided_one_is_bundled():
    """The bundled zh→en models are a guided GRU and a guided Transformer: both open Compare."""
    labels = ["en-zh-dot-soft", "zh-en-additive-soft-guided", "zh-en-transformer-guided", "en-zh-transformer-guided"]
    entries = [registry.ModelEntry(id=label, label=label, origin="bundled", fingerprint=label) for label in labels]
    assert registry.default_compare(entries, "zh-en") == ["zh-en-additive-soft-guided", "zh-en-transformer-guided"]


def test_the_frame_draws_its_menu_before_torch_is_imported():
    """On a fresh server Streamlit's legacy router shows its own menu of pages/ until the frame's
    st.navigation replaces it; importing torch first kept that menu up for about 3 s on /."""
    code = "import sys, webapp.frame, models; assert 'torch' not in sys.modules, 'torch was imported'"
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, run.stderr[-500:]
    source = (root / "webapp" / "frame.py").read_text(encoding="utf-8")
    assert source.index("st.navigation(") < source.index("import torch")


def test_every_page_draws_the_frame_before_its_own_imports():
    """A page's URL on a fresh server runs the page file alone (the legacy router): its imports
    (torch, Plotly) must come after frame.ensure(), or the legacy menu stays up while they run."""
    import ast

    from webapp.frame import PAGES

    root = Path(__file__).resolve().parents[1]
    for path, _, _ in PAGES:
        body = ast.parse((root / path).read_text(encoding="utf-8")).body
        first = [ast.unparse(node) for node in body[1:3]]  # after the docstring
        assert first == ["from webapp import frame", "frame.ensure()"], path


def test_a_progress_bar_is_redrawn_only_when_its_percentage_changes(monkeypatch):
    import streamlit as st

    from webapp import views

    drawn: list[tuple[float, str]] = []

    class Bar:
        def progress(self, value: float, text: str) -> None:
            drawn.append((value, text))

    monkeypatch.setattr(st, "progress", lambda value, text: Bar())
    bar = views.Progress()
    for n in range(1, 1001):  # a thousand sentences
        bar.update(n / 1000, f"{n}/1000 sentences")
    assert len(drawn) == 100 and drawn[-1] == (1.0, "1000/1000 sentences")  # each percent once, the end shown
    bar.update(1.5, "over")  # out of range: held at the end, not redrawn
    assert len(drawn) == 100
