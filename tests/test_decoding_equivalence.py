"""The fast decoders (greedy.py; kernel.py's NumPy greedy for one sentence on the CPU; beam.py
over either decoder, kernel.py's or PyTorch's) agree with the straightforward reference decoder
(reference.py), for every scorer and both attention modes (hard attending by argmax), and
batched greedy decoding agrees with decoding one sentence at a time."""

import functools

import numpy as np
import pytest
import torch

from models.beam import TorchStepper, beam_search
from models.data import hsk_pairs
from models.greedy import greedy_decode
from models.kernel import KernelStepper
from models.reference import reference_beam, reference_greedy
from models.result import DecodedIds
from models.scorers import SCORERS
from models.vocab import EOS
from tests.conftest import EN, make_translator

CONFIGS = [(scorer, mode) for scorer in sorted(SCORERS) for mode in ("soft", "hard")]
EOS_BIASES = [-2.0, 0.0, 1.0]  # shifts of the end token's bias: early, middle and late endings
SEEDS = range(1, 9)
DECODERS = ("torch", "kernel")  # PyTorch's decoder, or the NumPy kernel (models/kernel.py)


@functools.cache
def sentences() -> tuple[str, ...]:
    """The toy sentences (all words known) and the start of the HSK test split (mostly unknown)."""
    return (*EN, *(p.src for p in hsk_pairs("en-zh")["test"][:12]))


def tiny(scorer: str, mode: str, seed: int, eos_bias: float):
    """A tiny random model whose outputs vary from sentence to sentence (weights scaled up; the
    cosine scorer's temperature left as it is), its end token's bias shifted by ``eos_bias``."""
    tr = make_translator(scorer, mode, seed=seed)
    with torch.no_grad():
        for p in tr.model.parameters():
            if p.dim():
                p.mul_(3.0)
        tr.model.decoder.out.bias[EOS] += eos_bias
    return tr


@functools.cache
def seed_for(scorer: str, mode: str) -> int:
    """The first seed whose models (one per EOS_BIASES) end sentences at two or more different
    steps and leave some at the length cap, so that the tests exercise per-sentence stopping."""
    for seed in SEEDS:
        ends, capped = set(), 0
        for eos_bias in EOS_BIASES:
            tr = tiny(scorer, mode, seed, eos_bias)
            for d in greedy_decode(tr.model, *encode(tr, list(sentences()))):
                if d.finished:
                    ends.add(len(d.ids))
                else:
                    capped += 1
        if len(ends) >= 2 and capped:
            return seed
    raise AssertionError(f"{scorer}-{mode}: no seed in {SEEDS} gives sentences that end at different steps; widen SEEDS or EOS_BIASES")


def lively(scorer: str, mode: str, eos_bias: float):
    return tiny(scorer, mode, seed_for(scorer, mode), eos_bias)


def encode(tr, texts: list[str]):
    """Encoded batch of ``texts`` and each one's length cap."""
    toks = [tr.source_tokens(t)[0] for t in texts]
    return tr.encode_sources(toks), [tr.model.max_len(len(t)) for t in toks]


def stepper(tr, text: str, kind: str, beam_size: int):
    """Beam search's decoder for one sentence: PyTorch's ``Decoder.step`` or the NumPy kernel."""
    tokens = tr.source_tokens(text)[0]
    if kind == "kernel":
        return KernelStepper(tr.model.cpu_kernel(), tr.source_ids(tokens))
    return TorchStepper(tr.model, tr.encode_sources([tokens]), beam_size)


def assert_same(fast: DecodedIds, ref: DecodedIds) -> None:
    assert fast.ids == ref.ids
    assert fast.finished == ref.finished
    assert fast.attention.shape == ref.attention.shape
    np.testing.assert_allclose(fast.attention, ref.attention, atol=1e-5)
    np.testing.assert_allclose(fast.token_probs, ref.token_probs, atol=1e-5)
    np.testing.assert_array_equal(fast.alt_ids, ref.alt_ids)
    np.testing.assert_allclose(fast.alt_probs, ref.alt_probs, atol=1e-5)
    assert fast.score == pytest.approx(ref.score, abs=1e-4)


@pytest.mark.parametrize("kind", DECODERS)
@pytest.mark.parametrize("eos_bias", EOS_BIASES)
@pytest.mark.parametrize("scorer,mode", CONFIGS)
def test_greedy_gives_the_reference_tokens_and_attention(scorer, mode, eos_bias, kind):
    tr = lively(scorer, mode, eos_bias)
    for text in sentences():
        enc, [cap] = encode(tr, [text])
        if kind == "kernel":
            fast = tr.model.cpu_kernel().greedy(tr.source_ids(tr.source_tokens(text)[0]), cap)
        else:
            [fast] = greedy_decode(tr.model, enc, [cap])
        assert_same(fast, reference_greedy(tr.model, enc, cap))


@pytest.mark.parametrize("kind", DECODERS)
@pytest.mark.parametrize("eos_bias", EOS_BIASES[::2])
@pytest.mark.parametrize("scorer,mode", CONFIGS)
def test_beam_search_gives_the_reference_hypotheses(scorer, mode, eos_bias, kind):
    tr = lively(scorer, mode, eos_bias)
    for text in sentences()[::4]:
        enc, [cap] = encode(tr, [text])
        fast, ref = beam_search(stepper(tr, text, kind, 3), 3, cap), reference_beam(tr.model, enc, 3, cap)
        assert len(fast) == len(ref)
        for f, r in zip(fast, ref):
            assert_same(f, r)


@pytest.mark.parametrize("eos_bias", EOS_BIASES)
@pytest.mark.parametrize("scorer,mode", CONFIGS)
def test_batched_greedy_equals_one_sentence_at_a_time(scorer, mode, eos_bias):
    tr = lively(scorer, mode, eos_bias)
    enc, caps = encode(tr, list(sentences()))
    batched = greedy_decode(tr.model, enc, caps)  # one padded batch
    tokens = [tr.source_tokens(t)[0] for t in sentences()]
    by_length = tr.decode_batch(tokens, batch_size=5)  # sorted, in batches
    in_threads = tr.decode_batch(tokens, batch_size=3, workers=3)  # three batches at a time
    for text, b, c, w in zip(sentences(), batched, by_length, in_threads):
        one, [cap] = encode(tr, [text])
        [alone] = greedy_decode(tr.model, one, [cap])
        assert_same(b, alone)
        assert_same(c, alone)
        assert_same(w, alone)


@pytest.mark.parametrize("scorer,mode", CONFIGS)
def test_the_models_used_here_end_sentences_at_different_steps(scorer, mode):
    assert seed_for(scorer, mode) in SEEDS


@pytest.mark.parametrize("kind", DECODERS)
@pytest.mark.parametrize("scorer,mode", CONFIGS)
def test_beam_of_one_is_greedy(scorer, mode, kind):
    tr = lively(scorer, mode, EOS_BIASES[1])
    for text in sentences()[::2]:
        enc, [cap] = encode(tr, [text])
        [g] = greedy_decode(tr.model, enc, [cap])
        [b] = beam_search(stepper(tr, text, kind, 1), 1, cap)
        assert_same(b, g)


def test_fast_decoding_follows_changes_to_the_weights():
    """The decoder's per-token table and the NumPy kernel are rebuilt after in-place updates (an
    optimiser step, a loaded state dict), so decoding never uses stale weights."""
    tr = lively("additive", "soft", EOS_BIASES[1])
    text = sentences()[0]
    ids = tr.source_ids(tr.source_tokens(text)[0])

    def fast_and_reference():
        enc, [cap] = encode(tr, [text])
        return greedy_decode(tr.model, enc, [cap])[0], tr.model.cpu_kernel().greedy(ids, cap), reference_greedy(tr.model, enc, cap)

    fast_and_reference()  # builds the table and the kernel
    with torch.no_grad():
        tr.model.decoder.embed.weight.mul_(-1.5)
        tr.model.decoder.cell.bias_ih.add_(0.5)
        tr.model.decoder.proj.weight[:, -1].add_(1.0)
        tr.model.encoder.rnn.weight_hh_l0.mul_(-1.0)
        tr.model.decoder.attention.scorer.v.weight.mul_(2.0)
    fast, kernel, ref = fast_and_reference()
    assert_same(fast, ref)
    assert_same(kernel, ref)
    tr.model.load_state_dict(lively("additive", "soft", EOS_BIASES[0]).model.state_dict())
    fast, kernel, ref = fast_and_reference()
    assert_same(fast, ref)
    assert_same(kernel, ref)


def test_a_model_built_under_inference_mode_decodes_like_the_reference():
    with torch.inference_mode():
        tr = lively("general", "soft", EOS_BIASES[1])
    enc, [cap] = encode(tr, [sentences()[1]])
    [fast] = greedy_decode(tr.model, enc, [cap])
    assert_same(fast, reference_greedy(tr.model, enc, cap))
