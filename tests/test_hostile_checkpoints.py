"""Hostile and broken checkpoints are refused with a reason, run no code, and take no memory.

Memory is measured around each load: Python allocations with tracemalloc, and the process's
peak resident size (VmHWM, reset through /proc/self/clear_refs) for what torch allocates in C.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import models.checkpoint as ckpt
from models.checkpoint import CheckpointError, load_checkpoint
from tests.hostile_files import HOSTILE, as_pt, hostile_file, marker_path, valid_checkpoint

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20
MEMORY_BOUND = 50 * MB
CLI_CASES = ["pickle that runs code", "torch .pt whose pickle runs code", ".pt zip with a 4 GB entry", "zero bytes", "header length of 2**62", "non-finite weights"]


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


def test_valid_checkpoint_loads_as_safetensors_and_as_pt(tmp: Path) -> None:
    good = (tmp / "valid.safetensors").read_bytes()
    for data in (good, as_pt(good)):
        assert load_checkpoint(data).translate("I love you .").hypotheses


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_checkpoint_is_refused_with_its_reason_in_flat_memory(case: str, tmp: Path) -> None:
    data, reason = hostile_file(case, tmp)
    error, py_peak, rss_growth = refuse(data)
    assert reason in str(error)
    assert not marker_path(tmp).exists(), "unpickling ran code"
    assert py_peak < MEMORY_BOUND, f"Python allocations peaked at {py_peak / MB:.0f} MB"
    assert rss_growth is None or rss_growth < MEMORY_BOUND, f"resident memory grew by {rss_growth / MB:.0f} MB"


def test_zip_bomb_is_refused_before_anything_is_unpacked(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """8 MB of zeros deflate to a few KB; with the limit at 1 MB the declared size alone refuses it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data/0", bytes(8 * MB))
    monkeypatch.setattr(ckpt, "MAX_FILE_BYTES", MB)
    error, py_peak, rss_growth = refuse(buf.getvalue())
    assert "unpack to 8,388,608 bytes, over the 1 MB limit" in str(error)
    assert py_peak < 4 * MB
    assert rss_growth is None or rss_growth < MEMORY_BOUND


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
def test_cli_refuses_hostile_checkpoint_with_one_error_line(case: str, tmp: Path) -> None:
    data, reason = hostile_file(case, tmp)
    path = tmp / "bad.safetensors"
    path.write_bytes(data)
    run = subprocess.run(
        [sys.executable, "-m", "models", "translate", "--checkpoint", str(path), "--device", "cpu", "hi"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0
    assert run.stderr.startswith("error: ") and reason in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert not marker_path(tmp).exists(), "unpickling ran code"
