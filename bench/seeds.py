"""Recipes over seeds: the mean, and the range, of each recipe's stored test metrics.

    python bench/seeds.py CHECKPOINT [CHECKPOINT ...] [--everyday] [--out FILE]

Checkpoints of one recipe share a file name (the bundled name, trained into other folders with
other ``--seed``s); each name is one row. The metrics are those stored at training time on the
HSK test split, and dev BLEU, the figure that picks a seed to bundle (``python -m models train``;
best heads: ``python -m models heads --store``).
BLEU moves about 2 points between seeds of one recipe here, so recipes are compared by their
means over seeds, never by one run. ``--everyday`` adds BLEU on the README's everyday sentences
(``assets/everyday.txt``, outside the corpus), greedy and beam 5, computed here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from bench.common import add_report_args, markdown_table, report
from models.bundle import everyday_pairs
from models.checkpoint import load_checkpoint
from models.evaluate import bleu_chrf

COLUMNS = [("dev BLEU", "bleu_dev"), ("BLEU", "bleu"), ("BLEU beam 5", "bleu_beam5"), ("AER attention", "aer"), ("AER shifted", "aer_shift"),
           ("AER best head", "head_aer"), ("AER best head shifted", "head_aer_shift")]
EVERYDAY_COLUMNS = [("everyday BLEU", "bleu_everyday"), ("everyday BLEU beam 5", "bleu_everyday_beam5")]


def cell(values: list[float], key: str) -> str:
    """'mean (min–max)' of the seeds that have the metric, BLEU with 2 decimals, AER with 3."""
    if not values:
        return "–"
    f = "{:.2f}" if key.startswith("bleu") else "{:.3f}"
    mean = f.format(statistics.mean(values))
    return mean if len(values) == 1 else f"{mean} ({f.format(min(values))}–{f.format(max(values))})"


def everyday_bleu(translator, pairs: list[tuple[str, str]]) -> dict[str, float]:
    """BLEU of ``translator`` on the everyday sentences (English, Chinese), greedy and beam 5."""
    src, ref = (0, 1) if translator.src_lang == "en" else (1, 0)
    sources, refs = [p[src] for p in pairs], [p[ref] for p in pairs]
    return {key: bleu_chrf(translator.translate_batch(sources, beam=beam), refs, translator.tgt_lang)[0]
            for key, beam in (("bleu_everyday", 1), ("bleu_everyday_beam5", 5))}


def rows(paths: list[Path], columns: list[tuple[str, str]] = COLUMNS) -> list[list[str]]:
    """One row per recipe (file name): its seeds and the mean and range of each metric."""
    everyday = everyday_pairs() if any(c in EVERYDAY_COLUMNS for c in columns) else None  # read (and checked) once
    recipes: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        translator = load_checkpoint(path)
        meta = translator.meta
        metrics = meta["metrics"]
        run = metrics.get("test", {}) | {"seed": meta["training"].get("seed")} | ({"bleu_dev": metrics["dev"]["bleu"]} if "bleu" in metrics.get("dev", {}) else {})
        recipes[path.stem].append(run | (everyday_bleu(translator, everyday) if everyday else {}))
    out = []
    for name, runs in sorted(recipes.items()):
        seeds = ", ".join(str(r["seed"]) for r in runs)
        out.append([f"`{name}`", seeds, *(cell([r[k] for r in runs if k in r], k) for _, k in columns)])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--everyday", action="store_true", help="add BLEU on assets/everyday.txt, greedy and beam 5")
    add_report_args(p)
    args = p.parse_args(argv)
    columns = COLUMNS + (EVERYDAY_COLUMNS if args.everyday else [])
    table = markdown_table(["recipe", "seeds", *(c for c, _ in columns)], rows(args.checkpoints, columns))
    report("bench/seeds.py", sys.argv[1:] if argv is None else argv, [table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
