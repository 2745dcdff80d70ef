"""Recipes over seeds: the mean, and the range, of each recipe's stored test metrics.

    python bench/seeds.py CHECKPOINT [CHECKPOINT ...] [--out FILE]

Checkpoints of one recipe share a file name (the bundled name, trained into other folders with
other ``--seed``s); each name is one row. The metrics are those stored at training time on the
HSK test split (``python -m models train``; best heads: ``python -m models heads --store``).
BLEU moves about 2 points between seeds of one recipe here, so recipes are compared by their
means over seeds, never by one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from bench.common import add_report_args, markdown_table, report
from models.checkpoint import load_checkpoint

COLUMNS = [("BLEU", "bleu"), ("BLEU beam 5", "bleu_beam5"), ("AER attention", "aer"), ("AER shifted", "aer_shift"),
           ("AER best head", "head_aer"), ("AER best head shifted", "head_aer_shift")]


def cell(values: list[float], key: str) -> str:
    """'mean (min–max)' of the seeds that have the metric, BLEU with 2 decimals, AER with 3."""
    if not values:
        return "–"
    f = "{:.2f}" if key.startswith("bleu") else "{:.3f}"
    mean = f.format(statistics.mean(values))
    return mean if len(values) == 1 else f"{mean} ({f.format(min(values))}–{f.format(max(values))})"


def rows(paths: list[Path]) -> list[list[str]]:
    """One row per recipe (file name): its seeds and the mean and range of each metric."""
    recipes: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        meta = load_checkpoint(path).meta
        recipes[path.stem].append(meta["metrics"].get("test", {}) | {"seed": meta["training"].get("seed")})
    out = []
    for name, runs in sorted(recipes.items()):
        seeds = ", ".join(str(r["seed"]) for r in runs)
        out.append([f"`{name}`", seeds, *(cell([r[k] for r in runs if k in r], k) for _, k in COLUMNS)])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    add_report_args(p)
    args = p.parse_args(argv)
    table = markdown_table(["recipe", "seeds", *(c for c, _ in COLUMNS)], rows(args.checkpoints))
    report("bench/seeds.py", sys.argv[1:] if argv is None else argv, [table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
