"""Strange, long and hostile input: a clear message or a sensible result, tokens kept literally;
the command line prints no control characters, reads corpora in bounded memory and refuses
out-of-range options in its parser."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tracemalloc
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bench.tiny import EN, ZH, make_translator
from models import cli, data
from models.alignments import read_pharaoh
from models.nets import build_model
from models.translator import MAX_SOURCE_TOKENS, Translator
from models.vocab import Vocab
from tests.test_hostile_checkpoints import WITH_PEAK

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
ODD_TEXTS = {
    "emoji": "I love 🐱 and 👨‍👩‍👧 !",
    "zero-width and control characters": "I\u200b love\u0000 you\u202e .\u0007\u200d",
    "right-to-left script": "مرحبا بالعالم שלום עולם",
    "mixed scripts": "I 爱 you, 東京 Москва Ελλάδα नमस्ते",
    "only punctuation": "?!...,;:()[]{}",
    "only unknown words": "zxqv blorfing qwertyuiop",
    "html": "<img src=x onerror=alert(1)>",
    "script tag": "<script>alert(1)</script>",
    "markdown": "**bold** _it_ [link](javascript:alert(1)) # heading",
    "latex": r"$x^2$ \frac{a}{b} $$\int_0^1$$",
    "one 5,000-character word": "a" * 5000,
}


def visible(text: str) -> str:
    """The text the tokeniser reads: NFC, invisible format and control characters dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch) not in INVISIBLE)


@pytest.mark.parametrize("text", ["", " ", "  \n\t  ", "\u3000"])
def test_empty_or_blank_input_asks_for_a_sentence(tiny_translator: Translator, text: str) -> None:
    with pytest.raises(ValueError, match="Please type a sentence"):
        tiny_translator.translate(text)


@pytest.mark.parametrize("text", ["\u200b\u200d", "\u0000\u0007", "\u202e\u202c"])
def test_only_invisible_characters_says_there_is_nothing_to_read(tiny_translator: Translator, text: str) -> None:
    with pytest.raises(ValueError, match="no readable tokens"):
        tiny_translator.translate(text)


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("case", list(ODD_TEXTS))
def test_odd_text_translates_with_every_token_taken_literally(tiny_translator: Translator, case: str, beam: int) -> None:
    text = ODD_TEXTS[case]
    result = tiny_translator.translate(text, beam=beam)
    words = result.source_tokens[:-1]
    assert words and result.source_tokens[-1] == "</s>"
    assert "".join(words) == "".join(visible(text).split())[: len("".join(words))]
    assert not any(unicodedata.category(ch) in INVISIBLE for tok in words for ch in tok)
    assert result.attention.shape == (len(result.target_tokens), len(result.source_tokens))
    json.dumps(result.to_json(), ensure_ascii=False)


def test_html_is_split_into_literal_tokens(tiny_translator: Translator) -> None:
    tokens = tiny_translator.translate("<script>alert(1)</script>").source_tokens
    assert tokens == ["<", "script", ">", "alert", "(", "1", ")", "<", "/", "script", ">", "</s>"]


def test_unknown_words_are_marked_unknown(tiny_translator: Translator) -> None:
    result = tiny_translator.translate(ODD_TEXTS["only unknown words"])
    assert result.source_known == [False, False, False, True]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [(("the cat sat on the mat . " * 200)[:5000], 1400), (" ".join(["tea"] * 500), 500)],
    ids=["5,000 characters", "500 words"],
)
def test_long_input_is_cut_to_the_limit_and_says_so(tiny_translator: Translator, text: str, tokens: int) -> None:
    result = tiny_translator.translate(text)
    assert result.truncated_from == tokens
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS + 1
    assert result.best.tokens


def test_input_at_the_limit_is_not_cut(tiny_translator: Translator) -> None:
    result = tiny_translator.translate(" ".join(["tea"] * MAX_SOURCE_TOKENS))
    assert result.truncated_from is None
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS + 1


# The command line under hostile files and options (rows 9-11 of the hardening issue).

ROOT = Path(__file__).resolve().parents[1]
CLI_PEAK_BOUND = 1024 * 2**20


def _cli(*args: str, timeout: int = 300) -> tuple[subprocess.CompletedProcess, int]:
    """``python -m models ARGS`` -> (the finished process, its peak resident bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        run = subprocess.run([sys.executable, "-c", WITH_PEAK, str(peak), *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
        return run, int(peak.read_text()) * 1024


def _raw_controls(text: str) -> list[str]:
    return [hex(ord(c)) for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_cli_error_line_prints_no_raw_control_characters(tmp_path: Path) -> None:
    run, _ = _cli("translate", "--checkpoint", str(tmp_path / "x\x1b[2J\x9b31m.safetensors"), "hi")
    assert run.returncode == 2 and run.stderr.startswith("error: no such file")
    assert _raw_controls(run.stderr) == [] and "\\u001b[2J\\u009b31m" in run.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_translation_prints_no_raw_control_characters(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, as_json: bool) -> None:
    """A translator whose target words hold ESC and CSI (the loader refuses such vocabularies;
    this one is built in memory) prints them as visible escapes."""
    translator = make_translator()
    words = ("\x1b[2J", "\x9b31m")
    tv = Vocab(translator.tgt_vocab.itos + words)
    torch.manual_seed(0)
    model = build_model(replace(translator.model.config, tgt_vocab_size=len(tv))).eval()
    with torch.no_grad():
        model.decoder.out.bias[tv.id(words[0])] = 20.0
    evil = Translator(model, translator.src_vocab, tv, translator.src_tokenizer, translator.tgt_tokenizer, "en", "zh")
    monkeypatch.setattr(cli, "load_checkpoint", lambda *a, **k: evil)
    assert cli.main(["translate", "--checkpoint", "x", "--device", "cpu", *(["--json"] if as_json else []), "I love you ."]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == [] and "\\u001b[2J" in out
    if as_json:  # JSON escapes: a program reading it gets the words themselves
        assert json.loads(out)["translation"].startswith("\x1b[2J")


def test_train_skips_lines_too_long_to_train_on_and_says_how_many(tmp_path: Path) -> None:
    """One 500,000-word line, one of 20,000 words and one of 150 short tokens (under the byte
    limit, over the token limit) among good pairs: trained without them, in bounded memory."""
    corpus = tmp_path / "long.tsv"
    good = "".join(f"{e}\t{z}\n" for e, z in zip(EN * 6, ZH * 6))
    corpus.write_text(good + "w " * 500_000 + "\t我\n" + "w " * 20_000 + "\t我\n" + "a " * 150 + "\t我\n" + good, encoding="utf-8")
    out = tmp_path / "m.safetensors"
    run, peak = _cli("train", "--pairs", str(corpus), "--src-lang", "en", "--tgt-lang", "zh", "--epochs", "1", "--emb-dim", "16",
                     "--hidden", "16", "--no-progress", "--device", "cpu", "--json", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "note: skipped 3 line(s)" in run.stderr
    assert "3 lines over" in json.loads(run.stdout)["training"]["corpus"]
    assert peak < CLI_PEAK_BOUND, f"training peaked at {peak / 2**20:.0f} MB"


def test_train_on_dev_zero_is_one_error_line_at_once(tmp_path: Path) -> None:
    run, peak = _cli("train", "--pairs", "/dev/zero", "--epochs", "1", "--out", str(tmp_path / "m.safetensors"), timeout=60)
    assert run.returncode == 2 and run.stderr.startswith("error: /dev/zero:1: holds a NUL byte: this is a binary file")
    assert len(run.stderr.splitlines()) == 1
    assert peak < CLI_PEAK_BOUND


def test_an_endless_line_is_read_in_bounded_chunks_and_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream without a newline (here 4 MB against a 1 MB limit) is skipped a chunk at a time
    until the limit on what one corpus may hold ends it."""
    monkeypatch.setattr(data, "MAX_TSV_BYTES", 2**20)
    endless = tmp_path / "endless.tsv"
    endless.write_bytes(b"a" * (4 * 2**20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="stopped after 1 MB without reaching its end"):
            data.read_tsv_counted(endless)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * data.MAX_LINE_BYTES  # the chunk read, the one before it, the first one kept (translate reads it)


def test_text_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\nç\tb\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.tsv:2: is not UTF-8 text"):
        data.read_tsv(path)
    path.write_bytes("a\tb\n".encode("utf-16"))  # a byte-order mark, then NUL bytes: said for what it is
    with pytest.raises(ValueError, match="latin1.tsv: is UTF-16 text: save it as UTF-8"):
        data.read_tsv(path)


BAD_OPTIONS = [
    ("train", "--epochs", "0"), ("train", "--epochs", "-3"), ("train", "--epochs", "1.5"), ("train", "--patience", "0"),
    ("train", "--batch-size", "0"), ("train", "--max-pairs", "0"), ("train", "--lr", "0"), ("train", "--lr", "nan"),
    ("train", "--lr", "inf"), ("train", "--hidden", "15"), ("train", "--hidden", "100000"), ("train", "--emb-dim", "0"),
    ("train", "--dropout", "1"), ("train", "--dropout", "-0.1"), ("train", "--ema", "1.5"), ("train", "--guided-alignment", "-1"),
    ("train", "--guided-context", "nan"), ("train", "--seed", "-1"), ("translate", "--beam", "0"), ("translate", "--beam", "11"),
    ("evaluate", "--beam", "0"), ("bundle", "--jobs", "0"),
]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=" ".join)
def test_out_of_range_options_are_refused_by_the_parser(args: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    command, option, value = args
    required = {"train": ["--out", "x.safetensors"], "translate": ["--checkpoint", "x", "hi"], "evaluate": ["--checkpoint", "x"], "bundle": []}
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args([command, option, value, *required[command]])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: must be " in err and repr(value) in err and "Traceback" not in err


def test_epochs_0_on_the_command_line_is_one_usage_error(tmp_path: Path) -> None:
    run, _ = _cli("train", "--epochs", "0", "--out", str(tmp_path / "m.safetensors"))
    assert run.returncode == 2 and "error: argument --epochs: must be a positive whole number, not '0'" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_trainer_refuses_a_model_over_the_budget_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.budget import BUDGET_ENV
    from models.data import Pair
    from models.train import TrainConfig, train_model

    monkeypatch.setenv(BUDGET_ENV, "1")
    pairs = {"train": [Pair(e, z) for e, z in zip(EN, ZH)], "dev": [Pair(EN[0], ZH[0])], "test": []}
    with pytest.raises(ValueError, match=r"over the 1 MB budget per model \(ATTNVIZ_MODEL_BUDGET_MB\); train a smaller model"):
        train_model(pairs, {"emb_dim": 512, "hidden": 512}, "en", "zh", TrainConfig(epochs=1), progress=False)


# Found by a hostile pass over the command line: what used to be written, or read, before failing.


@pytest.mark.parametrize("side", ["\u200b", "\u0007 \ufe0f", "\ue000"])
def test_a_corpus_line_with_nothing_readable_on_one_side_is_refused_when_read(tmp_path: Path, side: str) -> None:
    """Such a pair passed the reader and failed the trainer after its first epoch, with nothing saved."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"{e}\t{z}\n" for e, z in zip(EN, ZH)) + f"hello\t{side}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"c.tsv:{len(EN) + 1}: the target has no readable characters"):
        data.read_tsv(corpus)


def test_the_trainer_refuses_before_its_first_epoch_what_the_loader_would_refuse() -> None:
    """Language codes over 20 characters, or a Transformer over the loader's bounds, trained to
    the end and wrote a checkpoint no command could load."""
    from models.data import Pair
    from models.train import TrainConfig, train_model

    pairs = {"train": [Pair(e, z) for e, z in zip(EN, ZH)], "dev": [Pair(EN[0], ZH[0])], "test": []}
    epochs = []
    with pytest.raises(ValueError, match="could not be loaded: metadata needs src_lang and tgt_lang"):
        train_model(pairs, {"emb_dim": 16, "hidden": 16}, "english-united-kingdom-oxford", "zh", TrainConfig(epochs=1), progress=False, log=epochs.append)
    with pytest.raises(ValueError, match="could not be loaded: transformers of over 32 layers"):
        train_model(pairs, {"family": "transformer", "emb_dim": 16, "hidden": 16, "heads": 2, "ff_dim": 16, "layers": 33}, "en", "zh",
                    TrainConfig(epochs=1), progress=False, log=epochs.append)
    assert not [m for m in epochs if m.startswith("epoch")]


def test_a_model_file_name_the_loader_would_refuse_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["train", "--epochs", "1", "--out", str(tmp_path / ("m" * 201 + ".safetensors"))]) == 2
    assert "--out: a model's file name can be at most 200 characters" in capsys.readouterr().err


def test_a_token_too_long_for_a_checkpoint_is_left_out_of_the_vocabulary_and_the_model_loads(tmp_path: Path) -> None:
    """One URL of 250 characters in a corpus made the trained checkpoint unloadable."""
    from models.checkpoint import load_checkpoint, save_checkpoint
    from models.data import Pair
    from models.train import TrainConfig, train_model

    url = "http://example.com/" + "x" * 231
    pairs = {"train": [Pair(e, z) for e, z in zip(EN, ZH)] + [Pair(f"see {url}", "看")], "dev": [Pair(EN[0], ZH[0])], "test": []}
    tr = train_model(pairs, {"emb_dim": 16, "hidden": 16}, "en", "zh", TrainConfig(epochs=1), progress=False, log=lambda _m: None)
    assert url not in tr.src_vocab.itos and "see" in tr.src_vocab.itos
    assert load_checkpoint(save_checkpoint(tr, tmp_path / "m.safetensors")).src_vocab.itos == tr.src_vocab.itos


def test_translate_input_without_line_ends_is_read_in_bounded_lines(tmp_path: Path) -> None:
    """``translate --input /dev/zero`` grew one line until memory ran out; a 10 MB line is cut."""
    ckpt = make_translator()
    from models.checkpoint import save_checkpoint

    path = save_checkpoint(ckpt, tmp_path / "m.safetensors")
    run, peak = _cli("translate", "--checkpoint", str(path), "--device", "cpu", "--input", "/dev/zero", timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("error: /dev/zero:1: holds a NUL byte") and "Traceback" not in run.stderr
    long = tmp_path / "long.txt"
    long.write_text("I love you . " * 800_000 + "\nI love you .\n", encoding="utf-8")
    run, peak = _cli("translate", "--checkpoint", str(path), "--device", "cpu", "--input", str(long), timeout=120)
    assert run.returncode == 0 and len(run.stdout.splitlines()) == 2 and "cut to their first" in run.stderr
    assert peak < CLI_PEAK_BOUND


def test_guided_training_on_a_streamed_corpus_says_why_before_reading_the_links(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"{e}\t{z}\n" for e, z in zip(EN, ZH)), encoding="utf-8")
    links = tmp_path / "a.txt"
    links.write_text("0-0\n" * len(EN), encoding="utf-8")
    args = ["train", "--pairs", str(corpus), "--stream", "--guided-alignment", "1", "--alignments", str(links), "--out", str(tmp_path / "m.safetensors")]
    assert cli.main(args) == 2
    assert "guided training (--guided-alignment, --guided-context) needs the corpus in memory" in capsys.readouterr().err


@pytest.mark.parametrize("lines", [3, 40])
def test_links_for_a_corpus_of_another_length_are_refused(tmp_path: Path, lines: int) -> None:
    """A Pharaoh file of 3 or 40 lines for a 12-line corpus trained as if it fitted."""
    from models.aligner import load_training_alignments
    from models.data import Pair

    path = tmp_path / "a.txt"
    path.write_text("0-0\n" * lines, encoding="utf-8")
    pairs = [Pair("a b", "x y", f"line{n}") for n in range(1, 12)]
    with pytest.raises(ValueError, match="a.txt: .* lines of links, but .*: it needs one line per corpus line"):
        load_training_alignments(str(path), pairs, None, corpus_lines=12)
    path.write_text("0-0\n" * 12 + "\n\n", encoding="utf-8")  # blank lines past the end are no links
    assert len(load_training_alignments(str(path), pairs, None, corpus_lines=12)) == 11


def test_pharaoh_links_are_ascii_digits(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    for bad in ("1_0-1", "０-０", "1-2p", "a-b"):
        path.write_text(bad + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match="not Pharaoh 'i-j' format"):
            read_pharaoh(path)


def test_the_results_table_shows_a_dash_for_a_metric_that_is_not_a_number() -> None:
    from models.bundle import _cell

    assert _cell({"bleu": "=1+1"}, "bleu") == "–" and _cell({"aer": 0.5, "aer_low": "x", "aer_high": 0.6}, "aer") == "0.500"
    assert _cell({"bleu": True}, "bleu") == "–" and _cell({"bleu": 12.345}, "bleu") == "12.35"


@pytest.mark.parametrize("command", ["train", "align"])
def test_an_out_path_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture, command: str) -> None:
    rest = {"train": ["--epochs", "1"], "align": ["--checkpoint", "x.safetensors"]}[command]
    assert cli.main([command, *rest, "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path} is a folder" in capsys.readouterr().err
    assert cli.main([command, *rest, "--out", str(tmp_path / "no" / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'no'} does not exist" in err
