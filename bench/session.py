"""What one app session holds, measured in this process: no server, no browser.

    python bench/session.py [--sessions 3] [--sentences 3] [--compare 5] [--no-upload] [--checkpoints DIR]

Runs the app with Streamlit's AppTest (the script runs in this process, one session per AppTest)
and makes each session do what a browser does in bench/load.py: translate ``--sentences``
sentences, open Compare (``--compare`` models), upload a bundled checkpoint on Checkpoints and
translate with it. A warm-up session first loads the shared models, caches and code; then
``--sessions`` sessions run and stay open, and what the process gained is split by kind: its
resident memory (VmRSS), the tensors it holds (the uploaded models' weights, and the rest:
the tables decoders derive from them), the Python objects it holds (tracemalloc) and the code
that made the largest of those.

AppTest is not a server: its upload and media stores live for one script run, so the bytes of
uploaded files and of download buttons do not show here (bench/load.py measures a real server);
it keeps the messages of each session's last run, which a server sends and drops. Not a test:
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from collections import defaultdict
from pathlib import Path

import torch  # noqa: E402

from bench.common import MB, ROOT, add_report_args, machine, markdown_table, report, rss  # noqa: E402
from webapp import corpus, registry  # noqa: E402

TIMEOUT_S = 600


def tensor_storages() -> dict[int, int]:
    """Every CPU tensor storage that Python objects reach: data pointer -> bytes."""
    found = {}
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and obj.device.type == "cpu" and not obj.is_meta:
            storage = obj.untyped_storage()
            found[storage.data_ptr()] = storage.nbytes()
    return found


def session(sentences: list[str], compare: list[str], upload: Path | None):
    """One session through Translate, Compare and (with ``upload``) Checkpoints; returns its AppTest."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S).run()
    for text in sentences:
        at.text_input(key="translate_sentence").input(text).run()
    at.switch_page("pages/compare.py").run()
    at.multiselect(key="compare_models_en_zh").set_value(compare).run()
    if upload is not None:
        at.switch_page("pages/checkpoints.py").run()
        at.file_uploader(key="checkpoint_upload").set_value((f"mine-{upload.name}", upload.read_bytes(), "application/octet-stream")).run()
        at.button(key="use_upload").click().run()
        at.text_input(key="translate_sentence").input(sentences[0] + " again").run()
    problems = [e.value for e in at.exception] + [e.value for e in at.error]
    if problems:
        raise RuntimeError(f"the session failed: {problems}")
    return at


def python_sites(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> list[tuple[str, int]]:
    """Growth of traced Python memory by the innermost line of this project that allocated it."""
    sites: dict[str, int] = defaultdict(int)
    for stat in after.compare_to(before, "traceback"):
        ours = [f for f in stat.traceback if f.filename.startswith(str(ROOT)) and "/bench/" not in f.filename]
        where = f"{Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}" if ours else "Streamlit, Plotly and other libraries"
        sites[where] += stat.size_diff
    return sorted(sites.items(), key=lambda kv: -kv[1])[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=3, help="sentences each session translates")
    parser.add_argument("--compare", type=int, default=5, help="models each session compares (en-zh, bundled)")
    parser.add_argument("--no-upload", dest="upload", action="store_false", help="sessions upload no model")
    parser.add_argument("--checkpoints", type=Path, help="bundled-model folder (default: assets/checkpoints)")
    add_report_args(parser)
    args = parser.parse_args()

    folder = args.checkpoints or registry.DEFAULT_DIR
    os.environ[registry.CHECKPOINTS_ENV] = str(folder)
    entries = [e for e in registry.bundled_entries(folder) if e.label.startswith("en-zh-")]
    if len(entries) < 2:
        raise SystemExit(f"needs at least two en-zh checkpoints in {folder}")
    compare = [e.id for e in entries][: args.compare]
    upload = next(e.path for e in entries if "dot-soft" in e.label) if args.upload else None
    pool = [e.source for e in corpus.test_examples("en-zh")]
    work = [pool[(i * args.sentences + k) % len(pool)] for i in range(args.sessions + 1) for k in range(args.sentences)]
    lists = [work[i * args.sentences : (i + 1) * args.sentences] for i in range(args.sessions + 1)]

    session(lists[-1], compare, upload)  # warm-up: shared models, caches and code loaded
    gc.collect()
    tracemalloc.start(30)
    before_py, before_tensors = tracemalloc.take_snapshot(), tensor_storages()
    gc.collect()
    before_rss = rss() - tracemalloc.get_tracemalloc_memory()
    kept = [session(lists[i], compare, upload) for i in range(args.sessions)]
    gc.collect()
    after_rss = rss() - tracemalloc.get_tracemalloc_memory()  # before the walk and the snapshot take memory
    after_tensors, after_py = tensor_storages(), tracemalloc.take_snapshot()
    tracemalloc.stop()

    n = args.sessions
    tensors = sum(b for ptr, b in after_tensors.items() if ptr not in before_tensors)
    weights = sum(
        p.numel() * p.element_size() for at in kept for _, t in at.session_state["_uploads"].models.values() for p in t.model.parameters()
    )
    traced = sum(s.size_diff for s in after_py.compare_to(before_py, "filename"))
    rows = [
        ["resident memory (VmRSS; noisy, freed memory the allocator keeps counts)", f"{(after_rss - before_rss) / n / MB:.1f}"],
        ["tensors: uploaded models' weights", f"{weights / n / MB:.1f}"],
        ["tensors: the rest (decoding tables derived from the weights, ...)", f"{(tensors - weights) / n / MB:.1f}"],
        ["Python objects (tracemalloc)", f"{traced / n / MB:.2f}"],
        *[[f"... made at {where}", f"{size / n / MB:.2f}"] for where, size in python_sites(before_py, after_py, 6)],
    ]
    parts = [
        f"Machine: {machine(torch.device('cpu'))}",
        f"{n} AppTest sessions kept open; each translated {args.sentences} sentences, compared {len(compare)} models"
        + (f", uploaded {upload.name} and translated with it." if upload else ", uploaded nothing."),
        markdown_table(["growth per session", "MB"], rows),
    ]
    report("bench/session.py", sys.argv[1:], parts, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
