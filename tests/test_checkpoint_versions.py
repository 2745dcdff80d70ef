"""Checkpoints of format version 1 (written before model families existed: tests/data/v1, the
tiny ones of every scorer and mode and a bundled model as it was shipped) load and translate as
they did then (tests/data/v1/expected.json: greedy and beam-3 outputs recorded with the
decoders of that time), and a version-2 round trip names its family."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from models.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint

V1 = Path(__file__).parent / "data" / "v1"
EXPECTED = json.loads((V1 / "expected.json").read_text(encoding="utf-8"))


def format_version(path: Path) -> str:
    with safe_open(str(path), "pt") as f:
        return f.metadata()["format_version"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_version_1_checkpoints_translate_as_they_did(name):
    path = V1 / name
    assert format_version(path) == "1"
    tr = load_checkpoint(path)
    assert tr.model.config.family == "rnn"
    for key, want in EXPECTED[name].items():
        beam, text = key.split("|", 1)
        got = tr.translate(text, beam=int(beam)).hypotheses
        assert [h.tokens for h in got] == [h["tokens"] for h in want], key
        for h, w in zip(got, want):
            np.testing.assert_allclose(h.attention, np.array(w["attention"]), atol=1e-4)
            assert h.score == pytest.approx(w["score"], abs=1e-3)


def test_a_version_1_checkpoint_saved_again_is_version_2_and_translates_the_same(tmp_path):
    old = load_checkpoint(V1 / "tiny-general-soft.safetensors")
    path = save_checkpoint(old, tmp_path / "again.safetensors")
    assert format_version(path) == str(FORMAT_VERSION) == "2"
    new = load_checkpoint(path)
    assert new.model.config == old.model.config
    a, b = old.translate("we like tea .", beam=3), new.translate("we like tea .", beam=3)
    assert [h.tokens for h in a.hypotheses] == [h.tokens for h in b.hypotheses]
