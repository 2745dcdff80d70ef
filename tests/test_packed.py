"""Prepacked products (models/packed.py): the same numbers as addmm, on every path."""

import pytest
import torch

from models import packed
from models.packed import Product


def _product(n_in: int = 24, n_out: int = 40, seed: int = 0) -> tuple[Product, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w, b = torch.randn(n_in, n_out, generator=g), torch.randn(n_out, generator=g)
    return Product(w, b), w, b


def test_this_torch_build_packs_for_onednn():
    """The pinned CPU wheel has oneDNN's packed linear; without it every product would quietly
    be addmm, so say so here rather than in a benchmark."""
    assert packed.ONEDNN
    assert _product()[0].packed is not None


@pytest.mark.parametrize("rows", [1, 2, 5, 64])
def test_product_equals_addmm(rows):
    p, w, b = _product()
    x = torch.randn(rows, w.size(0), generator=torch.Generator().manual_seed(rows))
    with torch.inference_mode():
        torch.testing.assert_close(p(x), torch.addmm(b, x, w), rtol=1e-5, atol=1e-5)


def test_product_reads_a_strided_input():
    p, w, b = _product()
    x = torch.randn(6, 2 * w.size(0))[:, ::2]  # every other column: not contiguous
    torch.testing.assert_close(p(x), torch.addmm(b, x, w), rtol=1e-5, atol=1e-5)


def test_product_passes_gradients_through_addmm():
    p, w, b = _product()
    x = torch.randn(5, w.size(0), requires_grad=True)
    p(x).square().sum().backward()
    expected = torch.autograd.grad(torch.addmm(b, x, w).square().sum(), x)[0]
    torch.testing.assert_close(x.grad, expected)


def test_without_onednn_every_product_is_addmm(monkeypatch):
    monkeypatch.setattr(packed, "ONEDNN", False)
    p, w, b = _product()
    assert p.packed is None and p.nbytes == 0
    x = torch.randn(5, w.size(0))
    assert torch.equal(p(x), torch.addmm(b, x, w))
