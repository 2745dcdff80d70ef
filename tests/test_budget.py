"""The memory budget: the estimate matches the model it describes, and what should pass passes."""

from __future__ import annotations

import pytest

from bench.common import TensorMemory
from bench.tiny import make_translator
from models import budget
from models.budget import BUDGET_ENV, DEFAULT_BUDGET_MB, MB, estimate, estimate_bytes, over_budget
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.nets import build_model
from models.nets.scorers import SCORERS
from models.paths import CHECKPOINTS
from models.translator import MAX_BEAM, MAX_SOURCE_TOKENS


@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_the_weights_estimate_is_the_models_parameter_bytes(scorer: str) -> None:
    translator = make_translator(scorer, hidden=20)
    params = sum(p.numel() for p in translator.model.parameters())
    assert estimate(translator.model.config).weights == params * budget.FLOAT


def test_the_transformers_weights_estimate_is_its_parameter_bytes() -> None:
    config = ModelConfig(50, 60, family="transformer", hidden=32, layers=2, heads=4, ff_dim=48)
    model = build_model(config)
    params = sum(p.numel() for p in model.parameters())
    assert estimate(config).weights == params * budget.FLOAT


@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_decoding_the_longest_input_with_the_widest_beam_stays_within_the_working_estimate(family: str) -> None:
    translator = make_translator("additive", hidden=16)
    if family == "transformer":
        c = translator.model.config
        translator.model = build_model(ModelConfig(c.src_vocab_size, c.tgt_vocab_size, family="transformer", hidden=16, layers=2, heads=2, ff_dim=32)).eval()
    text = " ".join(["the cat sat on the mat ."] * 20)  # cut to MAX_SOURCE_TOKENS
    with TensorMemory() as mem:
        result = translator.translate(text, beam=MAX_BEAM)
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS + 1
    cost = estimate(translator.model.config)
    assert mem.peak <= cost.derived + cost.working  # the first decoding also makes the GRU's token tables


def test_the_derived_estimate_is_the_gru_token_tables_it_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    translator = make_translator("dot", hidden=16)
    translator.translate("the cat sat on the mat .")
    tables = translator.model.decoder._tables
    assert tables is not None and estimate(translator.model.config).derived == sum(t.numel() for t in tables) * budget.FLOAT
    monkeypatch.setattr(budget, "TOKEN_TABLES_MAX_BYTES", 0)  # tables over the cap are not made, nor counted
    assert estimate(translator.model.config).derived == 0


def test_every_bundled_model_fits_the_default_budget() -> None:
    files = sorted(CHECKPOINTS.glob("*.safetensors"))
    assert files
    for path in files:
        assert estimate_bytes(load_checkpoint(path).model.config) < DEFAULT_BUDGET_MB * MB / 2, path.name


def test_the_trainers_default_sizes_fit_up_to_a_vocabulary_of_120000_words() -> None:
    assert over_budget(ModelConfig(120_000, 120_000)) is None
    assert over_budget(ModelConfig(140_000, 140_000)) is not None


def test_the_budget_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET_ENV, "2048")
    assert budget.budget_bytes() == 2048 * MB
    assert over_budget(ModelConfig(140_000, 140_000)) is None
    for bad in ("0", "-5", "1.5", "lots"):
        monkeypatch.setenv(BUDGET_ENV, bad)
        with pytest.raises(ValueError, match=BUDGET_ENV):
            budget.budget_bytes()


def test_a_model_over_the_budget_says_what_it_would_take() -> None:
    reason = over_budget(ModelConfig(200_000, 200_000, scorer="dot", emb_dim=4, hidden=2560))
    assert reason is not None
    assert "575 MB" in reason and "one translation" in reason and BUDGET_ENV in reason


def test_a_family_without_a_formula_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(budget.FORMULAS, "transformer")
    with pytest.raises(TypeError, match="no memory formula"):
        estimate(ModelConfig(10, 10, family="transformer", hidden=16, heads=2))
