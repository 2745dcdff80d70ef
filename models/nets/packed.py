"""Products with float16-packed weights for inference on x86 CPUs (FBGEMM), and the modules
that keep them.

A checkpoint stores its weights as float16 (``checkpoint.STORED_DTYPE``), so a loaded model's
weights are float16 numbers held in float32. FBGEMM's fp16-weight product keeps such a weight
packed in float16 and computes in float32 (float32 inputs, float32 sums): F.linear's numbers up
to the order of the sums, the same for a row whatever rows are beside it, and on x86 CPUs
faster than PyTorch's float32 product for the few rows (one per sentence or beam) of a decoding
step. Nothing is rounded: a weight that is not exactly float16 (a model being
trained) keeps F.linear. So does a weight of fewer than PACK_MIN_IN_FEATURES in-features, whose
packed copy would take more memory than the weight itself.

``Derived`` modules keep values made from their weights (these products, the GRU's per-token
tables) while decoding, and forget them whenever the weights may change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def fbgemm_available() -> bool:
    """Whether FBGEMM can pack products now: this PyTorch build and CPU have it (x86 with AVX2 or
    later) and the quantized engine is FBGEMM's (``x86``, the default there, or ``fbgemm``)."""
    return "fbgemm" in torch.backends.quantized.supported_engines and torch.backends.quantized.engine in ("x86", "fbgemm")


def exactly_float16(t: torch.Tensor) -> bool:
    """Every element of ``t`` is a float16 number (so packing it as float16 loses nothing)."""
    return bool(torch.equal(t, t.to(torch.float16).to(t.dtype)))


# FBGEMM's packed layout (PackedGemmMatrixFP16): in-features padded to blocks of 512, out-features
# to blocks of 32 (its widest kernel's), plus 1 KiB for its software-pipelined kernels.
PACK_BLOCK_IN, PACK_BLOCK_OUT, PACK_PADDING = 512, 32, 1024
PACK_MIN_IN_FEATURES = PACK_BLOCK_IN // 2  # below it the float16 block would outweigh the float32 weight


def packed_bytes(out_features: int, in_features: int) -> int:
    """The bytes a ``Product`` keeps for an (out_features, in_features) weight: FBGEMM's float16
    copy, or 0 below PACK_MIN_IN_FEATURES (not packed)."""
    if in_features < PACK_MIN_IN_FEATURES:
        return 0
    blocks = -(-in_features // PACK_BLOCK_IN) * PACK_BLOCK_IN * -(-out_features // PACK_BLOCK_OUT) * PACK_BLOCK_OUT
    return 2 * blocks + PACK_PADDING


class Product:
    """x (..., in) -> x Wᵀ + b (..., out) for a weight W (out, in) and a bias b (out,) or None:
    FBGEMM's float16-packed product on float32 CPU inputs where W allows it (float32 on the CPU,
    exactly float16, ``packed_bytes`` not 0, FBGEMM present, ``pack`` asked), else F.linear."""

    __slots__ = ("weight", "bias", "packed")

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, pack: bool = True) -> None:
        self.weight, self.bias = weight, bias
        self.packed = None
        cpu32 = weight.device.type == "cpu" and weight.dtype == torch.float32 and weight.dim() == 2
        if pack and cpu32 and packed_bytes(*weight.shape) and fbgemm_available() and exactly_float16(weight):
            b = None if bias is None else bias.detach().float().contiguous()  # the bias stays float32
            self.packed = torch.ops.quantized.linear_prepack_fp16(weight.detach().contiguous(), b)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None and x.dtype == torch.float32 and x.device.type == "cpu":
            return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)
        return F.linear(x, self.weight, self.bias)


class Derived(nn.Module):
    """Base of modules that keep values made from their weights for decoding (``derived``):
    made on first use in eval mode while no gradient is wanted, made again when the weight moves
    (other memory, device or dtype), forgotten by ``train``/``eval``, by loading a state dict and
    by ``forget`` (the ways weights change in place in this project)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[str, tuple[tuple, Any]] = {}  # name -> (what it was made from, value)
        self.register_load_state_dict_post_hook(lambda module, keys: module._derived.clear())

    def train(self, mode: bool = True) -> Derived:
        self._derived.clear()
        return super().train(mode)

    def derived(self, name: str, like: torch.Tensor, make: Callable[[], Any]) -> Any:
        """``make()``, kept under ``name`` while ``like`` (the weight it is made from) keeps its
        memory, device and dtype; None in training mode or while a gradient is wanted."""
        if self.training or torch.is_grad_enabled():
            return None
        source = (like.device, like.dtype, like.data_ptr())
        kept = self._derived.get(name)
        if kept is None or kept[0] != source:
            kept = (source, make())
            self._derived[name] = kept
        return kept[1]


def forget(model: nn.Module) -> None:
    """Drop every value ``model``'s modules derived from their weights (after changing weights
    in place in eval mode)."""
    for m in model.modules():
        if isinstance(m, Derived):
            m._derived.clear()


class Linear(Derived, nn.Linear):
    """nn.Linear that multiplies with a kept ``Product`` while decoding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        product = self.derived("product", self.weight, lambda: Product(self.weight, self.bias))
        return super().forward(x) if product is None else product(x)
