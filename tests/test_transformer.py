"""The Transformer family: incremental decoding gives the teacher-forced numbers, the search loop
agrees with the plain reference decoder (tests/oracle.py), masks hold, checkpoints round-trip,
training (guided alignment included) runs, and results carry every map with its dims."""

import dataclasses
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.tiny import EN, ZH
from models.alignments import write_pharaoh
from models.checkpoint import CheckpointError, load_checkpoint, round_as_stored, save_checkpoint
from models.config import ModelConfig
from models.data import Pair, read_tsv, tsv_splits
from models.nets import build_model
from models.nets.base import MAP_KINDS, select_rows, shift_right
from models.search import search
from models.tokenize import tokenizer_for
from models.train import TrainConfig, guided_alignment_loss, train_model
from models.translator import Translator
from models.vocab import BOS, EOS, PAD, Vocab
from tests.oracle import reference_greedy
from tests.test_decoding_equivalence import (
    assert_beam_matches_the_oracle,
    assert_beam_of_one_is_greedy,
    assert_same,
    encode,
    first_lively_seed,
    sentences,
    source,
)

ROOT = Path(__file__).resolve().parents[1]
EOS_BIASES = [1.0, 2.0, 3.0]  # shifts of the end token's bias: early, middle and late endings
SEEDS = range(1, 9)
TINY = {"hidden": 16, "layers": 2, "heads": 2, "ff_dim": 32}


def make_transformer(seed: int = 0, **config) -> Translator:
    """A small randomly initialised Transformer over the toy en-zh vocabulary."""
    torch.manual_seed(seed)
    src_tok, tgt_tok = tokenizer_for("en"), tokenizer_for("zh")
    sv = Vocab.build((src_tok.tokenize(s) for s in EN), lowercase=src_tok.lowercase)
    tv = Vocab.build((tgt_tok.tokenize(s) for s in ZH), lowercase=tgt_tok.lowercase)
    cfg = ModelConfig(len(sv), len(tv), family="transformer", dropout=0.0, **(TINY | config))
    model = build_model(cfg).eval()
    return Translator(model, sv, tv, src_tok, tgt_tok, "en", "zh", meta={"name": "tiny-transformer", "training": {"corpus": "toy"}, "metrics": {}})


def tiny(seed: int, eos_bias: float) -> Translator:
    """A tiny model as initialised, its end token's bias shifted by ``eos_bias``, its weights
    rounded as a checkpoint stores them. (Weights scaled up, as for the GRU, make attention so
    sharp that float32 rounding alone moves weights by 1e-5 over a dozen steps.)"""
    tr = make_transformer(seed)
    with torch.no_grad():
        tr.model.decoder.out.bias[EOS] += eos_bias
    round_as_stored(tr.model)
    return tr


@functools.cache
def lively_seed() -> int:
    return first_lively_seed(tiny, EOS_BIASES)


def lively(eos_bias: float) -> Translator:
    return tiny(lively_seed(), eos_bias)


def padded_batch(tr: Translator, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    return tr._batch([tr.source_tokens(t)[0] for t in texts])


def random_targets(tr: Translator, lengths: list[int], seed: int = 0) -> torch.Tensor:
    """tgt_out (B, T): random words, EOS, then PAD, one row per length."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths) + 1
    rows = [torch.randint(4, len(tr.tgt_vocab), (n,), generator=g).tolist() + [EOS] + [PAD] * (T - n - 1) for n in lengths]
    return torch.tensor(rows)


def test_every_step_gives_the_teacher_forced_logits_and_maps():
    tr = make_transformer(seed=3)  # weights as initialised: logits of unit scale
    model = tr.model
    src, lengths = padded_batch(tr, list(sentences())[:6])
    tgt = random_targets(tr, [3, 7, 1, 5, 6, 2])
    fwd = model(src, lengths, tgt)
    enc = model.encode(src, lengths)
    torch.testing.assert_close(enc.maps["encoder_self"], fwd.maps["encoder_self"], atol=1e-6, rtol=0)
    state, y = model.start(enc), shift_right(tgt, BOS)
    for t in range(tgt.size(1)):
        out = model.step(y[:, t], state, enc)
        state = out.state
        assert state.t == t + 1 and all(k.size(2) == t + 1 for k in state.keys)
        torch.testing.assert_close(out.logits, fwd.logits[:, t], atol=1e-5, rtol=0)
        torch.testing.assert_close(out.maps["cross"], fwd.maps["cross"][:, :, :, t], atol=1e-5, rtol=0)
        assert out.maps["decoder_self"].shape == (6, 2, 2, t + 1)
        torch.testing.assert_close(out.maps["decoder_self"], fwd.maps["decoder_self"][:, :, :, t, : t + 1], atol=1e-5, rtol=0)


def test_map_shapes_follow_layer_head_query_key():
    tr = make_transformer(layers=3, heads=4)
    src, lengths = padded_batch(tr, EN[:2])
    tgt = random_targets(tr, [4, 2])
    fwd = tr.model(src, lengths, tgt)
    B, S, T = 2, src.size(1), tgt.size(1)
    assert fwd.maps["encoder_self"].shape == (B, 3, 4, S, S)
    assert fwd.maps["decoder_self"].shape == (B, 3, 4, T, T)
    assert fwd.maps["cross"].shape == (B, 3, 4, T, S)
    assert fwd.linked_logits is None and not tr.model.has_posterior
    enc = tr.model.encode(src, lengths)
    step = tr.model.step(torch.full((B,), BOS), tr.model.start(enc), enc)
    assert step.maps["cross"].shape == (B, 3, 4, S) and step.maps["decoder_self"].shape == (B, 3, 4, 1)


@pytest.mark.parametrize("eos_bias", EOS_BIASES)
def test_greedy_gives_the_reference_tokens_and_attention(eos_bias):
    tr = lively(eos_bias)
    for text in sentences():
        enc, [cap] = encode(tr, [text])
        [[fast]] = search(tr.model, enc, [cap])
        assert_same(fast, reference_greedy(tr.model, *source(tr, text), cap))


@pytest.mark.parametrize("eos_bias", EOS_BIASES[::2])
def test_beam_search_gives_the_reference_hypotheses(eos_bias):
    assert_beam_matches_the_oracle(lively(eos_bias), sentences()[::3])


def test_the_models_used_here_end_sentences_at_different_steps():
    assert lively_seed() in SEEDS


def test_beam_of_one_is_greedy():
    assert_beam_of_one_is_greedy(lively(EOS_BIASES[1]))


@pytest.mark.parametrize("beam", [1, 4])
def test_search_of_many_sentences_at_once_equals_one_at_a_time(beam):
    tr = lively(EOS_BIASES[1])
    texts = list(sentences())
    enc, caps = encode(tr, texts)
    for text, together in zip(texts, search(tr.model, enc, caps, beam=beam)):
        one, [cap] = encode(tr, [text])
        [alone] = search(tr.model, one, [cap], beam=beam)
        assert len(together) == len(alone)
        for a, b in zip(together, alone):
            assert_same(a, b)


def test_decoder_self_attention_gives_no_weight_to_future_positions():
    tr = lively(EOS_BIASES[1])
    src, lengths = padded_batch(tr, EN)
    w = tr.model(src, lengths, random_targets(tr, [5, 3, 6, 2])).maps["decoder_self"]  # (B, L, H, T, T)
    T = w.size(-1)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    assert bool((w[..., future] == 0).all())
    torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))


def test_padded_source_positions_get_no_attention_and_change_nothing():
    tr = lively(EOS_BIASES[1])
    texts = [EN[1], EN[0]]  # the second is padded
    src, lengths = padded_batch(tr, texts)
    assert lengths[1] < src.size(1)
    tgt = random_targets(tr, [4, 4])
    fwd = tr.model(src, lengths, tgt)
    n = int(lengths[1])
    assert bool((fwd.maps["cross"][1, ..., n:] == 0).all())
    assert bool((fwd.maps["encoder_self"][1, ..., n:] == 0).all())  # padded keys
    assert bool((fwd.maps["encoder_self"][1, :, :, n:] == 0).all())  # padded queries' rows
    alone = tr.model(src[1:, :n], lengths[1:], tgt[1:])
    torch.testing.assert_close(fwd.logits[1:], alone.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(fwd.maps["cross"][1:, ..., :n], alone.maps["cross"], atol=1e-5, rtol=0)
    torch.testing.assert_close(fwd.maps["encoder_self"][1:, :, :, :n, :n], alone.maps["encoder_self"], atol=1e-5, rtol=0)


def test_beams_copy_the_cache_rows():
    tr = lively(EOS_BIASES[1])
    src, lengths = padded_batch(tr, EN[:2])
    enc = tr.model.encode(src, lengths)
    out = tr.model.step(torch.full((2,), BOS), tr.model.start(enc), enc)
    rows = torch.tensor([1, 1, 0])
    picked = select_rows(out.state, rows)
    assert picked.t == 1
    for k, full in zip(picked.keys, out.state.keys):
        torch.testing.assert_close(k, full[rows])


def test_the_alignment_reads_the_chosen_layer_and_head():
    cross = torch.rand(2, 3, 4, 5, 6)  # (B, L, H, T, S)
    penultimate_mean = make_transformer(layers=3, heads=4).model.alignment(cross)
    torch.testing.assert_close(penultimate_mean, cross[:, 1].mean(1))
    torch.testing.assert_close(make_transformer(layers=3, heads=4, align_layer=2, align_head=3).model.alignment(cross), cross[:, 2, 3])
    torch.testing.assert_close(make_transformer(layers=3, heads=4, align_layer=-3, align_head=0).model.alignment(cross), cross[:, 0, 0])
    one_layer = make_transformer(layers=1, heads=4).model.alignment(cross[:, :1])
    torch.testing.assert_close(one_layer, cross[:, 0].mean(1))


def test_guided_alignment_trains_only_the_supervised_head():
    tr = make_transformer(align_head=1)
    model = tr.model.train()
    src, lengths = padded_batch(tr, EN)
    tgt = random_targets(tr, [3, 3, 3, 3])
    links = torch.zeros(4, tgt.size(1), src.size(1))
    links[:, 0, 0] = links[:, 1, 1] = 1.0
    fwd = model(src, lengths, tgt)
    guided_alignment_loss(model.alignment_of(fwd.maps), links).backward()
    q = model.decoder.layers[0].cross_attn.q.weight.grad  # (d, d): rows of head h are h * Dh ... (h + 1) * Dh - 1
    assert q[8:].abs().sum() > 0 and q[:8].abs().sum() == 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.decoder.layers[1].parameters())


def test_checkpoint_round_trip_gives_identical_translations(tmp_path):
    tr = lively(EOS_BIASES[1])  # rounded: weights at float16 precision survive the round trip
    path = save_checkpoint(tr, tmp_path / "tf.safetensors")
    back = load_checkpoint(path)
    assert back.model.config == tr.model.config
    assert back.model.decoder.out.weight is back.model.decoder.embed.weight
    for text in sentences()[:8]:
        for beam in (1, 3):
            a, b = tr.translate(text, beam=beam), back.translate(text, beam=beam)
            assert [h.tokens for h in a.hypotheses] == [h.tokens for h in b.hypotheses]
            for name in a.best.maps:
                np.testing.assert_allclose(a.best.maps[name].values, b.best.maps[name].values, atol=1e-6)
            np.testing.assert_allclose(a.source_maps["encoder_self"].values, b.source_maps["encoder_self"].values, atol=1e-6)


def test_the_loader_bounds_the_transformers_size(tmp_path):
    tr = make_transformer()
    tr.model.config = dataclasses.replace(tr.model.config, layers=1000)
    path = save_checkpoint(tr, tmp_path / "deep.safetensors")
    with pytest.raises(CheckpointError, match="layers|budget"):
        load_checkpoint(path)


def test_translate_json_names_every_map_with_its_kind_and_dims():
    tr = lively(EOS_BIASES[1])
    res = tr.translate(EN[1], beam=2)
    data = res.to_json()
    S, T = len(res.source_tokens), len(res.best.tokens)
    assert data["family"] == "transformer" and data["mode"] == "soft" and data["scorer"] == ""
    maps = {m["name"]: m for m in data["maps"]}
    assert set(maps) == {"cross", "decoder_self"}
    assert maps["cross"]["shape"] == [2, 2, T, S] and maps["decoder_self"]["shape"] == [2, 2, T, T]
    [enc] = data["source_maps"]
    assert enc["name"] == "encoder_self" and enc["shape"] == [2, 2, S, S]
    for m in [*maps.values(), enc]:
        assert m["kind"] == MAP_KINDS[m["name"]] and m["dims"] == ["layer", "head", "query", "key"]
    cross = np.array(maps["cross"]["values"])
    np.testing.assert_allclose(np.array(data["attention"]), cross[0].mean(0), atol=1e-5)  # layer 0 of 2, mean of heads
    forced = tr.force(res.source_tokens, res.best.tokens[:-1])
    assert set(forced.best.maps) == {"cross", "decoder_self"} and set(forced.source_maps) == {"encoder_self"}


def _toy_pairs(tmp_path: Path) -> tuple[Path, dict[str, list[Pair]]]:
    f = tmp_path / "tiny.tsv"
    f.write_text("".join(f"{e}\t{z}\n" for e, z in zip(EN * 6, ZH * 6)), encoding="utf-8")
    return f, tsv_splits(read_tsv(f))


def _diagonal(pair: Pair) -> set[tuple[int, int]]:
    n = min(len(tokenizer_for("en").tokenize(pair.src)), len(tokenizer_for("zh").tokenize(pair.tgt)))
    return {(i, i) for i in range(n)}


def test_one_epoch_of_guided_training_with_warm_up_runs(tmp_path):
    _, pairs = _toy_pairs(tmp_path)
    links = {p.id: _diagonal(p) for p in pairs["train"]}
    args = {"family": "transformer", **TINY, "align_head": 0, "dropout": 0.1}
    tr = train_model(
        pairs, args, "en", "zh", TrainConfig(epochs=1, batch_size=4, lr=1e-3, warmup=3, guided_alignment=1.0, device="cpu"),
        links, progress=False, log=lambda m: None,
    )
    [epoch] = tr.meta["training"]["history"]
    assert np.isfinite(epoch["train_loss"]) and tr.meta["training"]["warmup"] == 3
    assert tr.model.config.family == "transformer" and tr.model.config.align_head == 0
    assert tr.translate(EN[0]).best.tokens


def test_the_linked_context_loss_is_refused_for_the_transformer(tmp_path):
    _, pairs = _toy_pairs(tmp_path)
    with pytest.raises(ValueError, match="guided-context"):
        train_model(pairs, {"family": "transformer", **TINY}, "en", "zh", TrainConfig(epochs=1, guided_context=1.0, device="cpu"), {}, progress=False)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "models", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_cli_trains_a_guided_transformer_with_one_supervised_head(tmp_path):
    tsv, _ = _toy_pairs(tmp_path)
    pharaoh = tmp_path / "tiny.align"
    write_pharaoh(pharaoh, [_diagonal(p) for p in read_tsv(tsv)])
    out = tmp_path / "tf.safetensors"
    common = ["train", "--pairs", str(tsv), "--src-lang", "en", "--tgt-lang", "zh", "--family", "transformer", "--layers", "2",
              "--heads", "2", "--hidden", "16", "--ff-dim", "32", "--epochs", "1", "--batch-size", "8", "--warmup", "2",
              "--alignments", str(pharaoh), "--no-progress", "--device", "cpu", "--out", str(out)]
    r = _cli(*common, "--guided-alignment", "1")
    assert r.returncode == 0, r.stderr
    c = load_checkpoint(out).model.config
    assert (c.family, c.layers, c.heads, c.hidden, c.emb_dim, c.ff_dim, c.align_layer, c.align_head) == ("transformer", 2, 2, 16, 16, 32, -1, 0)
    refused = _cli(*common, "--guided-context", "1")
    assert refused.returncode == 2 and "guided-context" in refused.stderr and "Traceback" not in refused.stderr
