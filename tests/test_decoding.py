"""Greedy and beam decoding through ``Translator``: the result's shape contract, the length cap
(beam 1 == greedy is pinned in test_decoding_equivalence.py)."""

import numpy as np
import pytest

from bench.tiny import make_translator
from models.nets.scorers import SCORERS

SENTENCES = ["I love you.", "the cat sat on the mat.", "we like tea .", "he"]


@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_result_has_one_attention_row_per_generated_token(scorer, mode):
    r = make_translator(scorer, mode).translate("I love you.")
    assert r.source_tokens == ["I", "love", "you", ".", "</s>"]
    assert r.attention.shape == (len(r.target_tokens), len(r.source_tokens))
    assert r.best.token_probs.shape == (len(r.target_tokens),)
    assert np.all((r.best.token_probs > 0) & (r.best.token_probs <= 1))
    np.testing.assert_allclose(r.attention.sum(-1), 1.0, atol=1e-5)
    assert len(r.best.alternatives) == len(r.target_tokens)
    assert r.best.alternatives[0][0][0] == r.target_tokens[0]  # greedy picks the most likely token


def test_beam_returns_hypotheses_each_with_its_attention():
    r = make_translator("dot", seed=5).translate("the cat sat on the mat.", beam=4)
    assert 1 <= len(r.hypotheses) <= 4
    for h in r.hypotheses:
        assert h.attention.shape == (len(h.tokens), len(r.source_tokens))
        np.testing.assert_allclose(h.attention.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(np.log(h.token_probs).sum(), h.score, rtol=1e-4, atol=1e-4)
    assert str(r.strategy) == "beam-4" and r.strategy.beam == 4


def test_decoding_always_ends_at_the_length_cap():
    tr = make_translator(seed=0)  # untrained: rarely emits the end token
    r = tr.translate("I love you.")
    assert len(r.target_tokens) <= tr.model.max_len(len(r.source_tokens))
    if not r.best.finished:
        assert r.target_tokens[-1] != "</s>"
        assert len(r.target_tokens) == tr.model.max_len(len(r.source_tokens))


def test_sampled_hard_attention_is_reproducible_with_a_seed_and_one_hot():
    tr = make_translator("additive", "hard", seed=2)
    a = tr.translate("the cat sat on the mat.", hard_inference="sample", seed=7)
    b = tr.translate("the cat sat on the mat.", hard_inference="sample", seed=7)
    assert a.target_tokens == b.target_tokens
    assert set(np.unique(a.attention)) <= {0.0, 1.0}


def test_empty_and_invisible_input_raise_a_user_message():
    tr = make_translator()
    for text in ["", "   ", "\u200b\u200d"]:
        with pytest.raises(ValueError, match="sentence|readable"):
            tr.translate(text)


def test_unknown_words_are_flagged():
    r = make_translator().translate("I love zyzzyva.")
    assert r.source_known == [True, True, False, True, True]


def test_batched_translation_equals_one_at_a_time():
    tr = make_translator("general", seed=4)
    assert tr.translate_batch(SENTENCES, batch_size=3) == [tr.translate(s).translation for s in SENTENCES]


@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_teacher_forcing_all_at_once_equals_step_by_step(scorer):
    import torch

    tr = make_translator(scorer, seed=6)
    model = tr.model.eval()
    src = torch.tensor([[4, 5, 6, 3], [7, 8, 3, 0]])
    lengths = torch.tensor([4, 3])
    tgt = torch.tensor([[4, 5, 3], [6, 3, 0]])
    fwd = model(src, lengths, tgt)
    enc = model.encode(src, lengths)
    state, y = model.start(enc), torch.full((2,), 2)
    for t in range(tgt.size(1)):
        step = model.step(y, state, enc)
        state = step.state
        torch.testing.assert_close(step.logits, fwd.logits[:, t], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step.maps["cross"], fwd.maps["cross"][:, :, :, t], atol=1e-6, rtol=1e-5)
        y = tgt[:, t]


def assert_json_close(a, b, path: str = "") -> None:
    """Two JSON values equal, numbers to float32 rounding (batching pads the products)."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_json_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_json_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-4 + 1e-4 * abs(b), f"{path}: {a} != {b}"
    else:
        assert a == b, path


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_many_sentences_translated_together_give_the_results_of_one_at_a_time(family, beam):
    from tests.test_decoding_equivalence import lively, sentences
    from tests.test_transformer import lively as lively_transformer

    tr = lively("dot", "soft", 2.0) if family == "rnn" else lively_transformer(1.0)
    texts = list(sentences())
    together = tr.translate_many(texts, beam=beam, rows=8)  # several batches, sorted by length
    assert len({len(r.best.tokens) for r in together}) > 1  # the sentences end at different steps
    for text, r in zip(texts, together):
        assert_json_close(r.to_json(), tr.translate(text, beam=beam).to_json())
    on_threads = tr.translate_many(texts, beam=beam, rows=8, workers=3)  # batches decoded at once, in threads
    for a, b in zip(on_threads, together):
        assert_json_close(a.to_json(), b.to_json())
    assert tr.translate_batch(texts, batch_size=3, beam=beam, workers=3) == tr.translate_batch(texts, batch_size=3, beam=beam)


def test_translating_many_refuses_a_text_without_words():
    with pytest.raises(ValueError, match="readable"):
        make_translator().translate_many(["I love you.", "\u200b"])
