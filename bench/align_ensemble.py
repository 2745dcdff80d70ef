"""Several models as one word aligner: their alignment posteriors (or attention) averaged, in
one direction or in both, scored against the gold on dev and test beside each model alone and
eflomal.

    python bench/align_ensemble.py CHECKPOINT [CHECKPOINT ...] [--reverse CHECKPOINT ...]
        [--reading posterior|attention] [--out FILE]

The CHECKPOINTs must translate one direction (seeds of one recipe, or several recipes); the
``--reverse`` ones the opposite direction. For each pair every model is fed the reference
translation (``Translator.force``). One direction: the (T + 1, S) maps are averaged and each
target word is linked to its argmax source token (``models.alignments.ensemble_links``, what
``python -m models align --checkpoint A B ... --min-weight W`` writes), keeping argmax links of
at least a least weight chosen on dev from THRESHOLDS. Both directions: every pair of tokens
whose two-way mean weight is at least a threshold chosen on dev from BIDIRECTIONAL_THRESHOLDS
(``bidirectional_links``, what ``align --checkpoint A … --reverse B …`` writes). Averaging seeds
is the aligner-side counterpart of an ensemble: it keeps the links the seeds agree on; reading
both directions lets a word link to several.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench.common import add_report_args, markdown_table, report
from models.aligner import best_method, stored_scores
from models.alignments import AlignmentScore, bidirectional_links, bootstrap_interval, ensemble_links, paired_bootstrap
from models.checkpoint import load_checkpoint
from models.corpus import HSK
from models.model_aligner import check_models, reading_maps

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)  # least weight of a kept argmax link; dev picks one
BIDIRECTIONAL_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)  # least two-way mean weight; dev picks one


def read_maps(translators: list, split: str, reading: str) -> dict[str, tuple[list[str], list[str], list[np.ndarray]]]:
    """Pair id -> (source tokens, target tokens, each model's map) for ``split``'s gold pairs."""
    direction = translators[0].direction
    gold = HSK.gold(direction)
    out = {}
    for p in HSK.splits(direction)[split]:
        if p.id in gold:
            src, _ = translators[0].source_tokens(p.src)
            tgt = translators[0].tgt_tokenizer.tokenize(p.tgt)
            out[p.id] = (src, tgt, reading_maps(translators, src, tgt, reading))
    return out


def score(maps: dict, gold: dict, members: list[int], min_weight: float = 0.0) -> AlignmentScore:
    """AlignmentScore of the ``members``' maps read together (``ensemble_links``)."""
    s = AlignmentScore()
    for pid, (src, tgt, ms) in maps.items():
        s.add(ensemble_links([ms[i] for i in members], src[:-1], tgt, min_weight=min_weight), gold[pid], pid)
    return s


def score_both(maps: dict, reverse: dict, gold: dict, min_weight: float) -> AlignmentScore:
    """AlignmentScore of both directions' maps read together (``bidirectional_links``)."""
    s = AlignmentScore()
    for pid, (src, tgt, ms) in maps.items():
        s.add(bidirectional_links(ms, reverse[pid][2], len(src) - 1, len(tgt), min_weight), gold[pid], pid)
    return s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--reverse", nargs="+", type=Path, default=[], help="models of the opposite direction, read with the others")
    p.add_argument("--reading", default="posterior", choices=["posterior", "attention"])
    add_report_args(p)
    args = p.parse_args(argv)
    translators = [load_checkpoint(c) for c in args.checkpoints]
    reverse = [load_checkpoint(c) for c in args.reverse]
    try:
        check_models(translators, reverse, args.reading, None)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    direction = translators[0].direction
    gold = HSK.gold(direction)
    maps = {split: read_maps(translators, split, args.reading) for split in ("dev", "test")}
    back = {split: read_maps(reverse, split, args.reading) for split in ("dev", "test")} if reverse else {}
    everyone = list(range(len(translators)))
    threshold = min(THRESHOLDS, key=lambda t: score(maps["dev"], gold, everyone, t).aer)  # chosen on dev
    both = min(BIDIRECTIONAL_THRESHOLDS, key=lambda t: score_both(maps["dev"], back["dev"], gold, t).aer) if reverse else None
    rows = []

    def row(split: str, name: str, s: AlignmentScore, eflomal: AlignmentScore) -> list[str]:
        low, high = bootstrap_interval(s)
        vs = paired_bootstrap(s, eflomal)
        return [split, name, f"{s.aer:.3f} [{low:.3f}, {high:.3f}]", f"{vs['diff']:+.3f} [{vs['low']:+.3f}, {vs['high']:+.3f}]"]

    for split in ("dev", "test"):
        eflomal = stored_scores(HSK.splits(direction)[split], gold, direction)
        method = best_method(eflomal)
        for i, path in enumerate(args.checkpoints):
            rows.append([split, f"`{path.name}`", f"{score(maps[split], gold, [i]).aer:.3f}", ""])
        for t in sorted({0.0, threshold}):
            name = f"mean of {len(translators)}" + (f", links ≥ {t} (chosen on dev)" if t else "")
            rows.append(row(split, name, score(maps[split], gold, everyone, t), eflomal[method]))
        if reverse:
            name = f"both directions: {len(translators)} + {len(reverse)} reverse, two-way mean ≥ {both} (chosen on dev)"
            rows.append(row(split, name, score_both(maps[split], back[split], gold, both), eflomal[method]))
        rows.append([split, f"eflomal ({method})", f"{eflomal[method].aer:.3f}", ""])
    table = markdown_table(["split", "aligner", f"AER ({args.reading}) [95%]", "− eflomal [95%]"], rows)
    report("bench/align_ensemble.py", sys.argv[1:] if argv is None else argv, [table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
