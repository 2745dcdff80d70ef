"""Threads per operation for the CPU's two math libraries: PyTorch's (MKL, OpenMP) and NumPy's
BLAS (OpenBLAS, which only the one-sentence kernel of models/kernel.py uses)."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits


def set_threads(n: int) -> None:
    """Use ``n`` threads per operation in PyTorch, and one in NumPy's BLAS, for this process.

    The kernel's products are one sentence's (a vector, or a few beams, by a matrix): a second
    BLAS thread does not speed them up, and its threads, spinning after each product, take the
    cores from PyTorch's own (greedy decoding measured 9.7 ms per sentence with both libraries
    at two threads, 3.8 ms with BLAS at one; bench/decode.py --threads 2)."""
    torch.set_num_threads(n)
    threadpool_limits(limits=1, user_api="blas")
