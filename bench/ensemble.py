"""Dev BLEU of an ensemble of bundled checkpoints (same vocabularies): each step's token
distribution is the mean of the members' distributions; the attention shown is the first
member's. Through the one search loop (models.search), greedy and beam.

    python bench/ensemble.py --split dev --beams 1 5 CKPT [CKPT ...]
"""

from __future__ import annotations

import argparse

import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from models.checkpoint import load_checkpoint
from models.corpus import HSK
from models.distill import ensemble


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--beams", nargs="+", type=int, default=[1, 5])
    p.add_argument("checkpoints", nargs="+")
    a = p.parse_args()
    trs = [load_checkpoint(c) for c in a.checkpoints]
    tr, both = trs[0], ensemble(trs)
    pairs = HSK.splits(tr.direction)[a.split]
    refs, src = [x.tgt for x in pairs], [x.src for x in pairs]
    tok = "zh" if tr.tgt_lang.startswith("zh") else "13a"
    for k in a.beams:
        alone = tr.translate_batch(src, beam=k)
        hyps = both.translate_batch(src, beam=k)
        b = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok)
        line = f"{len(trs)} models, {a.split}, beam {k}: BLEU {b.score:.2f}, chrF {sacrebleu.corpus_chrf(hyps, [refs]).score:.2f}"
        if len(trs) > 1:  # paired bootstrap against the first member alone (sacrebleu, 1,000 resamples)
            _, scores = PairedTest([("first", alone), ("ensemble", hyps)], {"BLEU": BLEU(tokenize=tok)}, [refs], test_type="bs", n_samples=1000)()
            base, ens = scores["BLEU"]
            line += f"; first member alone {base.score:.2f}; paired bootstrap p = {ens.p_value:.3f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
