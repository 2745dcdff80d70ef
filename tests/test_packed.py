"""Float16-packed products (models/nets/packed.py): F.linear's numbers for weights that are float16
numbers, nothing packed where it would round or waste memory, nothing kept while training, and
what is kept is forgotten when the weights change."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from models.checkpoint import load_checkpoint
from models.corpus import HSK
from models.nets import packed
from models.nets.packed import Linear, Product, fbgemm_available, forget
from models.paths import CHECKPOINTS

needs_fbgemm = pytest.mark.skipif(not fbgemm_available(), reason="no FBGEMM on this machine: nothing is packed")


def float16_numbers(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 0.1).half().float()


def kept(layer: torch.nn.Module) -> list:
    return list(layer._derived.values())


@needs_fbgemm
def test_a_packed_product_is_f_linear_up_to_the_order_of_its_sums() -> None:
    w, b = float16_numbers(300, 256), float16_numbers(300, seed=1)
    x = torch.randn(64, 7, 256, generator=torch.Generator().manual_seed(2))
    product = Product(w, b)
    assert product.packed is not None
    exact = F.linear(x.double(), w.double(), b.double())
    assert product(x).shape == (64, 7, 300)
    assert (product(x).double() - exact).abs().max() < 1e-5
    assert (F.linear(x, w, b).double() - exact).abs().max() < 1e-5


@needs_fbgemm
def test_a_rows_packed_product_does_not_depend_on_the_rows_beside_it() -> None:
    product = Product(float16_numbers(300, 256), None)
    x = torch.randn(33, 256, generator=torch.Generator().manual_seed(3))
    assert torch.equal(product(x), torch.cat([product(x[i : i + 1]) for i in range(33)]))


def test_weights_that_are_not_float16_numbers_are_not_packed() -> None:
    w = torch.randn(300, 256, generator=torch.Generator().manual_seed(4))
    product, x = Product(w, None), torch.randn(5, 256)
    assert product.packed is None
    assert torch.equal(product(x), F.linear(x, w))


@needs_fbgemm
def test_under_another_quantized_engine_nothing_is_packed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.quantized, "engine", "qnnpack")
    w = float16_numbers(300, 256)
    assert Product(w, None).packed is None
    x = torch.randn(3, 256)
    assert torch.equal(Product(w, None)(x), F.linear(x, w))


@needs_fbgemm
def test_narrow_weights_are_not_packed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packed, "PACK_MIN_IN_FEATURES", packed.PACK_BLOCK_IN // 2)  # as outside the tests
    assert Product(float16_numbers(300, 255), None).packed is None
    assert Product(float16_numbers(300, 256), None).packed is not None
    assert packed.packed_bytes(300, 255) == 0 < packed.packed_bytes(300, 256)


def test_nothing_is_kept_in_training_or_while_a_gradient_is_wanted() -> None:
    layer = Linear(256, 300)
    with torch.no_grad():
        layer.weight.copy_(float16_numbers(300, 256))
    x = torch.randn(4, 256)
    with torch.no_grad():
        layer(x)  # training mode
    assert kept(layer) == []
    layer.eval()
    y = layer(x.requires_grad_())
    y.sum().backward()
    assert kept(layer) == [] and layer.weight.grad is not None
    with torch.no_grad():
        layer(x)
    assert len(kept(layer)) == 1


@needs_fbgemm
def test_what_is_kept_follows_new_weights() -> None:
    layer, other = Linear(256, 300).eval(), Linear(256, 300)
    with torch.no_grad():
        layer.weight.copy_(float16_numbers(300, 256))
        other.weight.copy_(float16_numbers(300, 256, seed=5))
    x = torch.randn(4, 256)
    with torch.inference_mode():
        before = layer(x)
        layer.load_state_dict(other.state_dict())
        assert kept(layer) == []
        after = layer(x)
        assert not torch.allclose(before, after)
        torch.testing.assert_close(after, F.linear(x, other.weight, other.bias))
        layer.weight.mul_(2.0)  # in place, in eval mode: forget() says so
        forget(layer)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
    layer.train()
    assert kept(layer) == []


@needs_fbgemm
@pytest.mark.parametrize("name", ["en-zh-additive-soft", "zh-en-transformer-guided"])
def test_a_bundled_model_packs_its_products_and_translates_as_unpacked(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = CHECKPOINTS / f"{name}.safetensors"
    fast = load_checkpoint(path)
    sources = [p.src for p in HSK.splits(fast.direction)["test"][:40]]
    translations = fast.translate_batch(sources)
    assert fast.model.decoder.out._derived["product"][1].packed is not None
    monkeypatch.setattr(packed, "fbgemm_available", lambda: False)
    plain = load_checkpoint(path)
    assert plain.translate_batch(sources) == translations
    a, b = fast.translate(sources[0]), plain.translate(sources[0])
    assert a.best.tokens == b.best.tokens
    torch.testing.assert_close(torch.tensor(a.best.token_probs), torch.tensor(b.best.token_probs), atol=1e-5, rtol=0)


@needs_fbgemm
def test_a_layer_moved_and_moved_back_makes_its_product_again() -> None:
    layer = Linear(256, 300).eval()
    with torch.no_grad():
        layer.weight.copy_(float16_numbers(300, 256))
    x = torch.randn(4, 256)
    with torch.inference_mode():
        layer(x)
        first = layer._derived["product"][1]
        layer.double()  # as a move to another device: new memory
        torch.testing.assert_close(layer(x.double()), F.linear(x.double(), layer.weight, layer.bias))
        layer.float()
        again = layer(x)
    product = layer._derived["product"][1]
    assert list(layer._derived) == ["product"] and product is not first and product.packed is not None
    torch.testing.assert_close(again, F.linear(x, layer.weight, layer.bias))
