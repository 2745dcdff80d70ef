"""Two recipes compared on the same sentences: BLEU differences with paired-bootstrap intervals.

    python bench/paired.py --a A1 [A2 ...] --b B1 [B2 ...] [--split test] [--beam 1] [--out FILE]

``--a`` and ``--b`` are checkpoints of two recipes, paired by position (seed 1 of A with seed 1
of B, ...). Each model translates the HSK split of its direction; each row gives both corpus
BLEUs, B − A, and the 95% interval of B − A from resampling the sentences with replacement, the
same draw for both systems (Koehn 2004), with the share of draws in which B is higher. The last
row resamples once for all pairs and averages B − A over them: the recipes' difference over seeds
and sentences at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sacrebleu.metrics import BLEU

from bench.common import add_report_args, markdown_table, report
from models.checkpoint import load_checkpoint
from models.corpus import HSK


def sentence_stats(hyps: list[str], refs: list[str], tgt_lang: str) -> np.ndarray:
    """(N, 10) BLEU sufficient statistics per sentence (sacrebleu's: hypothesis length, reference
    length, n-gram matches and totals for n = 1..4); corpus BLEU is a function of their sum."""
    bleu = BLEU(tokenize="zh" if tgt_lang.startswith("zh") else "13a")
    return np.array(bleu._extract_corpus_statistics(hyps, [refs]), dtype=np.int64)


def bleu_of(stats: np.ndarray) -> np.ndarray:
    """Corpus BLEU of summed statistics: (..., 10) -> (...), with sacrebleu's 'exp' smoothing."""
    flat = stats.reshape(-1, stats.shape[-1])
    out = [BLEU.compute_bleu(list(row[2:6]), list(row[6:10]), int(row[0]), int(row[1]), smooth_method="exp").score for row in flat]
    return np.array(out).reshape(stats.shape[:-1])


def paired(a: list[np.ndarray], b: list[np.ndarray], samples: int = 1000, seed: int = 0) -> list[dict[str, float]]:
    """Per pair of systems (each an (N, 10) array of ``sentence_stats`` over the same N sentences),
    BLEU of A and B, B − A and its 95% interval; then one entry for the mean of B − A over the
    pairs under one shared resampling of the sentences."""
    n = a[0].shape[0]
    draws = np.random.default_rng(seed).integers(0, n, size=(samples, n))  # (samples, N)
    diffs = []
    rows = []
    for sa, sb in zip(a, b, strict=True):
        d = bleu_of(sb[draws].sum(axis=1)) - bleu_of(sa[draws].sum(axis=1))  # (samples,)
        diffs.append(d)
        whole_a, whole_b = float(bleu_of(sa.sum(0))), float(bleu_of(sb.sum(0)))
        rows.append({"a": whole_a, "b": whole_b, "diff": whole_b - whole_a, **_interval(d)})
    mean = np.mean(diffs, axis=0)
    rows.append({"a": float(np.mean([r["a"] for r in rows])), "b": float(np.mean([r["b"] for r in rows])),
                 "diff": float(np.mean([r["diff"] for r in rows])), **_interval(mean)})
    return rows


def _interval(d: np.ndarray) -> dict[str, float]:
    low, high = np.percentile(d, [2.5, 97.5])
    return {"low": float(low), "high": float(high), "b_higher": float((d > 0).mean())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", nargs="+", type=Path, required=True, help="checkpoints of recipe A")
    p.add_argument("--b", nargs="+", type=Path, required=True, help="checkpoints of recipe B, paired with A's by position")
    p.add_argument("--split", default="test", choices=["dev", "test"], help="HSK split")
    p.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    p.add_argument("--samples", type=int, default=1000, help="bootstrap draws")
    add_report_args(p)
    args = p.parse_args(argv)
    if len(args.a) != len(args.b):
        p.error(f"--a has {len(args.a)} checkpoints and --b {len(args.b)}: they are paired by position")
    stats: dict[str, list[np.ndarray]] = {"a": [], "b": []}
    for side in ("a", "b"):
        for path in getattr(args, side):
            tr = load_checkpoint(path)
            pairs = HSK.splits(tr.direction)[args.split]
            hyps = tr.translate_batch([x.src for x in pairs], beam=args.beam)
            stats[side].append(sentence_stats(hyps, [x.tgt for x in pairs], tr.tgt_lang))
    result = paired(stats["a"], stats["b"], args.samples)
    names = [f"{a} / {b}" for a, b in zip(args.a, args.b)] + [f"mean over {len(args.a)} pairs"]
    table = markdown_table(
        ["A / B", "BLEU A", "BLEU B", "B − A", "95% interval", "draws with B higher"],
        [[f"`{n}`", f"{r['a']:.2f}", f"{r['b']:.2f}", f"{r['diff']:+.2f}", f"[{r['low']:+.2f}, {r['high']:+.2f}]", f"{r['b_higher']:.1%}"]
         for n, r in zip(names, result)],
    )
    what = f"HSK {args.split} split, {'greedy' if args.beam == 1 else f'beam {args.beam}'}, {args.samples} paired bootstrap draws of its sentences"
    report("bench/paired.py", sys.argv[1:] if argv is None else argv, [what, table], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
