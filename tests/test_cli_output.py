"""Issue 16: `--help` shows the defaults; `train` ends with a readable summary (--json keeps the
JSON); errors a user meets on the command line say what to do, in one line."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from models.cli import build_parser, main, train_summary


def _commands() -> dict[str, argparse.ArgumentParser]:
    return build_parser()._subparsers._group_actions[0].choices


def test_every_option_of_every_command_has_help_and_says_its_default_once():
    for name, parser in _commands().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}: no help"
            assert parser._get_formatter()._get_help_string(action).count("default:") <= 1, f"{name} {action.dest}: a default said twice"
        text = " ".join(parser.format_help().split())
        assert "(default: None)" not in text and "(default: False)" not in text, name
    evaluate = " ".join(_commands()["evaluate"].format_help().split())
    assert "(default: test)" in evaluate and "(default: 1)" in evaluate


def test_commands_that_write_into_the_project_default_to_its_folders_wherever_they_run():
    from models.paths import ALIGNMENTS, CHECKPOINTS, README

    defaults = {name: {a.dest: a.default for a in p._actions} for name, p in _commands().items()}
    assert defaults["report"]["readme"] == str(README) and defaults["report"]["checkpoints"] == str(CHECKPOINTS)
    assert defaults["eflomal"]["out"] == str(ALIGNMENTS) and defaults["bundle"]["out"] == str(CHECKPOINTS)


def test_train_help_shows_every_default():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    options = text.split("options:", 1)[1]
    for option, default in [("--epochs", "30"), ("--batch-size", "64"), ("--lr", "0.002"), ("--scorer", "additive"), ("--device", "auto")]:
        entry = options.split(f"  {option} ", 1)[1].split("\n  -", 1)[0]
        assert f"(default: {default})" in " ".join(entry.split()), option


def test_the_training_summary_is_a_few_readable_lines():
    meta = {
        "training": {"epochs_run": 1, "best_epoch": 1, "seconds": 12.5, "pairs": {"train": 100}},
        "metrics": {"test": {"sentences": 20, "bleu": 3.21, "aer": 0.5, "aer_low": 0.4, "aer_high": 0.6}},
    }
    text = train_summary("m.safetensors", meta)
    lines = text.splitlines()
    assert lines[0] == "saved m.safetensors"
    assert "1 epoch (best 1) in 12 s on 100 sentence pairs" in lines[1]
    assert lines[2] == "  test (20 sentences): BLEU 3.21 · AER 0.500 [0.400, 0.600]"
    assert "{" not in text


@pytest.mark.parametrize("args, message", [
    (["translate", "--checkpoint", "x.safetensors"], "error: give a sentence to translate, or --input FILE (- for standard input)"),
    (["translate", "--checkpoint", "x.safetensors", "--input", "in.txt", "hello"], "error: give a sentence to translate or --input FILE, not both"),
    (["train", "--family", "transformer", "--hidden", "30", "--heads", "4", "--out", "m.safetensors"], "error: --hidden (30) must be a multiple of --heads (4)"),
])
def test_command_line_mistakes_are_told_in_one_line(args, message, capsys):
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == message


def test_missing_files_and_folders_are_named_plainly(tiny_checkpoint, tmp_path, capsys):
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(tmp_path / "nope.txt")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no such file: {tmp_path / 'nope.txt'}"
    assert main(["translate", "--checkpoint", str(tiny_checkpoint), "--input", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path} is a folder: give a file"
    assert main(["translate", "--checkpoint", str(tmp_path), "hello"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path} is a folder: give a .safetensors file in it"


def test_report_names_the_file_that_does_not_load(tiny_checkpoint, tmp_path, capsys):
    (tmp_path / "a.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    (tmp_path / "b.safetensors").write_bytes(b"not a model")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n")
    assert main(["report", "--checkpoints", str(tmp_path), "--readme", str(readme)]) == 2
    assert capsys.readouterr().err.startswith("error: b.safetensors: ")
    assert main(["report", "--checkpoints", str(tmp_path / "a.safetensors"), "--readme", str(readme)]) == 2
    assert "no .safetensors files in" in capsys.readouterr().err


def test_hsk_commands_on_a_model_of_another_language_pair_say_what_to_do_instead():
    from models.cli import _check_hsk

    _check_hsk(SimpleNamespace(direction="zh-en"), "unused")
    with pytest.raises(ValueError, match="this model translates de-en; the HSK corpus is en-zh and zh-en: give --pairs FILE"):
        _check_hsk(SimpleNamespace(direction="de-en"), "give --pairs FILE")


def test_eflomal_scores_against_the_bundled_references_wherever_it_writes(tmp_path, monkeypatch):
    from models import aligner

    monkeypatch.setattr(aligner, "run_eflomal", lambda en, zh, n: ([set() for _ in en], [set() for _ in en]))
    scores = aligner.align_hsk(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "test.ids").is_file()
    assert scores["gdfa"]["recall"] == 0.0  # no links against the bundled gold: scored, not refused
