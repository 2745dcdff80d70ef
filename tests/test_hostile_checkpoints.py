"""Hostile and broken checkpoints are refused with a reason, run no code, and take no memory.

Memory is measured around each load: Python allocations with tracemalloc, and the process's
peak resident size (VmHWM, reset through /proc/self/clear_refs) for what torch allocates in C.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import models.checkpoint as ckpt
from bench.hostile import HOSTILE, hostile_file, marker_path, valid_checkpoint
from models.checkpoint import CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20
MEMORY_BOUND = 50 * MB  # Python allocations while refusing (a 200,000-word header parses to about 30 MB)
RSS_BOUND = 100 * MB  # resident growth, tracemalloc's own bookkeeping included
CLI_CASES = [
    "pickle that runs code", "torch .pt whose pickle runs code", ".pt zip with a 4 GB entry", "zero bytes", "header length of 2**62",
    "non-finite weights", ".pt whose pickle calls bytearray(8 GiB)", ".pt of stride-0 tensors declaring 200k x 1,024",
    ".pt with meta-device tensors", ".pt with sparse tensors", "valid safetensors of 200k words, embedding 4, hidden 2,560",
    "config.hidden a string", "a target token holding ESC", "valid 7 MB Transformer of 2 layers of 64 heads",
]
CLI_PEAK_BOUND = 1024 * MB  # the whole CLI process, torch included (these files took it to 7.4 and 8.7 GB)
# Runs ``python -m models`` and writes the process's peak resident size (KiB) to the file named first.
WITH_PEAK = (
    "import atexit, resource, runpy, sys; out = sys.argv.pop(1); "
    "atexit.register(lambda: open(out, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))); "
    "runpy.run_module('models', run_name='__main__', alter_sys=True)"
)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the valid original; loading it once keeps torch's lazy imports out of the measurements."""
    folder = tmp_path_factory.mktemp("hostile")
    load_checkpoint(valid_checkpoint(folder))
    return folder


def _status_kb(field: str) -> int | None:
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    return next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), None)


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def refuse(data: bytes) -> tuple[CheckpointError, int, int | None]:
    """Load ``data`` expecting a refusal -> (error, Python peak bytes, peak RSS growth in bytes or None)."""
    measure_rss = _reset_peak_rss()
    rss_before = _status_kb("VmRSS")
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(data)
        _, py_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak = _status_kb("VmHWM")
    rss_growth = (peak - rss_before) * 1024 if measure_rss and peak and rss_before else None
    return caught.value, py_peak, rss_growth


def test_valid_checkpoint_loads(tmp: Path) -> None:
    assert load_checkpoint((tmp / "valid.safetensors").read_bytes()).translate("I love you .").hypotheses


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_checkpoint_is_refused_with_its_reason_in_flat_memory(case: str, tmp: Path) -> None:
    data, reason = hostile_file(case, tmp)
    error, py_peak, rss_growth = refuse(data)
    assert reason in str(error)
    assert not marker_path(tmp).exists(), "unpickling ran code"
    assert py_peak < MEMORY_BOUND, f"Python allocations peaked at {py_peak / MB:.0f} MB"
    assert rss_growth is None or rss_growth < RSS_BOUND, f"resident memory grew by {rss_growth / MB:.0f} MB"


def test_file_over_the_size_limit_is_refused_before_it_is_read(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp / "valid.safetensors"
    monkeypatch.setattr(ckpt, "MAX_FILE_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read"))
    with pytest.raises(CheckpointError, match=r"the file is [\d,]+ bytes, larger than the [\d,]+ bytes limit"):
        load_checkpoint(path)


def test_upload_over_the_size_limit_is_refused(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (tmp / "valid.safetensors").read_bytes()
    monkeypatch.setattr(ckpt, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(CheckpointError, match="larger than"):
        load_checkpoint(data)


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_refuses_hostile_checkpoint_with_one_error_line_in_bounded_memory(case: str, tmp: Path) -> None:
    data, reason = hostile_file(case, tmp)
    path, peak = tmp / "bad.safetensors", tmp / "peak.txt"
    path.write_bytes(data)
    run = subprocess.run(
        [sys.executable, "-c", WITH_PEAK, str(peak), "translate", "--checkpoint", str(path), "--device", "cpu", "hi"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0
    assert run.stderr.startswith("error: ") and reason in run.stderr
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert "\x1b" not in run.stderr
    assert run.stdout == ""
    assert not marker_path(tmp).exists(), "unpickling ran code"
    assert int(peak.read_text()) * 1024 < CLI_PEAK_BOUND, f"the CLI peaked at {int(peak.read_text()) / 1024:.0f} MB"
