"""Shared fixtures: tiny untrained-but-valid checkpoints so tests never need the bundled models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from bench.tiny import make_translator
from models.checkpoint import save_checkpoint
from models.nets import packed
from models.translator import Translator

torch.set_num_threads(1)  # tiny models: one thread is fastest and leaves the other core free


@pytest.fixture(autouse=True)
def _pack_small_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny models' weights are packed for decoding like a real model's (models.nets.packed),
    though packing weights this small costs more memory than it saves."""
    monkeypatch.setattr(packed, "PACK_MIN_IN_FEATURES", 1)


@pytest.fixture
def tiny_translator() -> Translator:
    return make_translator()


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    return save_checkpoint(make_translator(), tmp_path / "tiny.safetensors")


@pytest.fixture
def tiny_checkpoint_dir(tmp_path: Path) -> Path:
    """A folder laid out like assets/checkpoints with a few tiny models of different kinds."""
    d = tmp_path / "checkpoints"
    for scorer, mode in [("additive", "soft"), ("dot", "soft"), ("general", "soft"), ("additive", "hard")]:
        save_checkpoint(make_translator(scorer, mode), d / f"en-zh-{scorer}-{mode}.safetensors")
    save_checkpoint(make_translator(src_lang="zh", tgt_lang="en"), d / "zh-en-additive-soft.safetensors")
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ATTNVIZ_REQUIRE_BROWSER set (CI), a skipped browser test is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("browser") and os.environ.get("ATTNVIZ_REQUIRE_BROWSER"):
        report.outcome = "failed"
        report.longrepr = f"browser test skipped but ATTNVIZ_REQUIRE_BROWSER is set: {report.longrepr}"
