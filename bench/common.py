"""What both benchmarks share: the machine description and small timing helpers."""

from __future__ import annotations

import argparse
import os
import platform
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from models.bundle import replace_block

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


def rss(pid: int | str = "self") -> int:
    """Resident memory of process ``pid`` (default: this one) in bytes (VmRSS)."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device, clock: str = "wall") -> str:
    """One line: CPU, cores, torch threads and version, device, clock, and the load average (other processes)."""
    parts = [f"CPU {cpu_model()}", f"{os.cpu_count()} cores", f"torch threads {torch.get_num_threads()}", f"torch {torch.__version__}"]
    parts.append(f"device {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "device CPU")
    parts.append(f"{clock} clock")
    if hasattr(os, "getloadavg"):
        parts.append("load average {:.1f} / {:.1f} / {:.1f} (1, 5, 15 min)".format(*os.getloadavg()))
    return ", ".join(parts)


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def add_report_args(parser: argparse.ArgumentParser) -> None:
    """``--out FILE`` and ``--readme``, the options of ``report``."""
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    parser.add_argument("--readme", action="store_true", help="also put the report in README.md, between this script's markers")


def report(script: str, argv: list[str], parts: list[str], args: argparse.Namespace) -> None:
    """Print the parts, then the command that made them; also write it all to ``args.out``
    and, with ``args.readme``, into README.md between ``<!-- {script}:start -->`` and
    ``<!-- {script}:end -->``."""
    text = "\n\n".join([*parts, f"Command: python {script} {' '.join(argv)}".rstrip()])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.readme:
        replace_block(ROOT / "README.md", f"<!-- {script}:start -->", f"<!-- {script}:end -->", text)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


@dataclass(frozen=True)
class Timer:
    """Times calls on ``device``, waiting for it to finish. ``clock`` "wall" is elapsed time;
    "cpu" is the CPU time of this process's threads, which load from other processes inflates
    less (but it counts threads that spin while waiting)."""

    device: torch.device
    clock: str = "wall"

    def __call__(self, fn: Callable, *args) -> tuple[float, object]:
        """(seconds, fn(*args))."""
        now = CLOCKS[self.clock]
        sync(self.device)
        t0 = now()
        out = fn(*args)
        sync(self.device)
        return now() - t0, out


def median_p95_ms(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1e3
    return f"{np.median(ms):.2f} ({np.percentile(ms, 95):.2f})"


def _dense(t) -> bool:
    """A tensor with a storage to count."""
    return isinstance(t, torch.Tensor) and not t.is_mkldnn


class TensorMemory(TorchDispatchMode):
    """Live and peak bytes of the tensor storage that operations create while this mode is on.

    Every new output storage counts from its creation until it is freed; views and in-place
    results (storage shared with an input) count once. Works alike on CPU and CUDA; scratch
    space inside a single kernel is not seen.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self._live: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage()._cdata for t in tree_leaves((args, kwargs)) if _dense(t)}
        for t in tree_leaves(out):
            if not _dense(t):
                continue
            storage = t.untyped_storage()
            key = storage._cdata
            if key in inputs or key in self._live:
                continue
            self._live.add(key)
            self.live += storage.nbytes()
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._free, key, storage.nbytes())
        return out

    def _free(self, key: int, nbytes: int) -> None:
        self._live.discard(key)
        self.live -= nbytes


def peak_tensor_mib(device: torch.device, fn: Callable, *args) -> float:
    """Peak tensor memory of ``fn(*args)`` in MiB: the allocator's peak on CUDA, else ``TensorMemory``."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn(*args)
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    with TensorMemory() as mem:
        fn(*args)
    return mem.peak / 2**20
