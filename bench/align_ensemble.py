"""Several models of one direction as one word aligner: their alignment posteriors (or attention)
averaged, scored against the gold on dev and test beside each model alone and eflomal.

    python bench/align_ensemble.py CHECKPOINT [CHECKPOINT ...] [--reading posterior|attention] [--out FILE]

The models must share the direction and tokenisers (seeds of one recipe do). For each pair every
model is fed the reference translation (``Translator.force``); the (T + 1, S) maps are averaged
and each target word is linked to its argmax source token (``models.alignments.ensemble_links``,
what ``python -m models align --checkpoint A B ... --min-weight W`` writes). Averaging
seeds is the aligner-side counterpart of an ensemble: it keeps the links the seeds agree on.
A least weight for a link (argmax links below it dropped: fewer, surer links) is chosen on dev
from THRESHOLDS and reported on test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench.common import add_report_args, markdown_table, report
from models.aligner import best_method, stored_scores
from models.alignments import AlignmentScore, bootstrap_interval, ensemble_links, paired_bootstrap
from models.checkpoint import load_checkpoint
from models.corpus import HSK

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)  # least weight of a kept argmax link; dev picks one


def reading_of(forced, reading: str) -> np.ndarray:
    """The (T + 1, S) matrix a forced result is read from."""
    return forced.best.maps["posterior"].matrix(0, 0) if reading == "posterior" else forced.attention


def read_maps(translators: list, split: str, reading: str) -> list[tuple[str, list[str], list[str], list[np.ndarray]]]:
    """(pair id, source tokens, target tokens, each model's map) for ``split``'s gold pairs."""
    direction = translators[0].direction
    gold = HSK.gold(direction)
    out = []
    for p in HSK.splits(direction)[split]:
        if p.id in gold:
            src, _ = translators[0].source_tokens(p.src)
            tgt = translators[0].tgt_tokenizer.tokenize(p.tgt)
            out.append((p.id, src, tgt, [reading_of(tr.force(src, tgt), reading) for tr in translators]))
    return out


def score(maps: list, gold: dict, members: list[int], min_weight: float = 0.0) -> AlignmentScore:
    """AlignmentScore of the ``members``' maps read together (``ensemble_links``)."""
    s = AlignmentScore()
    for pid, src, tgt, ms in maps:
        s.add(ensemble_links([ms[i] for i in members], src[:-1], tgt, min_weight=min_weight), gold[pid], pid)
    return s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--reading", default="posterior", choices=["posterior", "attention"])
    add_report_args(p)
    args = p.parse_args(argv)
    translators = [load_checkpoint(c) for c in args.checkpoints]
    if len({(t.direction, t.src_tokenizer, t.tgt_tokenizer) for t in translators}) != 1:
        raise SystemExit("the models must share their direction and tokenisers")
    direction = translators[0].direction
    gold = HSK.gold(direction)
    maps = {split: read_maps(translators, split, args.reading) for split in ("dev", "test")}
    everyone = list(range(len(translators)))
    threshold = min(THRESHOLDS, key=lambda t: score(maps["dev"], gold, everyone, t).aer)  # chosen on dev
    rows = []
    for split in ("dev", "test"):
        eflomal = stored_scores(HSK.splits(direction)[split], gold, direction)
        method = best_method(eflomal)
        for i, path in enumerate(args.checkpoints):
            rows.append([split, f"`{path.name}`", f"{score(maps[split], gold, [i]).aer:.3f}", ""])
        for t in sorted({0.0, threshold}):
            s = score(maps[split], gold, everyone, t)
            low, high = bootstrap_interval(s)
            vs = paired_bootstrap(s, eflomal[method])
            rows.append([split, f"mean of {len(translators)}" + (f", links ≥ {t} (chosen on dev)" if t else ""),
                         f"{s.aer:.3f} [{low:.3f}, {high:.3f}]", f"{vs['diff']:+.3f} [{vs['low']:+.3f}, {vs['high']:+.3f}]"])
        rows.append([split, f"eflomal ({method})", f"{eflomal[method].aer:.3f}", ""])
    table = markdown_table(["split", "aligner", f"AER ({args.reading}) [95%]", "− eflomal [95%]"], rows)
    report("bench/align_ensemble.py", sys.argv[1:] if argv is None else argv, [table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
