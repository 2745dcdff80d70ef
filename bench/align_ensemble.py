"""Several models of one direction as one word aligner: their alignment posteriors (or attention)
averaged, scored against the gold on dev and test beside each model alone and eflomal.

    python bench/align_ensemble.py CHECKPOINT [CHECKPOINT ...] [--reading posterior|attention] [--out FILE]

The models must share the direction and tokenisers (seeds of one recipe do). For each pair every
model is fed the reference translation (``Translator.force``); the (T + 1, S) maps are averaged
and each target word is linked to its argmax source token (``attention_links``). Averaging
seeds is the aligner-side counterpart of an ensemble: it keeps the links the seeds agree on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench.common import add_report_args, markdown_table, report
from models.aligner import best_method, stored_scores
from models.alignments import AlignmentScore, attention_links, bootstrap_interval, paired_bootstrap
from models.checkpoint import load_checkpoint
from models.corpus import HSK


def reading_of(forced, reading: str) -> np.ndarray:
    """The (T + 1, S) matrix a forced result is read from."""
    return forced.best.maps["posterior"].matrix(0, 0) if reading == "posterior" else forced.attention


def scores(translators: list, split: str, reading: str) -> tuple[list[AlignmentScore], AlignmentScore]:
    """Per model alone, and of the average, the AlignmentScore over ``split``'s gold pairs."""
    direction = translators[0].direction
    gold = HSK.gold(direction)
    alone = [AlignmentScore() for _ in translators]
    mean = AlignmentScore()
    for p in HSK.splits(direction)[split]:
        if p.id not in gold:
            continue
        src, _ = translators[0].source_tokens(p.src)
        tgt = translators[0].tgt_tokenizer.tokenize(p.tgt)
        maps = [reading_of(tr.force(src, tgt), reading) for tr in translators]
        for score, m in zip(alone, maps):
            score.add(attention_links(m, src[:-1], tgt), gold[p.id], p.id)
        mean.add(attention_links(np.mean(maps, axis=0), src[:-1], tgt), gold[p.id], p.id)
    return alone, mean


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--reading", default="posterior", choices=["posterior", "attention"])
    add_report_args(p)
    args = p.parse_args(argv)
    translators = [load_checkpoint(c) for c in args.checkpoints]
    if len({(t.direction, t.src_tokenizer.kind, t.tgt_tokenizer.kind) for t in translators}) != 1:
        raise SystemExit("the models must share their direction and tokenisers")
    rows = []
    for split in ("dev", "test"):
        alone, mean = scores(translators, split, args.reading)
        pairs = HSK.splits(translators[0].direction)[split]
        eflomal = stored_scores(pairs, HSK.gold(translators[0].direction), translators[0].direction)
        method = best_method(eflomal)
        for path, s in zip(args.checkpoints, alone):
            rows.append([split, f"`{path}`", f"{s.aer:.3f}", ""])
        low, high = bootstrap_interval(mean)
        vs = paired_bootstrap(mean, eflomal[method])
        rows.append([split, f"mean of {len(translators)}", f"{mean.aer:.3f} [{low:.3f}, {high:.3f}]",
                     f"{vs['diff']:+.3f} [{vs['low']:+.3f}, {vs['high']:+.3f}]"])
        rows.append([split, f"eflomal ({method})", f"{eflomal[method].aer:.3f}", ""])
    table = markdown_table(["split", "aligner", f"AER ({args.reading})", "mean − eflomal (95%)"], rows)
    report("bench/align_ensemble.py", sys.argv[1:] if argv is None else argv, [table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
