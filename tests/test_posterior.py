"""The alignment posterior p(a_t = i | y_t) ∝ α_ti^β · p(y_t | s_t, h_i): RNN.posterior."""

from __future__ import annotations

import pytest
import torch

from bench.tiny import make_translator
from models.nets import rnn as rnn_module
from models.nets.base import ARGMAX, shift_right
from models.nets.scorers import SCORERS
from models.vocab import BOS, EOS


def _batch(tr, pairs):
    """Padded source ids (B, S), lengths (B,), targets ending in EOS padded with PAD (B, T)."""
    src = [tr.source_ids(tr.source_tokens(s)[0]) for s, _ in pairs]
    tgt = [tr.tgt_vocab.encode(tr.tgt_tokenizer.tokenize(t)) + [EOS] for _, t in pairs]
    pad = lambda rows: torch.tensor([r + [0] * (max(map(len, rows)) - len(r)) for r in rows])  # noqa: E731
    return pad(src), torch.tensor([len(s) for s in src]), pad(tgt)


def _posterior(model, src, lengths, tgt, prior_power):
    enc = model.encode(src, lengths)
    return model.decoder.posterior(shift_right(tgt, BOS), tgt, enc.memory, enc.mask, prior_power)


def _brute_force(model, src, lengths, tgt, prior_power):
    """Bayes' rule by hand for one sentence: p(y_t | h_i) from ``Decoder.step`` with the mask
    opening only position i (so the context is exactly h_i), times the attention α_ti^β."""
    enc = model.encode(src, lengths)
    S, T = int(lengths[0]), tgt.size(1)
    alpha = model.alignment_of(model(src, lengths, tgt).maps)  # (1, T, S)
    loglik = torch.empty(T, S)
    for i in range(S):
        only_i = torch.zeros(1, S, dtype=torch.bool)
        only_i[0, i] = True
        state, y_prev = enc.memory.s0, torch.tensor([BOS])
        for t in range(T):
            logits, state, _, _ = model.decoder.step(y_prev, state, enc.memory, only_i, ARGMAX)
            loglik[t, i] = torch.log_softmax(logits, -1)[0, tgt[0, t]]
            y_prev = tgt[:, t]
    return torch.softmax(prior_power * torch.log(alpha[0]) + loglik, dim=-1)  # (T, S)


@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("scorer", sorted(SCORERS))
@pytest.mark.parametrize("prior_power", [0.5, 1.0])
def test_posterior_is_bayes_rule_over_source_positions(scorer, mode, prior_power):
    tr = make_translator(scorer, mode, seed=3)
    src, lengths, tgt = _batch(tr, [("I love you .", "我爱你。")])
    with torch.inference_mode():
        got = _posterior(tr.model, src, lengths, tgt, prior_power)[0]
        want = _brute_force(tr.model, src, lengths, tgt, prior_power)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_posterior_rows_sum_to_one_are_zero_at_padding_and_match_one_sentence_at_a_time(monkeypatch):
    monkeypatch.setattr(rnn_module, "POSTERIOR_CHUNK", 1)  # one target step per chunk
    tr = make_translator("general", seed=5)
    pairs = [("the cat sat on the mat .", "猫坐在垫子上。"), ("we like tea .", "我们喜欢茶。")]
    src, lengths, tgt = _batch(tr, pairs)
    with torch.inference_mode():
        both = tr.model.posterior(src, lengths, tgt)
        second = tr.model.posterior(src[1:, : lengths[1]], lengths[1:], tgt[1:, :7])[0]
    torch.testing.assert_close(both.sum(-1), torch.ones(2, tgt.size(1)))
    assert (both[1, :, int(lengths[1]) :] == 0).all()
    torch.testing.assert_close(both[1, :7, : int(lengths[1])], second, atol=1e-6, rtol=1e-5)


def test_the_word_written_moves_the_posterior_but_not_the_attention():
    tr = make_translator(seed=7)
    source = tr.source_tokens("I love you .")[0]
    a, b = tr.tgt_tokenizer.tokenize("我爱你。"), tr.tgt_tokenizer.tokenize("我爱茶。")
    fa, fb = tr.force(source, a).best, tr.force(source, b).best
    torch.testing.assert_close(fa.attention[2], fb.attention[2])  # row 2 is computed before the word
    assert not torch.allclose(torch.from_numpy(fa.maps["posterior"].matrix(0, 0)[2]), torch.from_numpy(fb.maps["posterior"].matrix(0, 0)[2]))


@pytest.mark.parametrize("scorer", ["dot", "additive"])
def test_linked_logits_at_a_one_hot_link_are_the_posteriors_likelihood_term(scorer):
    # Linking every word to source position i gives log p(y_t | s_t, h_i); over all i, with the
    # attention as prior, that is the alignment posterior. This is what the linked-context loss trains.
    tr = make_translator(scorer, seed=4)
    src, lengths, tgt = _batch(tr, [("we like tea .", "我们喜欢茶。")])
    S, T = int(lengths[0]), tgt.size(1)
    with torch.inference_mode():
        loglik = torch.empty(T, S)
        for i in range(S):
            links = torch.zeros(1, T, S)
            links[0, :, i] = 1.0
            out = tr.model(src, lengths, tgt, links)
            assert out.linked_logits.shape == (T, tr.model.config.tgt_vocab_size)  # one row per linked (b, t)
            loglik[:, i] = torch.log_softmax(out.linked_logits, -1).gather(1, tgt[0, :, None]).squeeze(1)
        want = torch.softmax(0.5 * torch.log(tr.model.alignment_of(out.maps)[0]) + loglik, dim=-1)
        got = _posterior(tr.model, src, lengths, tgt, 0.5)[0]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_linked_logits_use_the_mean_of_several_linked_states_and_skip_unlinked_rows():
    tr = make_translator("general", seed=6)
    src, lengths, tgt = _batch(tr, [("the cat sat on the mat .", "猫坐在垫子上。")])
    T, S = tgt.size(1), int(lengths[0])
    links = torch.zeros(1, T, S)
    links[0, 0, [1, 2]] = 1.0  # two links: their mean state is the context
    links[0, 2, 4] = 3.0  # any positive weight: normalised
    with torch.inference_mode():
        out = tr.model(src, lengths, tgt, links)
        enc = tr.model.encode(src, lengths)
        tf_states = tr.model.decoder.teacher_forced(shift_right(tgt, BOS), enc.memory, enc.mask)
        states, emb = tf_states[0][0], tf_states[1][0]
        h = enc.memory.values[0]
        want = torch.stack([tr.model.decoder.predict(states[0], (h[1] + h[2]) / 2, emb[0]), tr.model.decoder.predict(states[2], h[4], emb[2])])
    assert out.linked_logits.shape[0] == 2  # rows 0 and 2 only
    torch.testing.assert_close(out.linked_logits, want, atol=1e-5, rtol=1e-4)
    assert tr.model(src, lengths, tgt).linked_logits is None
