"""Dev BLEU of an ensemble of bundled checkpoints (same vocabularies): each step's token
distribution is the mean of the members' distributions; the attention shown is the first
member's. Through the one search loop (models.search), greedy and beam.

    python bench/ensemble.py --split dev --beams 1 5 CKPT [CKPT ...]
"""

from __future__ import annotations

import argparse
import math

import sacrebleu
import torch
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest
from torch import nn

from models.checkpoint import load_checkpoint
from models.corpus import HSK
from models.nets.base import Encoded, Step


class Ensemble(nn.Module):
    """The step protocol over several models that share their vocabularies."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(models)
        self.config = models[0].config
        self.has_posterior = False

    def encode(self, src, lengths) -> Encoded:
        encs = [m.encode(src, lengths) for m in self.members]
        return Encoded(encs[0].mask, [e.memory for e in encs], encs[0].maps)

    def start(self, enc: Encoded):
        return [m.start(Encoded(enc.mask, mem, {})) for m, mem in zip(self.members, enc.memory)]

    def step(self, y, state, enc: Encoded, pick) -> Step:
        outs = [m.step(y, s, Encoded(enc.mask, mem, {}), pick) for m, s, mem in zip(self.members, state, enc.memory)]
        logp = torch.stack([torch.log_softmax(o.logits.float(), -1) for o in outs])
        return Step(torch.logsumexp(logp, 0) - math.log(len(outs)), [o.state for o in outs], outs[0].maps)

    def alignment(self, cross):
        return self.members[0].alignment(cross)

    def alignment_of(self, maps):
        return self.members[0].alignment_of(maps)

    def max_len(self, n: int) -> int:
        return self.members[0].max_len(n)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--beams", nargs="+", type=int, default=[1, 5])
    p.add_argument("checkpoints", nargs="+")
    a = p.parse_args()
    trs = [load_checkpoint(c) for c in a.checkpoints]
    if any(t.tgt_vocab.itos != trs[0].tgt_vocab.itos or t.src_vocab.itos != trs[0].src_vocab.itos for t in trs):
        raise SystemExit("the checkpoints' vocabularies differ")
    tr = trs[0]
    first = tr.model
    pairs = HSK.splits(tr.direction)[a.split]
    refs, src = [x.tgt for x in pairs], [x.src for x in pairs]
    tok = "zh" if tr.tgt_lang.startswith("zh") else "13a"
    for k in a.beams:
        tr.model = first
        alone = tr.translate_batch(src, beam=k)
        tr.model = Ensemble([t.model for t in trs]).eval()
        hyps = tr.translate_batch(src, beam=k)
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
