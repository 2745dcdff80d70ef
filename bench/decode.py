"""Decoding speed, as a user waits for it: one sentence (greedy, beam), Compare, and batches.

    python bench/decode.py [--checkpoint PATH ...] [--sentences 40] [--beam 5] [--batch 64]
                           [--repeats 3] [--compare-sentences 10] [--threads 1] [--workers 1] [--json]

For each model (default: every bundled model) on the first N sentences of the HSK test split
in its direction: the median milliseconds of ``Translator.translate`` per sentence, greedy and
with beam search; the sentences per second of ``translate_batch`` (``--workers`` batches at
once). Then Compare as the app
runs it: one sentence through seven models in turn (median over sentences). Only the public
API is used, so ``bench/revisions.py`` can time another revision of the project with this script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from bench.common import add_report_args, machine, markdown_table, report
from models.checkpoint import load_checkpoint

COMPARE_MODELS = 7


SOURCES: dict[str, list[str]] = {}  # direction -> sentences given with --sources (bench/revisions.py)


def test_sources(direction: str, n: int) -> list[str]:
    """The first ``n`` source sentences of the HSK test split in ``direction``."""
    if direction in SOURCES:
        return SOURCES[direction][:n]
    from models.corpus import HSK

    return [p.src for p in HSK.splits(direction)["test"][:n]]


def _ms(fn, items) -> float:
    """Median milliseconds of fn(item) over items."""
    times = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def measure(paths: list[Path], n: int, beam: int, batch: int, repeats: int, n_compare: int, workers: int = 1) -> dict:
    """The figures, as a JSON-ready dict: per model and for Compare."""
    models = {p.stem: load_checkpoint(p) for p in paths}
    rows = {}
    for name, tr in models.items():
        sources = test_sources(tr.direction, n)
        tr.translate(sources[0])  # warm-up
        batched = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            # workers only when asked: an older checkout timed by bench/revisions.py may not take it
            tr.translate_batch(sources, batch_size=batch, workers=workers) if workers > 1 else tr.translate_batch(sources, batch_size=batch)
            batched.append(len(sources) / (time.perf_counter() - t0))
        rows[name] = {
            "greedy_ms": _ms(tr.translate, sources),
            f"beam{beam}_ms": _ms(lambda s, tr=tr: tr.translate(s, beam=beam), sources),
            "batched_per_s": statistics.median(batched),
        }
    compare = list(models.values())[:COMPARE_MODELS]
    sources = test_sources(compare[0].direction, n_compare)
    rows["Compare"] = {"models": len(compare), "ms": _ms(lambda s: [tr.translate(s) for tr in compare], sources)}
    return rows


def table(figures: dict, beam: int) -> str:
    compare = figures.pop("Compare")
    rows = [[name, f"{f['greedy_ms']:.2f}", f"{f[f'beam{beam}_ms']:.2f}", f"{f['batched_per_s']:,.0f}"] for name, f in figures.items()]
    rows.append([f"Compare: {compare['models']} models, one sentence", f"{compare['ms']:.1f}", "", ""])
    return markdown_table(["model", "greedy ms/sentence", f"beam {beam} ms/sentence", "batched sentences/s"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", type=Path, help="checkpoints (default: assets/checkpoints/*.safetensors)")
    p.add_argument("--sentences", type=int, default=40)
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compare-sentences", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch threads per operation (the app's default is 1)")
    p.add_argument("--workers", type=int, default=1, help="batches translated at once in threads (translate --input's default: the cores)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument("--sources", type=Path, help="JSON {direction: [sentences]} to use instead of the HSK test split")
    add_report_args(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.sources:
        SOURCES.update(json.loads(args.sources.read_text(encoding="utf-8")))
    if not args.checkpoint:
        from models.paths import CHECKPOINTS  # here: bench/revisions.py runs this script on checkouts without it

        args.checkpoint = sorted(CHECKPOINTS.glob("*.safetensors"))
    paths = args.checkpoint
    figures = measure(paths, args.sentences, args.beam, args.batch, args.repeats, args.compare_sentences, args.workers)
    if args.json:
        print(json.dumps(figures))
        return 0
    argv = sys.argv[1:] if argv is None else argv
    report("bench/decode.py", argv, [f"Machine: {machine(torch.device('cpu'))}", table(figures, args.beam)], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
