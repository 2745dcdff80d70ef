"""Issue 19, training at scale: torchrun/DDP against one process, resume, streaming, atomic writes.

Tiny on purpose (two shared CPU cores): a 16-wide GRU, two or three epochs, a few dozen pairs.
The torchrun test starts three Python processes (~20 s); the rest take a few seconds.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from models.atomic import atomic_write_bytes
from models.checkpoint import load_checkpoint, save_checkpoint
from models.data import read_tsv, tsv_splits
from models.stream import StreamCorpus
from models.tokenize import Tokenizer
from models.train import TrainConfig, train_model
from models.train_state import load_state

ROOT = Path(__file__).resolve().parents[1]
TINY = {"emb_dim": 16, "hidden": 16, "dropout": 0.0}
# Two processes and one see the same global batches; with dropout and word dropout off they
# differ only in the order of float sums (gloo's all-reduce), so the rounded curves agree to:
LOSS_TOLERANCE = 2e-3


def _corpus(path: Path, n: int, seed: int = 0, words: int = 30) -> Path:
    """n pairs: random words and the same words upper-cased in reverse order."""
    r = random.Random(seed)
    vocab = [f"w{i}" for i in range(words)]
    lines = []
    for _ in range(n):
        s = [r.choice(vocab) for _ in range(r.randint(2, 6))]
        lines.append(" ".join(s) + "\t" + " ".join(w.upper() for w in reversed(s)) + "\n")
    data = "".join(lines).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _train_args(tsv: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--pairs", str(tsv), "--src-lang", "en", "--tgt-lang", "en", "--hidden", "16", "--emb-dim", "16",
            "--epochs", "2", "--dropout", "0", "--word-dropout", "0", "--batch-size", "8", "--no-progress",
            "--device", "cpu", "--out", str(out), *extra]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    return env | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_torchrun_two_processes_gives_a_normal_checkpoint_with_the_single_process_loss_curve(tmp_path):
    tsv = _corpus(tmp_path / "c.tsv", 84)  # 80 train pairs: ten full batches of 8 (4 a rank)
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    r = subprocess.run([sys.executable, "-m", "models", *_train_args(tsv, one)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run(
        ["torchrun", "--nproc_per_node", "2", "--nnodes", "1", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
         "-m", "models", *_train_args(tsv, two)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("epoch  1") == 1  # rank 0 alone logs
    a, b = load_checkpoint(one).meta["training"], load_checkpoint(two).meta["training"]
    assert (a["processes"], b["processes"]) == (1, 2)
    assert len(a["history"]) == len(b["history"]) == 2
    for x, y in zip(a["history"], b["history"]):
        assert abs(x["train_loss"] - y["train_loss"]) <= LOSS_TOLERANCE
        assert abs(x["dev_loss"] - y["dev_loss"]) <= LOSS_TOLERANCE
        assert x["tokens"] == y["tokens"]  # the same pairs were trained on
    assert not (tmp_path / "two.state.safetensors").exists()  # a finished run leaves no state file
    assert load_checkpoint(two).translate("w1 w2") is not None  # it loads and translates


class Interrupted(Exception):
    pass


def test_a_resumed_run_reaches_the_weights_of_an_uninterrupted_one(tmp_path):
    pairs = tsv_splits(read_tsv(_corpus(tmp_path / "c.tsv", 60)))
    cfg = TrainConfig(epochs=3, batch_size=8, seed=3, patience=10)  # word dropout (seeded generator) stays on
    args = dict(model_args=TINY, src_lang="en", tgt_lang="en", cfg=cfg, progress=False)
    full = train_model(pairs, log=lambda m: None, **args)

    state = tmp_path / "run.state.safetensors"

    def die_after_epoch_2(message: str) -> None:
        if message.startswith("epoch  2"):
            raise Interrupted  # after epoch 2's state was written: as if killed during epoch 3

    with pytest.raises(Interrupted):
        train_model(pairs, log=die_after_epoch_2, state_path=state, **args)
    tensors, meta = load_state(state)
    assert meta["epoch"] == 2 and set(tensors) >= {"model", "opt", "rng", "best"}
    assert state.read_bytes()[:1] != b"\x80" and state.read_bytes()[:2] != b"PK"  # safetensors, not a pickle or zip
    resumed = train_model(pairs, log=lambda m: None, state_path=state, resume=state, **args)
    assert [h["epoch"] for h in resumed.meta["training"]["history"]] == [1, 2, 3]
    def curve(tr):
        return [{k: v for k, v in h.items() if k != "train_s"} for h in tr.meta["training"]["history"]]

    assert curve(resumed) == curve(full)
    _assert_same_weights(full, resumed)
    assert resumed.meta["training"]["seconds"] >= meta["seconds"] > 0  # the time before the interruption counts


def _resumed_after_epoch_1(tmp_path, first: tuple[dict, TrainConfig], then: tuple[dict, TrainConfig], **args):
    """Train on ``first`` (pairs, config), stopped after epoch 1, then resumed on ``then``."""
    state = tmp_path / "run.state.safetensors"

    def stop_after_epoch_1(message: str) -> None:
        if message.startswith("epoch  1"):
            raise Interrupted

    with pytest.raises(Interrupted):
        train_model(first[0], log=stop_after_epoch_1, state_path=state, cfg=first[1], **args)
    return train_model(then[0], log=lambda m: None, resume=state, cfg=then[1], **args)


def _assert_same_weights(a, b) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=1e-6, msg=k)


def test_extra_pairs_for_an_epoch_then_a_resume_without_them_is_the_run_with_extra_epochs(tmp_path):
    """``train --tatoeba --tatoeba-epochs N`` equals training with the extra pairs, stopping after
    epoch N and resuming on the corpus alone (how a run can be cut over to fine-tuning)."""
    from models.data import Pair

    pairs = tsv_splits(read_tsv(_corpus(tmp_path / "c.tsv", 60)))
    with_extra = pairs | {"extra": [Pair(f"w{i} w{i + 1}", f"w{i + 1} w{i}", f"extra:{i}") for i in range(24)]}
    args = dict(model_args=TINY, src_lang="en", tgt_lang="en", progress=False)
    full = train_model(with_extra, log=lambda m: None, cfg=TrainConfig(epochs=3, batch_size=8, seed=3, patience=10, extra_epochs=1), **args)
    plain = TrainConfig(epochs=3, batch_size=8, seed=3, patience=10)
    resumed = _resumed_after_epoch_1(tmp_path, (with_extra, plain), (pairs, plain), **args)
    assert [h["pairs"] for h in resumed.meta["training"]["history"]] == [len(pairs["train"]) + 24, *[len(pairs["train"])] * 2]
    _assert_same_weights(full, resumed)


def test_r_drop_from_an_epoch_on_is_the_run_resumed_with_r_drop_after_that_epoch(tmp_path):
    """``--rdrop 1 --rdrop-from 2`` equals training without R-Drop, stopping after epoch 1 and
    resuming with it (the zh-en Tatoeba recipe: R-Drop in the fine-tuning epochs only)."""
    pairs = tsv_splits(read_tsv(_corpus(tmp_path / "c.tsv", 60)))
    args = dict(model_args=TINY | {"dropout": 0.3}, src_lang="en", tgt_lang="en", progress=False)  # dropout: R-Drop's two passes differ
    plain = TrainConfig(epochs=2, batch_size=8, seed=3, patience=10)
    full = train_model(pairs, log=lambda m: None, cfg=replace(plain, rdrop=1.0, rdrop_from=2), **args)
    _assert_same_weights(full, _resumed_after_epoch_1(tmp_path, (pairs, plain), (pairs, replace(plain, rdrop=1.0)), **args))
    without = train_model(pairs, log=lambda m: None, cfg=plain, **args)
    losses = [[h["train_loss"] for h in run.meta["training"]["history"]] for run in (full, without)]
    assert losses[0][0] == losses[1][0] and losses[0][1] != losses[1][1]  # R-Drop ran in epoch 2 only
    assert full.meta["training"]["rdrop_from"] == 2


def test_streaming_reads_a_gz_file_with_a_capped_vocabulary_and_a_bounded_buffer(tmp_path):
    gz = _corpus(tmp_path / "big.tsv.gz", 400, words=200)
    sc = StreamCorpus(gz, Tokenizer(), Tokenizer(), max_vocab=25, shuffle_buffer=64, count_limit=60).scan()
    assert len(sc.src_vocab) == len(sc.tgt_vocab) == 4 + 25  # specials + the cap
    assert 0 < len(sc.dev) < 50 and sc.n_train + len(sc.dev) == 400  # the hash split: about 5%
    again = StreamCorpus(gz, Tokenizer(), Tokenizer(), max_vocab=25, shuffle_buffer=64).scan()
    assert [p.id for p in again.dev] == [p.id for p in sc.dev]  # deterministic
    seen = []
    for batch in sc.batches(8, random.Random(1), lambda s, t: (s, t, None)):
        assert 1 <= len(batch) <= 8
        seen.append(len(batch))
    assert sum(seen) == sc.n_train and len(seen) == sc.n_batches(8)
    first_k = StreamCorpus(gz, Tokenizer(), Tokenizer(), dev_lines=7).scan()
    assert [p.id for p in first_k.dev] == [f"line{i}" for i in range(1, 8)]
    # and a model trains from it
    tr = train_model({"train": [], "dev": [], "test": []}, TINY, "en", "en", TrainConfig(epochs=1, batch_size=16), progress=False, log=lambda m: None, stream=sc)
    assert tr.meta["training"]["pairs"]["train"] == sc.n_train and len(tr.src_vocab) == 29


def test_atomic_writes_leave_the_old_file_when_a_write_fails(tmp_path, monkeypatch, tiny_translator):
    target = tmp_path / "model.safetensors"
    save_checkpoint(tiny_translator, target)
    before = target.read_bytes()

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tiny_translator, target)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"half")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temp file left behind
    monkeypatch.undo()
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"


def test_amp_is_refused_on_the_cpu(tmp_path):
    pairs = tsv_splits(read_tsv(_corpus(tmp_path / "c.tsv", 20)))
    with pytest.raises(ValueError, match="needs a CUDA device"):
        train_model(pairs, TINY, "en", "en", TrainConfig(epochs=1, amp=True, device="cpu"), progress=False, log=lambda m: None)


def test_atomic_writes_give_the_file_the_mode_a_plain_write_would(tmp_path):
    plain, atomic = tmp_path / "plain.bin", tmp_path / "atomic.bin"
    plain.write_bytes(b"x")
    atomic_write_bytes(atomic, b"x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
