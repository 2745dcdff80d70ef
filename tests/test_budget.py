"""The memory budget: the estimate matches the model it describes, and what should pass passes."""

from __future__ import annotations

import pytest
import torch

from bench.common import TensorMemory
from bench.tiny import make_translator
from models import budget
from models.budget import BUDGET_ENV, DEFAULT_BUDGET_MB, MB, estimate, estimate_bytes, over_budget
from models.checkpoint import load_checkpoint, round_as_stored
from models.config import ModelConfig
from models.nets import build_model
from models.nets.packed import Product, fbgemm_available, packed_bytes
from models.nets.rnn import token_tables_bytes
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


def kept_bytes(model: torch.nn.Module) -> int:
    """Bytes of what ``model``'s modules keep from their weights: tensors, and FBGEMM's copies."""
    total = 0
    for m in model.modules():
        for _, value in getattr(m, "_derived", {}).values():
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, Product):
                    total += packed_bytes(*v.weight.shape) if v.packed is not None else 0
                else:
                    total += v.numel() * v.element_size()
    return total


def use_every_product(translator) -> None:
    """Decode (the step's products) and teacher-force (the whole projection) once, weights as stored."""
    round_as_stored(translator.model)
    result = translator.translate("the cat sat on the mat .")
    translator.force(result.source_tokens[:-1], result.target_tokens[:-1])


@pytest.mark.skipif(not fbgemm_available(), reason="no FBGEMM on this machine: nothing is packed")
@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_the_derived_estimate_is_the_tables_and_packed_products_the_gru_keeps(scorer: str) -> None:
    translator = make_translator(scorer, hidden=16)
    use_every_product(translator)
    _, tables = translator.model.decoder._derived["tables"]
    assert sum(t.numel() for t in tables) * budget.FLOAT == token_tables_bytes(translator.model.config.tgt_vocab_size, 16, 16)
    assert estimate(translator.model.config).derived == kept_bytes(translator.model)


@pytest.mark.skipif(not fbgemm_available(), reason="no FBGEMM on this machine: nothing is packed")
def test_the_derived_estimate_is_the_packed_products_the_transformer_keeps() -> None:
    translator = make_translator("additive", hidden=16)
    c = translator.model.config
    translator.model = build_model(ModelConfig(c.src_vocab_size, c.tgt_vocab_size, family="transformer", hidden=16, layers=2, heads=2, ff_dim=32)).eval()
    use_every_product(translator)
    assert kept_bytes(translator.model) == estimate(translator.model.config).derived > 0


def test_over_the_cap_the_gru_keeps_no_tables_nor_counts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_translator("dot", hidden=16).model.config
    with_tables = estimate(config).derived
    monkeypatch.setattr(budget, "TOKEN_TABLES_MAX_BYTES", 0)
    assert with_tables - estimate(config).derived == token_tables_bytes(config.tgt_vocab_size, 16, 16)


def test_every_bundled_model_fits_the_default_budget() -> None:
    files = sorted(CHECKPOINTS.glob("*.safetensors"))
    assert files
    for path in files:
        assert estimate_bytes(load_checkpoint(path).model.config) < DEFAULT_BUDGET_MB * MB / 2, path.name


def test_the_trainers_default_sizes_fit_up_to_a_vocabulary_of_110000_words() -> None:
    """Twice the streaming trainer's default --max-vocab (50,000), packed output layer included."""
    assert over_budget(ModelConfig(110_000, 110_000)) is None
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
    config = ModelConfig(200_000, 200_000, scorer="dot", emb_dim=4, hidden=2560)
    reason = over_budget(config)
    assert reason is not None
    assert f"about {estimate(config).total / MB:,.0f} MB" in reason and "one translation" in reason and BUDGET_ENV in reason


def test_a_family_without_a_formula_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(budget.FORMULAS, "transformer")
    with pytest.raises(TypeError, match="no memory formula"):
        estimate(ModelConfig(10, 10, family="transformer", hidden=16, heads=2))
