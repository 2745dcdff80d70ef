"""Issue 16: `train --help` shows the defaults; `train` ends with a readable summary (--json keeps the JSON)."""

from __future__ import annotations

from models.cli import build_parser, train_summary


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
    assert "1 epochs (best 1) in 12 s on 100 sentence pairs" in lines[1]
    assert lines[2] == "  test (20 sentences): BLEU 3.21 · AER 0.500 [0.400, 0.600]"
    assert "{" not in text
