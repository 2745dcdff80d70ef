"""Matrix products with a fixed weight matrix, the weight prepacked once for oneDNN on the CPU.

The BLAS behind ``torch.addmm`` (MKL) and NumPy's ``@`` (OpenBLAS) repack the weight matrix into
their blocked layout on every call. For the few rows of a beam (n = 5) or the tail of a batch
that repacking costs more than the arithmetic: a (5, 256) × (256, 1,753) product took 216 µs in
OpenBLAS and 135 µs in MKL but about 80 µs in oneDNN with the weight packed beforehand (2 threads,
this project's CPUs; ``bench/decode.py`` measures the decoders that use it). One row is a
matrix-vector product, which needs no packing and is quicker through the BLAS, so it stays there.

oneDNN's packed linear is an internal PyTorch operator (the one ``torch.compile`` uses on the
CPU), so ``ONEDNN`` checks once, on a small product, that it exists and agrees with ``addmm``;
if not, every product is ``addmm``.
"""

from __future__ import annotations

import torch

PACKING_ROWS = 16  # the row count oneDNN is told to expect when packing (a hint; any count works)


def _packed_linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


def _pack(weight: torch.Tensor) -> torch.Tensor:
    """weight (in, out) -> oneDNN's packed form of its transpose (out, in)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.t().contiguous(), PACKING_ROWS)


def _onednn_works() -> bool:
    try:
        with torch.inference_mode():
            g = torch.Generator().manual_seed(0)
            w, b, x = (torch.randn(*shape, generator=g) for shape in ((8, 24), (24,), (3, 8)))
            return bool(torch.allclose(_packed_linear(x, _pack(w), b), torch.addmm(b, x, w), atol=1e-5))
    except (AttributeError, RuntimeError):
        return False


ONEDNN = torch.backends.mkldnn.is_available() and _onednn_works()


class Product:
    """x ↦ x @ weight + bias for a fixed weight (in, out) and bias (out,): ``Product(w, b)(x)``
    for x (n, in) gives (n, out). Inference only: an input that needs a gradient goes through
    ``addmm``, as do one-row inputs and tensors off the CPU."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.weight, self.bias = weight, bias  # (in, out), (out,)
        self.packed = _pack(weight) if ONEDNN and weight.device.type == "cpu" else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None or x.size(0) < 2 or x.requires_grad:
            return torch.addmm(self.bias, x, self.weight)
        return _packed_linear(x, self.packed, self.bias)

    @property
    def nbytes(self) -> int:
        """Bytes of the packed copy (its dense size: oneDNN's layout is opaque), 0 without one."""
        return 0 if self.packed is None else self.packed.numel() * self.packed.element_size()
