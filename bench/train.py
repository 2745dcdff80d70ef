"""Training benchmark: seconds per epoch and sentences per second, on CPU and on CUDA when present.

    python bench/train.py [--device auto|cpu|cuda] [--threads 2] [--pairs N] [--epochs 1]
                          [--scorer additive] [--mode soft] [--out FILE]

Runs ``models.train.train_model`` (the trainer the CLI uses, default model size, HSK en-zh) for
a few epochs on the first N training pairs and times it. An epoch here is what training does
per epoch: the teacher-forced passes over the training pairs, then the dev loss and the greedy
dev translations. Prints the machine and a Markdown table.
"""

from __future__ import annotations

import argparse
import sys

import torch

from bench.common import Timer, add_report_args, machine, markdown_table, report
from models.corpus import HSK
from models.train import TrainConfig, train_model


def bench_device(device: torch.device, args) -> list[str]:
    pairs = HSK.splits("en-zh")
    pairs["train"] = pairs["train"][: args.pairs]
    cfg = TrainConfig(epochs=args.epochs, patience=args.epochs, device=device.type)
    model_args = {"scorer": args.scorer, "mode": args.mode}
    seconds, tr = Timer(device, args.clock)(train_model, pairs, model_args, "en", "zh", cfg, None, "hsk", False, lambda m: None)
    epochs = tr.meta["training"]["epochs_run"]
    n = len(pairs["train"])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return [name, f"{args.scorer}-{args.mode}", str(n), str(len(pairs["dev"])), str(epochs), f"{seconds / epochs:.1f}", f"{n * epochs / seconds:,.0f}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: CPU, then CUDA when present")
    p.add_argument("--threads", type=int, default=2, help="torch threads per operation")
    p.add_argument("--pairs", type=int, help="train on the first N training pairs (default: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--scorer", default="additive")
    p.add_argument("--mode", default="soft", choices=["soft", "hard"])
    p.add_argument("--clock", default="wall", choices=["wall", "cpu"], help="cpu: this process's CPU time (for a loaded machine)")
    add_report_args(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("CUDA was asked for but no CUDA device is available")
    kinds = ["cpu", "cuda"] if args.device == "auto" else [args.device]
    devices = [torch.device(k) for k in kinds if k == "cpu" or torch.cuda.is_available()]
    head = ["device", "model", "train pairs", "dev pairs", "epochs", "s/epoch", "sentences/s"]
    rows = [bench_device(d, args) for d in devices]
    argv = sys.argv[1:] if argv is None else argv
    report("bench/train.py", argv, [f"Machine: {machine(devices[-1], args.clock)}", markdown_table(head, rows)], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
