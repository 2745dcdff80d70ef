"""Scorers and attention: shapes, masking, normalisation, hard one-hot rows."""

import pytest
import torch

from models.nets.attention import Attention
from models.nets.scorers import SCORERS, make_scorer

B, S, H = 3, 7, 8
LENGTHS = torch.tensor([7, 4, 1])


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(B, H, generator=g)
    h = torch.randn(B, S, H, generator=g)
    mask = torch.arange(S).unsqueeze(0) < LENGTHS.unsqueeze(1)
    return s, h, mask


def test_registry_has_the_five_scorers():
    assert set(SCORERS) == {"dot", "scaled_dot", "general", "cosine", "additive"}


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorer_gives_one_score_per_source_position(name):
    s, h, _ = _inputs()
    scorer = make_scorer(name, H)
    assert scorer(s, scorer.prepare(h)).shape == (B, S)


def test_scaled_dot_is_dot_over_sqrt_d():
    s, h, _ = _inputs()
    dot, scaled = make_scorer("dot", H), make_scorer("scaled_dot", H)
    torch.testing.assert_close(scaled(s, scaled.prepare(h)), dot(s, dot.prepare(h)) / H**0.5)


def test_additive_is_v_tanh_of_w_s_plus_u_h_and_its_gradient_too():
    s, h, _ = _inputs()
    scorer = make_scorer("additive", H)
    want = torch.tanh(scorer.W(s).unsqueeze(1) + scorer.U(h)) @ scorer.v.weight[0]  # the formula as written
    torch.testing.assert_close(scorer(s, scorer.prepare(h)), want, atol=1e-5, rtol=1e-5)
    s.requires_grad_(True)
    got = torch.autograd.grad(scorer(s, scorer.prepare(h)).sum(), s)[0]
    ref = torch.autograd.grad((torch.tanh(scorer.W(s).unsqueeze(1) + scorer.U(h)) @ scorer.v.weight[0]).sum(), s)[0]
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_cosine_scores_are_bounded_by_the_temperature():
    s, h, _ = _inputs()
    scorer = make_scorer("cosine", H)
    e = scorer(s, scorer.prepare(h))
    assert e.abs().max() <= scorer.log_tau.exp() + 1e-5
    assert e.std() > 0.5  # temperature keeps the softmax from being flat


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_soft_rows_sum_to_one_and_padding_gets_exactly_zero(name):
    s, h, mask = _inputs()
    attn = Attention(name, H, "soft").eval()
    ctx, w, p = attn(s, attn.scorer.prepare(h), h, mask)
    assert ctx.shape == (B, H)
    torch.testing.assert_close(w.sum(-1), torch.ones(B))
    assert torch.all(w[~mask] == 0)
    assert torch.equal(w, p)
    torch.testing.assert_close(ctx, torch.einsum("bs,bsh->bh", w, h))


@pytest.mark.parametrize("training,inference", [(True, "argmax"), (False, "argmax"), (False, "sample")])
@pytest.mark.parametrize("name", sorted(SCORERS))
def test_hard_rows_are_one_hot_on_real_positions(name, training, inference):
    s, h, mask = _inputs()
    attn = Attention(name, H, "hard").train(training)
    attn.hard_inference = inference
    ctx, w, p = attn(s, attn.scorer.prepare(h), h, mask)
    assert torch.all((w == 0) | (w == 1))
    torch.testing.assert_close(w.sum(-1), torch.ones(B))
    assert torch.all(w[~mask] == 0)
    torch.testing.assert_close(p.sum(-1), torch.ones(B))
    torch.testing.assert_close(ctx, h[torch.arange(B), w.argmax(-1)])  # c_t = h_{a_t}


def test_hard_argmax_picks_the_most_likely_position():
    s, h, mask = _inputs()
    attn = Attention("dot", H, "hard").eval()
    _, w, p = attn(s, attn.scorer.prepare(h), h, mask)
    assert torch.equal(w.argmax(-1), p.argmax(-1))


def test_hard_attention_training_passes_gradients_to_the_scorer():
    s, h, mask = _inputs()
    attn = Attention("general", H, "hard").train()
    ctx, _, _ = attn(s, attn.scorer.prepare(h), h, mask)
    ctx.sum().backward()
    assert attn.scorer.W.weight.grad is not None and attn.scorer.W.weight.grad.abs().sum() > 0
