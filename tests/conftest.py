"""Shared fixtures: tiny untrained-but-valid checkpoints so tests never need the bundled models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from models.checkpoint import save_checkpoint
from models.config import ModelConfig
from models.nets import build_model
from models.tokenize import tokenizer_for
from models.translator import Translator
from models.vocab import Vocab

torch.set_num_threads(1)  # tiny models: one thread is fastest and leaves the other core free

EN = ["I love you .", "the cat sat on the mat .", "he is a teacher .", "we like tea ."]
ZH = ["我爱你。", "猫坐在垫子上。", "他是老师。", "我们喜欢茶。"]


def make_translator(scorer: str = "additive", mode: str = "soft", seed: int = 0, src_lang: str = "en", tgt_lang: str = "zh", hidden: int = 16) -> Translator:
    """A small randomly initialised model over a toy en-zh vocabulary."""
    torch.manual_seed(seed)
    src_tok, tgt_tok = tokenizer_for(src_lang), tokenizer_for(tgt_lang)
    src_texts, tgt_texts = (EN, ZH) if src_lang == "en" else (ZH, EN)
    sv = Vocab.build((src_tok.tokenize(s) for s in src_texts), lowercase=src_tok.lowercase)
    tv = Vocab.build((tgt_tok.tokenize(s) for s in tgt_texts), lowercase=tgt_tok.lowercase)
    cfg = ModelConfig(len(sv), len(tv), scorer=scorer, mode=mode, emb_dim=hidden, hidden=hidden, dropout=0.0)
    model = build_model(cfg).eval()
    return Translator(model, sv, tv, src_tok, tgt_tok, src_lang, tgt_lang, meta={"name": f"tiny-{scorer}-{mode}", "training": {"corpus": "toy"}, "metrics": {}})


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
