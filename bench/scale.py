"""Training at scale on this machine: tokens/s with 1 and 2 processes (torchrun, gloo), and the
peak memory of streaming a large corpus against a small one.

    python bench/scale.py [--train-pairs 4000] [--epochs 1] [--hidden 64]
                          [--stream-pairs 10000 1000000] [--no-in-memory] [--out FILE]

1. Throughput: a generated corpus of ``--train-pairs`` pairs is trained for ``--epochs`` with the
   GRU (``--hidden``) by ``python -m models train`` (one process) and by ``torchrun
   --nproc_per_node 2`` (DistributedDataParallel over gloo), one thread per process, same global
   batch. Tokens/s = target tokens trained (the epochs' ``tokens``) / training seconds (the
   epochs' ``train_s``: batches only, no dev evaluation). A single process with 2 threads is
   shown too: it is what the 2 cores give without DDP.
2. Memory: files of each ``--stream-pairs`` size are generated; a child process streams each
   (``models.stream.StreamCorpus``: the counting pass, then one epoch of batches made into
   tensors, without a model) and reports its peak RSS (ru_maxrss). With in-memory on (default)
   the in-memory path (read_tsv_counted, the split, tokenising every pair, as train_model does)
   is measured on the same files for contrast.

Only 127.0.0.1 is used (torchrun's rendezvous). Not a test: figures depend on the machine and
what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import MB, add_report_args, machine, markdown_table, report  # noqa: E402


def generate(path: Path, n: int, seed: int = 0, words: int = 20_000) -> Path:
    """n pairs of 3-15 random words (Zipf-like choice from ``words``) and their upper-cased reverse."""
    r = random.Random(seed)
    vocab = [f"w{i}" for i in range(words)]
    cum, total = [], 0.0
    for i in range(words):
        total += 1 / (i + 1)
        cum.append(total)
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, n, 1000):
            rows = []
            for _ in range(min(1000, n - start)):
                s = r.choices(vocab, cum_weights=cum, k=r.randint(3, 15))
                rows.append(" ".join(s) + "\t" + " ".join(w.upper() for w in reversed(s)) + "\n")
            fh.write("".join(rows))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(tsv: Path, procs: int, threads: int, args, tmp: Path) -> dict:
    out = tmp / f"p{procs}t{threads}.safetensors"
    train = ["train", "--pairs", str(tsv), "--src-lang", "en", "--tgt-lang", "en", "--hidden", str(args.hidden), "--emb-dim", str(args.hidden),
             "--epochs", str(args.epochs), "--batch-size", "64", "--no-progress", "--device", "cpu", "--out", str(out), "--json"]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")} | {"OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    if procs == 1:
        cmd = [sys.executable, "-m", "models", *train]
    else:
        cmd = ["torchrun", "--nproc_per_node", str(procs), "--nnodes", "1", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "models", *train]
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    from models.checkpoint import load_checkpoint

    hist = load_checkpoint(out).meta["training"]["history"]
    tokens, secs = sum(h["tokens"] for h in hist), sum(h["train_s"] for h in hist)
    return {"tokens": tokens, "train_s": secs, "tok_s": tokens / secs, "wall_s": wall, "loss": hist[-1]["train_loss"]}


def _child(mode: str, path: str) -> None:
    """Run in a child process: stream (or read into memory) ``path``; print JSON with the peak RSS."""
    import threading

    from bench.common import rss
    from models.tokenize import Tokenizer

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    now0, sampled, stop = rss(), [rss()], threading.Event()

    def sample() -> None:  # VmRSS now and then: the working set, without the import's transient peak
        while not stop.wait(0.2):
            sampled.append(rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    if mode == "stream":
        from models.stream import StreamCorpus
        from models.train import _tensors

        sc = StreamCorpus(path, Tokenizer(), Tokenizer(), max_vocab=50_000, shuffle_buffer=100_000).scan()
        n = 0
        for batch in sc.batches(64, random.Random(1), lambda s, t: (sc.src_vocab.encode(s) + [3], sc.tgt_vocab.encode(t) + [3], None)):
            _tensors(batch, torch.device("cpu"))
            n += len(batch)
        info = {"pairs": n + len(sc.dev), "vocab": len(sc.src_vocab)}
    else:
        from models.data import read_tsv_counted, tsv_splits
        from models.vocab import Vocab

        pairs = tsv_splits(read_tsv_counted(path)[0])
        tok = Tokenizer()
        tokenized = {k: [(tok.tokenize(p.src), tok.tokenize(p.tgt)) for p in v] for k, v in pairs.items()}
        v = Vocab.build(s for s, _ in tokenized["train"])
        encoded = [(v.encode(s), v.encode(t)) for s, t in tokenized["train"]]
        info = {"pairs": sum(len(x) for x in pairs.values()), "vocab": len(v), "kept": len(encoded)}
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(info | {"base": base, "peak": peak, "seconds": seconds, "now0": now0, "sampled_max": max(sampled)}))


def memory(path: Path, mode: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], cwd=ROOT, capture_output=True, text=True,
                       env=os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-pairs", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--stream-pairs", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--no-in-memory", action="store_true", help="skip the in-memory contrast")
    parser.add_argument("--no-throughput", action="store_true", help="memory only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    add_report_args(parser)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    tsv = generate(tmp / "train.tsv", args.train_pairs, words=2000)
    rows = []
    for procs, threads, what in [] if args.no_throughput else [(1, 1, "1 process, 1 thread"), (2, 1, "torchrun 2 processes (gloo), 1 thread each"), (1, 2, "1 process, 2 threads")]:
        t = throughput(tsv, procs, threads, args, tmp)
        rows.append([what, f"{t['tokens']:,}", f"{t['train_s']:.1f}", f"{t['tok_s']:,.0f}", f"{t['wall_s']:.1f}", f"{t['loss']:.3f}"])
    parts = [f"Machine: {machine(torch.device('cpu'))}; {os.cpu_count()} CPUs seen, shared with whatever else runs."]
    if rows:
        parts += [
        f"Throughput: GRU hidden {args.hidden}, {args.train_pairs:,} generated pairs, {args.epochs} epoch(s), global batch 64.",
        markdown_table(["run", "target tokens", "train s", "tokens/s", "wall s (with start-up, dev, save)", "last train loss"], rows),
        ]
    mem_rows = []
    for n in args.stream_pairs:
        f = generate(tmp / f"stream-{n}.tsv", n, seed=n)
        size = f.stat().st_size
        for mode in ["stream"] + ([] if args.no_in_memory else ["memory"]):
            m = memory(f, mode)
            mem_rows.append([f"{n:,} ({size / MB:.0f} MB)", "streamed" if mode == "stream" else "in memory", f"{m['base'] / MB:.0f}", f"{m['peak'] / MB:.0f}",
                             f"{m['now0'] / MB:.0f} → {m['sampled_max'] / MB:.0f}", f"{m['seconds']:.1f}", f"{m['vocab']:,}"])
        f.unlink()
    parts += [
        "Memory: peak RSS of a child process reading each file (streamed: counting pass + one epoch of batches as tensors, "
        "--max-vocab 50,000, --shuffle-buffer 100,000; in memory: read, split, tokenise and encode every pair). "
        "ru_maxrss includes importing torch's transient peak; VmRSS sampled every 0.2 s shows the working set.",
        markdown_table(["pairs (file size)", "path", "peak RSS after imports MB", "peak RSS MB", "VmRSS before → largest sampled MB", "seconds", "source vocabulary"], mem_rows),
    ]
    report("bench/scale.py", sys.argv[1:], parts, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
