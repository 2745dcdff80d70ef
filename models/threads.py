"""Threads per operation for both of the CPU's math libraries: PyTorch's (MKL, OpenMP) and
NumPy's (OpenBLAS, used by models/kernel.py)."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits


def set_threads(n: int) -> None:
    """Use ``n`` threads per operation in PyTorch and in NumPy's BLAS, for this process."""
    torch.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")
