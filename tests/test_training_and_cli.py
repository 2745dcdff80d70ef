"""A tiny model trained on a tiny TSV lowers its loss; the command line contract."""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from bench.tiny import EN, ZH, make_translator
from models.bundle import BUNDLED
from models.checkpoint import load_checkpoint, save_checkpoint
from models.cli import build_parser
from models.data import read_tsv, tsv_splits
from models.paths import CHECKPOINTS
from models.train import TrainConfig, rdrop_loss, train_model
from models.vocab import PAD

ROOT = Path(__file__).resolve().parents[1]


def _tsv(tmp_path: Path) -> Path:
    f = tmp_path / "tiny.tsv"
    f.write_text("".join(f"{e}\t{z}\n" for e, z in zip(EN * 6, ZH * 6)), encoding="utf-8")
    return f


def test_training_a_few_epochs_lowers_the_loss(tmp_path):
    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    tr = train_model(
        pairs, {"emb_dim": 32, "hidden": 32, "dropout": 0.0}, "en", "zh",
        TrainConfig(epochs=6, batch_size=4, lr=1e-2, patience=10, word_dropout=0.0, device="cpu"),
        progress=False, log=lambda m: None,
    )
    hist = tr.meta["training"]["history"]
    assert hist[-1]["train_loss"] < 0.7 * hist[0]["train_loss"]
    assert tr.meta["training"]["best_epoch"] >= 1


def test_the_trained_model_is_the_one_its_checkpoint_stores(tmp_path):
    """Training ends on the weights a checkpoint keeps (float16), so the metrics measured then
    and stored in the file are those of the file."""
    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    tr = train_model(
        pairs, {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
        TrainConfig(epochs=2, batch_size=4, lr=1e-2, patience=10, word_dropout=0.0, device="cpu"), progress=False, log=lambda m: None,
    )
    loaded = load_checkpoint(save_checkpoint(tr, tmp_path / "m.safetensors"))
    trained, stored = tr.model.state_dict(), loaded.model.state_dict()
    assert trained.keys() == stored.keys() and all(torch.equal(trained[k], stored[k]) for k in trained)


@pytest.mark.parametrize("select", ["loss", "bleu"])
def test_the_epoch_kept_is_the_best_by_the_selected_dev_figure(tmp_path, select):
    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    tr = train_model(
        pairs, {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
        TrainConfig(epochs=5, batch_size=4, lr=1e-2, patience=10, word_dropout=0.0, device="cpu", select=select),
        progress=False, log=lambda m: None,
    )
    hist = tr.meta["training"]["history"]
    figure = [h["dev_loss"] if select == "loss" else -h["dev_bleu"] for h in hist]
    assert tr.meta["training"]["best_epoch"] == hist[figure.index(min(figure))]["epoch"]
    assert tr.meta["training"]["select"] == select


def test_extra_pairs_train_for_their_epochs_then_the_corpus_alone_with_one_vocabulary(tmp_path):
    from models.data import Pair

    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    pairs["extra"] = [Pair("zebra crossing", "斑马线", f"extra:{i}") for i in range(6)]
    tr = train_model(
        pairs, {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
        TrainConfig(epochs=3, batch_size=4, patience=10, word_dropout=0.0, device="cpu", extra_epochs=1),
        progress=False, log=lambda m: None,
    )
    n = len(pairs["train"])
    assert [h["pairs"] for h in tr.meta["training"]["history"]] == [n + 6, n, n]
    assert "zebra" in tr.src_vocab.itos and "斑" in tr.tgt_vocab.itos  # kept after the extra pairs stop


def test_tatoeba_epochs_without_tatoeba_is_refused(capsys, tmp_path):
    from models.cli import main

    assert main(["train", "--corpus", "hsk", "--tatoeba-epochs", "3", "--out", str(tmp_path / "m.safetensors")]) != 0
    assert "give --tatoeba too" in capsys.readouterr().err


def test_an_unknown_selection_figure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="select must be one of loss, bleu"):
        train_model(tsv_splits(read_tsv(_tsv(tmp_path))), {"emb_dim": 16, "hidden": 16}, "en", "zh", TrainConfig(epochs=1, select="chrf"), progress=False)


def test_ema_keeps_the_moving_average_of_the_weights_after_every_step(tmp_path, monkeypatch):
    after = []  # the live weights after each optimiser step
    step = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        out = step(self, *args, **kwargs)
        after.append([p.detach().clone() for group in self.param_groups for p in group["params"]])
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    decay = 0.9
    tr = train_model(
        tsv_splits(read_tsv(_tsv(tmp_path))), {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
        TrainConfig(epochs=1, batch_size=4, lr=1e-2, word_dropout=0.0, device="cpu", ema=decay),  # one epoch: it is the best
        progress=False, log=lambda m: None,
    )
    expected = after[0]
    for live in after[1:]:
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, live)]
    kept = list(tr.model.parameters())
    assert len(after) > 3 and len(kept) == len(expected)
    for k, e in zip(kept, expected):
        torch.testing.assert_close(k, e.half().float(), rtol=2**-10, atol=1e-6)  # as a checkpoint keeps it: float16
    assert not all(torch.allclose(k, w, rtol=2**-10) for k, w in zip(kept, after[-1]))  # not the last live weights
    assert tr.meta["training"]["ema"] == decay


def test_rdrop_without_dropout_trains_as_without_it_with_guided_alignment_and_linked_context(tmp_path):
    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    links = {p.id: {(0, 0)} for p in pairs["train"]}

    def history(rdrop: float) -> list[dict]:
        tr = train_model(
            pairs, {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
            TrainConfig(epochs=2, batch_size=4, lr=1e-2, word_dropout=0.0, device="cpu", guided_alignment=1.0, guided_context=1.0, rdrop=rdrop),
            alignments=links, progress=False, log=lambda m: None,
        )
        return tr.meta["training"]["history"]

    plain, doubled = history(0.0), history(2.0)  # no dropout: both passes agree, and the KL term is 0
    for a, b in zip(plain, doubled, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["tokens"] == a["tokens"]  # each pair counted once


def test_guided_context_adds_its_loss_for_pairs_with_links_and_is_recorded(tmp_path):
    pairs = tsv_splits(read_tsv(_tsv(tmp_path)))
    links = {p.id: {(0, 0)} for p in pairs["train"]}  # every first word linked to the first source word

    def first_loss(guided_context: float) -> tuple[float, dict]:
        tr = train_model(
            pairs, {"emb_dim": 16, "hidden": 16, "dropout": 0.0}, "en", "zh",
            TrainConfig(epochs=1, batch_size=4, lr=1e-2, word_dropout=0.0, device="cpu", guided_context=guided_context),
            links, progress=False, log=lambda m: None,
        )
        return tr.meta["training"]["history"][0]["train_loss"], tr.meta["training"]

    plain, _ = first_loss(0.0)
    guided, summary = first_loss(1.0)
    assert guided > plain  # same seed and batches, one more (positive) loss term
    assert summary["guided_context"] == 1.0


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda s: s.name)
def test_every_bundled_recipe_is_a_valid_train_command(spec, tmp_path):
    args = build_parser().parse_args(spec.args(tmp_path))
    assert (args.family, args.direction, args.seed) == (spec.family, spec.direction, spec.seed)
    if spec.family == "rnn":
        assert (args.scorer, args.mode) == (spec.scorer, spec.mode)
    assert (args.guided_alignment, args.guided_context) == (spec.guided, spec.guided_context)
    assert args.lexicon and Path(args.out) == tmp_path / f"{spec.name}.safetensors"


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda s: s.name)
def test_every_bundled_checkpoint_was_trained_with_its_recipe(spec, tmp_path):
    args = build_parser().parse_args(spec.args(tmp_path))
    meta = load_checkpoint(CHECKPOINTS / f"{spec.name}.safetensors").meta["training"]
    recipe = {k: getattr(args, k) for k in ("seed", "epochs", "patience", "lr", "warmup", "batch_size", "guided_alignment", "guided_context", "select", "rdrop", "rdrop_from")}
    defaults = asdict(TrainConfig())  # what a file from an older trainer, without the field, was trained with
    assert {k: meta.get(k, defaults[k]) for k in recipe} == recipe
    assert ("distillation" in meta["corpus"]) == spec.distilled  # trained on a teacher's translations exactly when its recipe says so
    assert ("Tatoeba" in meta["corpus"]) == bool(spec.tatoeba_epochs) and meta.get("extra_epochs") == args.tatoeba_epochs
    ranking = load_checkpoint(CHECKPOINTS / f"{spec.name}.safetensors").ranking
    assert ranking == {"length_alpha": args.length_alpha, "coverage_beta": args.coverage}  # and ranks its beams as the recipe says


def test_bundle_with_a_seed_trains_another_run_of_each_recipe_and_leaves_the_readme(tmp_path, monkeypatch):
    from models import bundle

    calls = []
    monkeypatch.setattr(bundle.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    monkeypatch.setattr(bundle, "write_report", lambda *a: pytest.fail("the README table is made from the bundled folder only"))
    name = BUNDLED[0].name
    assert bundle.retrain(tmp_path, only=[name], seed=7) == 0
    [cmd] = calls
    assert cmd[cmd.index("--seed") + 1] == "7" and cmd[cmd.index("--out") + 1] == str(tmp_path / f"{name}.safetensors")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "models", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def cli_checkpoint(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    out = d / "tsv.safetensors"
    r = _cli("train", "--pairs", str(_tsv(d)), "--src-lang", "en", "--tgt-lang", "zh", "--epochs", "2",
             "--emb-dim", "16", "--hidden", "16", "--batch-size", "8", "--label-smoothing", "0.2", "--word-dropout", "0.05",
             "--rdrop", "1.5", "--length-alpha", "1.2", "--no-progress", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_cli_train_on_a_tsv_writes_a_loadable_checkpoint(cli_checkpoint):
    tr = load_checkpoint(cli_checkpoint)
    assert tr.direction == "en-zh"
    assert tr.meta["training"]["corpus"] == "tsv:tiny.tsv"
    training = tr.meta["training"]
    assert (training["label_smoothing"], training["word_dropout"], training["rdrop"]) == (0.2, 0.05, 1.5)  # the options reach training
    assert tr.ranking == {"length_alpha": 1.2, "coverage_beta": 0.0}  # kept as the model's own beam ranking
    assert "dev" in tr.meta["metrics"] and tr.meta["metrics"]["dev"]["length_alpha"] == 1.2  # its beam metrics say how they ranked


def test_cli_translate_json_contract(cli_checkpoint):
    r = _cli("translate", "--checkpoint", str(cli_checkpoint), "--json", "--beam", "2", "I love you.")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"source_tokens", "target_tokens", "attention", "translation", "scorer", "mode", "direction"} <= out.keys()
    assert out["source_tokens"][:4] == ["I", "love", "you", "."]
    assert len(out["attention"]) == len(out["target_tokens"])
    assert all(len(row) == len(out["source_tokens"]) for row in out["attention"])
    assert (out["scorer"], out["mode"], out["direction"]) == ("additive", "soft", "en-zh")


def test_cli_translate_plain_prints_the_translation(cli_checkpoint):
    r = _cli("translate", "--checkpoint", str(cli_checkpoint), "we like tea .")
    assert r.returncode == 0 and r.stdout.strip() != ""


def test_cli_evaluate_json_contract(cli_checkpoint):
    r = _cli("evaluate", "--checkpoint", str(cli_checkpoint), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    keys = {"bleu", "chrf", "precision", "recall", "aer", "diagonal_aer", "entropy", "final_token_share", "ms_per_sentence"}
    assert keys <= out.keys()
    assert all(isinstance(out[k], (int, float)) for k in keys)
    assert 0 <= out["aer"] <= 1 and out["sentences"] > 200


def test_cli_refuses_a_bad_checkpoint_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 10)
    r = _cli("translate", "--checkpoint", str(bad), "hello")
    assert r.returncode != 0
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_replace_block_rewrites_only_between_the_markers(tmp_path):
    from models.bundle import replace_block

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- x:start -->\nold table\n<!-- x:end -->\noutro\n")
    replace_block(readme, "<!-- x:start -->", "<!-- x:end -->", "new table")
    assert readme.read_text() == "intro\n<!-- x:start -->\nnew table\n<!-- x:end -->\noutro\n"
    with pytest.raises(ValueError, match="lacks"):
        replace_block(readme, "<!-- y:start -->", "<!-- y:end -->", "t")


def test_translate_notes_lines_in_the_script_of_another_language(tiny_checkpoint, tmp_path, capsys):
    from models.cli import main

    src = tmp_path / "in.txt"
    src.write_text("I love you .\n我爱你。\n北京很大。\n", encoding="utf-8")
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src)]) == 0
    err = capsys.readouterr().err
    assert "note: 2 line(s) (2, 3) are not in the script of 'en'" in err
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "我爱你。"]) == 0
    assert "note: the sentence is not in the script of 'en'" in capsys.readouterr().err


def test_translate_reads_a_file_and_writes_one_line_per_line(tiny_checkpoint, tmp_path, capsys):
    from models.cli import main

    src = tmp_path / "in.txt"
    src.write_text("I love you .\n\nwe like tea .\n", encoding="utf-8")
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src)]) == 0
    lines = capsys.readouterr().out.split("\n")[:-1]
    tr = load_checkpoint(tiny_checkpoint)
    assert lines == [tr.translate("I love you .").translation, "", tr.translate("we like tea .").translation]
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src), "--json", "--beam", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[1] == {"error": "no readable tokens", "line": 2}
    first = rows[0]
    assert first["translation"] == tr.translate("I love you .", beam=2).translation
    cross = next(m for m in first["maps"] if m["name"] == "cross")
    assert cross["kind"] == "cross" and cross["dims"] == ["layer", "head", "query", "key"]
    assert cross["shape"] == [1, 1, len(first["target_tokens"]), len(first["source_tokens"])]
    assert first["attention"] == cross["values"][0][0]


@pytest.mark.parametrize("options", [[], ["--json"], ["--beam", "2"], ["--json", "--beam", "2"], ["--workers", "3"], ["--json", "--workers", "3"]])
def test_translate_works_through_a_file_block_by_block_in_input_order(tiny_checkpoint, tmp_path, capsys, monkeypatch, options):
    import torch

    from models import cli

    threads = torch.get_num_threads()

    monkeypatch.setattr(cli, "LINES_PER_BLOCK", 3)
    texts = ["I love you .", "we like tea .", "", "the cat sat on the mat .", "he", "\u200b", "I love tea ."]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert cli.main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src), *options]) == 0
    out = capsys.readouterr().out.splitlines()
    tr = load_checkpoint(tiny_checkpoint)
    beam = 2 if "--beam" in options else 1
    expected = [tr.translate(t, beam=beam).translation if t.strip("\u200b ") else None for t in texts]
    if "--json" in options:
        rows = [json.loads(line) for line in out]
        assert [r.get("translation") for r in rows] == expected
        assert [r["line"] for r in rows if "error" in r] == [3, 6]  # numbered across blocks
    else:
        assert out == [e or "" for e in expected]
    assert torch.get_num_threads() == threads  # --workers gives each batch one thread while it runs, then restores the setting


def test_batches_on_worker_threads_are_decoded_on_one_thread_each_and_only_on_a_cpu():
    import torch

    from models.cli import decoding_workers

    threads = torch.get_num_threads()
    with decoding_workers(torch.device("cpu"), 3) as workers:
        assert (workers, torch.get_num_threads()) == (3, 1)
    with decoding_workers(torch.device("cpu"), None) as workers:
        assert workers == threads
    with decoding_workers(torch.device("cuda"), 3) as workers:  # a GPU runs one batch at a time
        assert (workers, torch.get_num_threads()) == (1, threads)
    assert torch.get_num_threads() == threads
    for bad in ("0", "65", "x"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["translate", "--checkpoint", "m", "--input", "f", "--workers", bad])


def test_align_writes_pharaoh_links_that_read_back_and_score(tiny_checkpoint, tmp_path):
    from models.alignments import AlignmentScore, attention_links, read_pharaoh
    from models.cli import main

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I love you .\t我爱你。\n\nwe like tea .\t我们喜欢茶。\n", encoding="utf-8")
    out = tmp_path / "links.en-zh"
    assert main(["align", "--checkpoint", str(tiny_checkpoint), "--pairs", str(pairs), "--reading", "attention", "--out", str(out)]) == 0
    links = read_pharaoh(out)
    assert len(links) == 2  # one line per non-blank TSV line
    tr = load_checkpoint(tiny_checkpoint)
    src = tr.source_tokens("I love you .")[0]
    tgt = tr.tgt_tokenizer.tokenize("我爱你。")
    assert links[0] == attention_links(tr.force(src, tgt).attention, src[:-1], tgt)
    score = AlignmentScore()
    score.add(links[0], links[0])
    assert score.aer == 0.0
    assert main(["align", "--checkpoint", str(tiny_checkpoint), "--pairs", str(pairs), "--reading", "shift", "--out", str(out)]) == 0
    assert len(read_pharaoh(out)) == 2



def test_align_averages_several_checkpoints_and_refuses_mixed_directions(tiny_checkpoint, tmp_path, capsys):
    from models.alignments import ensemble_links, read_pharaoh
    from models.cli import main

    other = tmp_path / "other.safetensors"
    save_checkpoint(make_translator("dot", "soft", seed=3), other)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I love you .\t我爱你。\n", encoding="utf-8")
    out = tmp_path / "links.en-zh"
    assert main(["align", "--checkpoint", str(tiny_checkpoint), str(other), "--pairs", str(pairs), "--min-weight", "0.2", "--out", str(out)]) == 0
    a, b = load_checkpoint(tiny_checkpoint), load_checkpoint(other)
    src, tgt = a.source_tokens("I love you .")[0], a.tgt_tokenizer.tokenize("我爱你。")
    assert read_pharaoh(out)[0] == ensemble_links([a.force(src, tgt).attention, b.force(src, tgt).attention], src[:-1], tgt, min_weight=0.2)
    zh_en = tmp_path / "zh-en.safetensors"
    save_checkpoint(make_translator(src_lang="zh", tgt_lang="en"), zh_en)
    assert main(["align", "--checkpoint", str(tiny_checkpoint), str(zh_en), "--pairs", str(pairs), "--out", str(out)]) != 0
    assert "translate one direction" in capsys.readouterr().err


def test_align_reads_both_directions_with_reverse_models(tiny_checkpoint, tmp_path, capsys):
    from models.alignments import bidirectional_links, read_pharaoh
    from models.cli import main
    from models.tokenize import Tokenizer

    zh_en = tmp_path / "zh-en.safetensors"
    back = make_translator(src_lang="zh", tgt_lang="en", seed=4)
    back.tgt_tokenizer = Tokenizer(lowercase=not back.tgt_tokenizer.lowercase)  # as in the bundled pair: only the lookup differs
    save_checkpoint(back, zh_en)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I love you .\t我爱你。\n", encoding="utf-8")
    out = tmp_path / "links.en-zh"
    assert main(["align", "--checkpoint", str(tiny_checkpoint), "--reverse", str(zh_en), "--pairs", str(pairs), "--min-weight", "0.2", "--out", str(out)]) == 0
    a, b = load_checkpoint(tiny_checkpoint), load_checkpoint(zh_en)
    src, tgt = a.source_tokens("I love you .")[0], a.tgt_tokenizer.tokenize("我爱你。")
    r_src, r_tgt = b.source_tokens("我爱你。")[0], b.tgt_tokenizer.tokenize("I love you .")
    expected = bidirectional_links([a.force(src, tgt).attention], [b.force(r_src, r_tgt).attention], len(src) - 1, len(tgt), 0.2)
    assert read_pharaoh(out)[0] == expected  # English index first, as the en-zh model reads it
    assert b.tgt_tokenizer.lowercase != a.src_tokenizer.lowercase
    assert main(["align", "--checkpoint", str(tiny_checkpoint), "--reverse", str(tiny_checkpoint), "--pairs", str(pairs), "--out", str(out)]) != 0
    assert "opposite direction" in capsys.readouterr().err
    assert main(["align", "--checkpoint", str(tiny_checkpoint), "--reverse", str(zh_en), "--pairs", str(pairs), "--min-weight", "0", "--out", str(out)]) != 0
    assert "above 0 with --reverse" in capsys.readouterr().err


def test_every_command_line_example_in_the_readme_parses():
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].split("<")[0] for line in readme.splitlines() if line.startswith("python -m models ")]
    assert len(lines) >= 10
    parser = build_parser()
    for line in lines:
        args = [a.strip("[]") for a in shlex.split(line)[3:] if a not in ("...", "…")]  # "[--json]": an optional flag
        parser.parse_args(args)  # exits (SystemExit) on an option the command does not have


def test_the_shipped_distillation_folders_read_for_their_recipes():
    from models.corpus import HSK
    from models.distill import read_distilled
    from models.paths import DISTILLED

    for spec in (s for s in BUNDLED if s.distilled):
        train = HSK.splits(spec.direction)["train"]
        pairs, (about,) = read_distilled([DISTILLED / spec.direction], spec.direction, train, with_references=True)
        assert about["direction"] == spec.direction and about["kind"] == "forward" and len(about["teachers"]) > 1
        assert len(train) < len(pairs) < 2 * len(train)  # the references plus the teacher's differing translations
        held_out = {p.id for split in ("dev", "test") for p in HSK.splits(spec.direction)[split]}
        assert not {p.id.split(":", 1)[-1] for p in pairs} & held_out  # nothing from dev or test


def test_translate_says_plainly_when_the_input_is_not_utf8(tiny_checkpoint, tmp_path, capsys):
    from models.cli import main

    src = tmp_path / "latin1.txt"
    src.write_bytes("I love you .\ncafé\n".encode("latin-1"))
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {src}:2: is not UTF-8 text"


def test_translate_stops_quietly_when_its_reader_closes_the_pipe(tiny_checkpoint):
    lines = "I love you .\n" * 3000
    r = subprocess.run(
        f"{sys.executable} -m models translate --checkpoint {tiny_checkpoint} --input - --json | head -c 10",
        shell=True, input=lines, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert len(r.stdout) == 10
    assert r.stderr == ""


def test_translate_notes_the_lines_cut_to_the_token_limit(tiny_checkpoint, tmp_path, capsys):
    from models.cli import main
    from models.translator import MAX_SOURCE_TOKENS

    src = tmp_path / "long.txt"
    src.write_text("I love you .\n" + "tea " * (MAX_SOURCE_TOKENS + 10) + "\n", encoding="utf-8")
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(src)]) == 0
    assert capsys.readouterr().err.strip() == f"note: 1 line(s) were cut to their first {MAX_SOURCE_TOKENS} tokens"


def test_rdrop_loss_is_the_mean_symmetric_kl_over_real_tokens():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 3, 7, generator=g), torch.randn(2, 3, 7, generator=g)  # (B, T, V) each
    tgt = torch.tensor([[4, 5, 6], [4, PAD, PAD]])
    assert rdrop_loss(torch.cat([a, a]), tgt).item() == pytest.approx(0.0, abs=1e-7)  # alike passes cost nothing
    p, q = a.log_softmax(-1), b.log_softmax(-1)
    kl = lambda x, y: (x.exp() * (x - y)).sum(-1)  # noqa: E731
    want = ((kl(p, q) + kl(q, p)) / 2)[tgt != PAD].mean()
    assert rdrop_loss(torch.cat([a, b]), tgt).item() == pytest.approx(want.item(), rel=1e-5)
