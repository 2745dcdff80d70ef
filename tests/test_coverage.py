"""The decode-side ranking options of the search loop: the coverage penalty (Wu et al. 2016) on a
hand case, and beam hypotheses ranked by score / T ** alpha + beta * penalty of their own maps."""

import math

import numpy as np
import pytest
import torch

from bench.tiny import EN, make_translator
from models.search import coverage_penalty, rank_score, search


def test_coverage_penalty_hand_case():
    cov = torch.tensor([[0.5, 1.5, 0.25, 0.0], [1.0, 1.0, 2.0, 0.3]])
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    pen = coverage_penalty(cov, mask)
    # over-attended words count as covered (min(c, 1)), padding is ignored
    assert pen[0].item() == pytest.approx(math.log(0.5) + 0.0 + math.log(0.25))
    assert pen[1].item() == pytest.approx(math.log(0.3))
    # a source word never attended is floored, not -inf
    assert math.isfinite(coverage_penalty(torch.zeros(1, 3), torch.ones(1, 3, dtype=torch.bool)).item())


def test_rank_score_options():
    assert rank_score(-4.0, 4, 1, 1.0, -2.0, 5.0) == -4.0  # greedy: the score itself
    assert rank_score(-4.0, 4, 3) == pytest.approx(-4.0 / 4**0.6)
    assert rank_score(-4.0, 4, 3, 1.0, -2.0, 0.5) == pytest.approx(-1.0 - 1.0)


def _transformer(seed: int):
    from tests.test_transformer import make_transformer

    return make_transformer(seed)


@pytest.mark.parametrize("scorer,mode", [("additive", "soft"), ("dot", "hard"), ("transformer", "soft")])
def test_beam_ranks_by_its_own_coverage(scorer, mode):
    tr = _transformer(3) if scorer == "transformer" else make_translator(scorer, mode, seed=3)
    alpha, beta = 0.8, 0.7
    for text in EN[:4]:
        tokens, _ = tr.source_tokens(text)
        enc = tr.encode([tokens])
        [hyps] = search(tr.model, enc, [tr.model.max_len(len(tokens))], beam=3, length_alpha=alpha, coverage_beta=beta)
        ranks = [h.rank_score for h in hyps]
        assert ranks == sorted(ranks, reverse=True)
        for h in hyps:
            step_maps = {name: torch.from_numpy(v) for name, v in h.maps.items() if name != "decoder_self"}  # (L, H, T, S)
            a = tr.model.alignment_of(step_maps).numpy()  # (T, S)
            cov = np.clip(a.sum(0), 1e-6, 1.0)
            want = h.score / len(h.ids) ** alpha + beta * float(np.log(cov).sum())
            assert h.rank_score == pytest.approx(want, abs=1e-4)
        # without the penalty, the same search ranks by length-normalised score only
        [plain] = search(tr.model, enc, [tr.model.max_len(len(tokens))], beam=3, length_alpha=alpha)
        assert all(h.rank_score == pytest.approx(h.score / len(h.ids) ** alpha, abs=1e-5) for h in plain)
