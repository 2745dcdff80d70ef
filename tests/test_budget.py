"""The memory budget: the estimate matches the model it describes, and what should pass passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from models.packed import Product
from models.scorers import SCORERS

from bench.tiny import make_translator
from models import budget
from models.budget import BUDGET_ENV, DEFAULT_BUDGET_MB, MB, estimate, estimate_bytes, over_budget
from models.checkpoint import load_checkpoint
from models.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_the_weights_estimate_is_the_models_parameter_bytes(scorer: str) -> None:
    translator = make_translator(scorer, hidden=20)
    params = sum(p.numel() for p in translator.model.parameters())
    assert estimate(translator.model.config).weights == params * budget.FLOAT


def _owned(value: object) -> list[np.ndarray]:
    """The arrays behind ``value`` that own their memory (views of tensors own none)."""
    if not isinstance(value, np.ndarray):
        return []
    while isinstance(value.base, np.ndarray):
        value = value.base
    return [value] if value.base is None else []


@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_the_derived_estimate_covers_the_decoding_tables_and_kernel_copies(scorer: str) -> None:
    translator = make_translator(scorer, hidden=20)
    translator.translate("I love you .", beam=3)
    step = translator.model.decoder.step_weights()
    tensors = [t for t in step if isinstance(t, torch.Tensor)] + [t for p in step if isinstance(p, Product) for t in (p.weight, p.bias)]
    kernel = [a for v in vars(translator.model.cpu_kernel()).values() for a in _owned(v)]
    held = sum(t.numel() * t.element_size() for t in tensors) + sum(p.nbytes for p in step if isinstance(p, Product))
    held += sum(a.nbytes for a in kernel)
    assert held <= estimate(translator.model.config).derived


def test_every_bundled_model_fits_the_default_budget() -> None:
    files = sorted((ROOT / "assets" / "checkpoints").glob("*.safetensors"))
    assert files
    for path in files:
        assert estimate_bytes(load_checkpoint(path).model.config) < DEFAULT_BUDGET_MB * MB / 2, path.name


def test_the_trainers_default_sizes_fit_up_to_a_vocabulary_of_28000_words() -> None:
    assert over_budget(ModelConfig(28_000, 28_000)) is None
    assert over_budget(ModelConfig(40_000, 40_000)) is not None


def test_the_budget_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET_ENV, "2048")
    assert budget.budget_bytes() == 2048 * MB
    assert over_budget(ModelConfig(40_000, 40_000)) is None
    for bad in ("0", "-5", "1.5", "lots"):
        monkeypatch.setenv(BUDGET_ENV, bad)
        with pytest.raises(ValueError, match=BUDGET_ENV):
            budget.budget_bytes()


def test_a_model_over_the_budget_says_what_it_would_take() -> None:
    reason = over_budget(ModelConfig(200_000, 200_000, scorer="dot", emb_dim=4, hidden=1792))  # the 44 MB file of the issue
    assert reason is not None
    assert "8,744 MB" in reason and "decoding tables" in reason and BUDGET_ENV in reason


def test_a_family_without_a_formula_is_an_error() -> None:
    with pytest.raises(TypeError, match="no memory formula"):
        estimate(object())
