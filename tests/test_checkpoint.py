"""Checkpoint round trip: the same outputs, metadata kept, float16 storage; .pt files refused unread."""

import io
import json

import numpy as np
import pytest
import torch

import models.checkpoint as checkpoint
from bench.tiny import make_translator
from models.checkpoint import FORMAT, CheckpointError, load_checkpoint, save_checkpoint
from models.nets.scorers import SCORERS


@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_round_trip_gives_identical_outputs(tmp_path, scorer, mode):
    tr = make_translator(scorer, mode, seed=1)
    # float16 storage: compare against the model with its weights rounded the same way
    with torch.no_grad():
        for p in tr.model.parameters():
            p.copy_(p.half().float())
    path = save_checkpoint(tr, tmp_path / "m.safetensors")
    back = load_checkpoint(path)
    for text in ["I love you.", "the cat sat on the mat ."]:
        a, b = tr.translate(text, beam=2), back.translate(text, beam=2)
        assert a.target_tokens == b.target_tokens
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-6)
    assert back.model.config == tr.model.config
    assert back.src_vocab == tr.src_vocab and back.tgt_vocab == tr.tgt_vocab
    assert back.direction == "en-zh"
    assert back.meta["name"] == tr.meta["name"]


def test_weights_are_stored_as_float16_once(tmp_path):
    from safetensors import safe_open

    path = save_checkpoint(make_translator(), tmp_path / "m.safetensors")
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
        assert all(f.get_tensor(k).dtype == torch.float16 for k in keys)
        assert f.metadata()["format"] == FORMAT
        meta = json.loads(f.metadata()["meta"])
    assert "decoder.out.weight" not in keys  # tied to decoder.embed.weight
    assert {"config", "src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer", "training", "metrics"} <= meta.keys()


def test_loads_from_bytes_like_an_upload(tiny_checkpoint):
    tr = load_checkpoint(tiny_checkpoint.read_bytes(), name="upload")
    assert tr.meta["name"] == "tiny-additive-soft"
    assert tr.translate("I love you.").source_tokens[-1] == "</s>"


def test_loading_makes_no_weights_only_to_overwrite_them(monkeypatch, tiny_checkpoint):
    """The model is built on the meta device and given the checkpoint's weights (an upload loads
    in a session: no second set of weights, no random initialisation), the output layer tied."""
    built: list[set[str]] = []  # the devices of each model's weights as it is built
    real = checkpoint.build_model

    def building(config):
        model = real(config)
        built.append({p.device.type for p in model.parameters()})
        return model

    monkeypatch.setattr(checkpoint, "build_model", building)
    model = load_checkpoint(tiny_checkpoint.read_bytes()).model
    assert built and all(devices == {"meta"} for devices in built)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 and p.requires_grad for p in model.parameters())
    assert model.decoder.out.weight is model.decoder.embed.weight
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in make_translator().model.parameters())


def test_pt_file_with_the_same_layout_is_refused_without_torch_load(tmp_path, tiny_checkpoint, monkeypatch):
    from safetensors.torch import load_file, safe_open

    tensors = load_file(str(tiny_checkpoint))
    with safe_open(str(tiny_checkpoint), "pt") as f:
        md = f.metadata()
    buf = io.BytesIO()
    torch.save({"state_dict": tensors, "metadata": md}, buf)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(CheckpointError, match=r"\.pt files are not accepted"):
        load_checkpoint(buf.getvalue())


def test_a_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_a_models_own_beam_ranking_is_kept_and_decodes_by_default(tmp_path):
    tr = make_translator(seed=2)
    assert tr.ranking == {"length_alpha": 0.6, "coverage_beta": 0.0}  # no ranking of its own: the defaults
    tr.meta["decoding"] = {"length_alpha": 2.0, "coverage_beta": 0.3}
    back = load_checkpoint(save_checkpoint(tr, tmp_path / "m.safetensors"))
    assert back.ranking == {"length_alpha": 2.0, "coverage_beta": 0.3}
    text = "the cat sat on the mat ."
    own, told = back.translate(text, beam=3), back.translate(text, beam=3, length_alpha=2.0, coverage_beta=0.3)
    assert [h.rank_score for h in own.hypotheses] == [h.rank_score for h in told.hypotheses]
    assert own.to_json()["length_alpha"] == 2.0 and own.to_json()["coverage_beta"] == 0.3  # the result says how it ranked
    assert "length_alpha" not in back.translate(text).to_json()  # greedy: nothing ranked
    assert back.translate_batch([text, "I love you."], beam=3) == back.translate_batch([text, "I love you."], beam=3, length_alpha=2.0, coverage_beta=0.3)
    plain = back.translate(text, beam=3, length_alpha=2.0, coverage_beta=0.0)  # a given value wins over the model's
    assert all(h.rank_score == pytest.approx(h.score / len(h.tokens) ** 2.0, abs=1e-5) for h in plain.hypotheses)  # "</s>" counted


def test_evaluate_store_with_a_ranking_makes_it_the_models_own_and_keeps_other_stored_results(tmp_path, capsys):
    from models.cli import main

    tr = make_translator(seed=2)
    tr.meta["metrics"] = {"test": {"head": "layer 1, head 2", "bleu": 1.0, "length_alpha": 0.9}}
    path = save_checkpoint(tr, tmp_path / "m.safetensors")
    assert main(["evaluate", "--checkpoint", str(path), "--split", "test", "--store", "--length-alpha", "1.3", "--device", "cpu"]) == 0
    back = load_checkpoint(path)
    assert back.ranking == {"length_alpha": 1.3, "coverage_beta": 0.0}
    stored = back.meta["metrics"]["test"]
    assert stored["head"] == "layer 1, head 2" and stored["length_alpha"] == 1.3 and "bleu_beam5" in stored  # head kept, ranking renewed
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(path), "--split", "dev", "--store", "--coverage", "0.2", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "now ranks its beams by log-prob / tokens^1.3 + 0.2 × coverage penalty; its stored test metrics were made with the previous ranking" in err
    assert load_checkpoint(path).ranking == {"length_alpha": 1.3, "coverage_beta": 0.2}  # one option given: the other kept


def test_a_text_file_named_safetensors_is_refused_in_plain_words():
    with pytest.raises(CheckpointError, match="the file has no safetensors header: it is another kind of file"):
        load_checkpoint(b"I am a text file, renamed to model.safetensors by mistake.\n")
