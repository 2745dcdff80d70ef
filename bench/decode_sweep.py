"""Dev BLEU of bundled checkpoints over beam size, length alpha and coverage beta (decode-side
options of models.search).

    python bench/decode_sweep.py [--split dev] [--checkpoints A B ...] [--beams 5] [--alphas ...] [--betas ...]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import sacrebleu

from models.checkpoint import load_checkpoint
from models.corpus import HSK


def tok(lang: str) -> str:
    return "zh" if lang.startswith("zh") else "13a"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--checkpoints", nargs="+", default=["assets/checkpoints/en-zh-dot-soft-guided.safetensors"])
    p.add_argument("--beams", nargs="+", type=int, default=[5])
    p.add_argument("--alphas", nargs="+", type=float, default=[0.6])
    p.add_argument("--betas", nargs="+", type=float, default=[0.0])
    a = p.parse_args()
    for path in a.checkpoints:
        tr = load_checkpoint(path)
        pairs = HSK.splits(tr.direction)[a.split]
        refs = [x.tgt for x in pairs]
        src = [x.src for x in pairs]
        print(f"## {Path(path).stem} ({a.split}, {len(pairs)} sentences)")
        print("| beam | alpha | beta | BLEU | chrF | len ratio | s |\n|---|---|---|---|---|---|---|")
        for k, alpha, beta in itertools.product(a.beams, a.alphas, a.betas):
            if k == 1 and (alpha, beta) != (a.alphas[0], a.betas[0]):
                continue
            t0 = time.perf_counter()
            hyps = tr.translate_batch(src, beam=k, length_alpha=alpha, coverage_beta=beta)
            b = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok(tr.tgt_lang))
            c = sacrebleu.corpus_chrf(hyps, [refs])
            print(f"| {k} | {alpha} | {beta} | {b.score:.2f} | {c.score:.2f} | {b.sys_len / b.ref_len:.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
