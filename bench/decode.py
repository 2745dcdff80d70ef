"""Decoding benchmark: the fast decoders beside the reference decoder, model by model.

    python bench/decode.py [--checkpoint PATH ...] [--device cpu|cuda] [--threads 2]
                           [--sentences N] [--beam 5] [--batch 64] [--out FILE]

For each model (default: every bundled model in assets/checkpoints) on the HSK test split of
its direction: greedy latency per sentence (on the CPU the NumPy kernel of models/kernel.py, with
PyTorch's decoder beside it) and beam latency (likewise; median and 95th percentile), batched
greedy throughput and peak memory, each beside the reference decoder (models/reference.py:
one sentence, one step at a time, nothing cached) run in the same process on the same
sentences, with the speed-up and how many outputs were identical, and the throughput the matrix
products alone would allow (``product_ceiling``). Then one line for the
Compare page: seven models on one sentence, total model time. Prints the machine and a
Markdown table.

Times run from source tokens to decoded ids (encoder included; tokenising is the same for
both and left out), except the ``translate()`` row, which is the app's whole call. Reference
and fast runs alternate sentence by sentence so that load from other processes falls on both
alike: on a shared machine, trust the ratios more than the absolute times.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from bench.common import CHECKPOINTS, Timer, add_report_args, machine, markdown_table, median_p95_ms, peak_tensor_mib, report
from models.beam import TorchStepper, beam_search
from models.checkpoint import load_checkpoint
from models.data import hsk_pairs
from models.greedy import greedy_decode
from models.reference import reference_beam, reference_greedy
from models.threads import set_threads
from models.translator import Translator, resolve_device

COMPARE_MODELS = 7
WARMUP = 3


@dataclass(frozen=True)
class Case:
    """One source sentence as the model reads it, and its decoding length cap."""

    text: str
    tokens: list[str]
    cap: int


def case(tr: Translator, text: str) -> Case:
    tokens = tr.source_tokens(text)[0]
    return Case(text, tokens, tr.model.max_len(len(tokens)))


def cases_for(tr: Translator, limit: int | None) -> list[Case]:
    return [case(tr, p.src) for p in hsk_pairs(tr.direction)["test"][:limit]]


def fast_greedy(tr: Translator, c: Case):
    """One sentence as ``translate()`` decodes it (on the CPU: the NumPy kernel)."""
    return tr.decode(c.tokens)[0]


def torch_greedy(tr: Translator, c: Case):
    """One sentence through the batched PyTorch decoder (what a GPU runs)."""
    return greedy_decode(tr.model, tr.encode_sources([c.tokens]), [c.cap])[0]


def ref_greedy(tr: Translator, c: Case):
    return reference_greedy(tr.model, tr.encode_sources([c.tokens]), c.cap)


def fast_batched(tr: Translator, cases: list[Case], batch: int, workers: int = 1):
    return tr.decode_batch([c.tokens for c in cases], batch, workers)


def batched_in_threads(tr: Translator, cases: list[Case], batch: int, workers: int):
    """``workers`` batches at a time in threads, PyTorch at one thread per operation."""
    threads = torch.get_num_threads()
    set_threads(1)
    try:
        return fast_batched(tr, cases, batch, workers)
    finally:
        set_threads(threads)


def product_ceiling(tr: Translator, tokens: int, sentences: int, batch: int, timer: Timer, workers: int = 1) -> float:
    """Sentences/s the batched decoder could reach if its matrix products were all it did: each
    decoded token is one row of ``Decoder.step``'s three products (s_t @ query, context @
    context, o @ out), timed here at ``batch`` rows (best of 5 runs) with PyTorch's current threads, or with
    ``workers`` threads each running its own products at one thread per operation (as
    ``decode_batch(workers=...)`` does). The encoder, attention scores, softmax, top-k and Python
    cost nothing in this figure, so it is a ceiling, not an estimate."""
    w = tr.model.decoder.step_weights()
    context_bias = w.context.new_zeros(w.context.size(1))
    products = [w.query, lambda x: torch.addmm(context_bias, x, w.context), w.out]  # as Decoder.step computes them
    inputs = [torch.randn(batch, m.size(0), device=w.context.device) for m in (w.query.weight, w.context, w.out.weight)]
    reps = 50

    def steps() -> None:
        with torch.inference_mode():
            for _ in range(reps):
                for product, x in zip(products, inputs):
                    product(x)

    def run() -> None:
        if workers == 1:
            return steps()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: steps(), range(workers)))

    threads = torch.get_num_threads()
    if workers > 1:
        set_threads(1)
    try:
        run()  # warm-up
        seconds = min(timer(run)[0] for _ in range(5))  # the fastest run: a ceiling
    finally:
        set_threads(threads)
    per_row = seconds / (reps * workers * batch)
    return sentences / (tokens * per_row)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ids(decoded) -> list:
    """Token ids of a DecodedIds, or of each hypothesis of a beam's list."""
    return [d.ids for d in decoded] if isinstance(decoded, list) else decoded.ids


def interleaved(fns: dict[str, Callable], cases: list[Case], timer: Timer) -> dict[str, tuple[list[float], list]]:
    """Run every function on every case, rotating which goes first so that changes in the
    machine's load fall on all alike. Returns, per name, the seconds and the results."""
    for c in cases[:WARMUP]:
        for f in fns.values():
            f(c)
    out: dict[str, tuple[list[float], list]] = {name: ([], []) for name in fns}
    names = list(fns)
    for i, c in enumerate(cases):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            seconds, result = timer(fns[name], c)
            out[name][0].append(seconds)
            out[name][1].append(result)
    return out


def same_ids(a: list, b: list) -> int:
    """How many results (DecodedIds, or a beam's lists of them) have identical token ids."""
    return sum(ids(x) == ids(y) for x, y in zip(a, b))


def bench_model(path: Path, args, timer: Timer) -> list[list[str]]:
    """Table rows for one model."""
    device = timer.device
    tr = load_checkpoint(path, device)
    tr.model.decoder.attention.hard_inference = "argmax"
    cases = cases_for(tr, args.sentences)
    n = len(cases)
    rows = []

    def row(measure: str, ref: str, fast: str, speedup: float | None, same: str) -> None:
        rows.append([path.stem if not rows else "", measure, ref, fast, f"{speedup:.1f}×" if speedup else "", same])

    progress(f"{path.stem}: greedy")
    greedy_fns = {"ref": lambda c: ref_greedy(tr, c), "fast": lambda c: fast_greedy(tr, c), "translate": lambda c: tr.translate(c.text)}
    if device.type == "cpu":  # fast is the NumPy kernel: show the PyTorch decoder beside it
        greedy_fns["torch"] = lambda c: torch_greedy(tr, c)
    g = interleaved(greedy_fns, cases, timer)
    (g_ref, ref_out), (g_fast, fast_out) = g["ref"], g["fast"]
    fast_name = "NumPy kernel" if device.type == "cpu" else "PyTorch"
    row(f"greedy ({fast_name}), ms/sentence, median (p95)", median_p95_ms(g_ref), median_p95_ms(g_fast), np.median(g_ref) / np.median(g_fast), f"{same_ids(ref_out, fast_out)}/{n}")
    if "torch" in g:
        t, out = g["torch"]
        row("greedy (PyTorch, batch of 1), ms/sentence, median (p95)", median_p95_ms(g_ref), median_p95_ms(t), np.median(g_ref) / np.median(t), f"{same_ids(ref_out, out)}/{n}")
    row("translate() greedy end to end, ms/sentence, median (p95)", "", median_p95_ms(g["translate"][0]), None, "")
    k = args.beam
    progress(f"{path.stem}: beam {k}")
    beam_fns = {
        "ref": lambda c: reference_beam(tr.model, tr.encode_sources([c.tokens]), k, c.cap),
        "fast": lambda c: tr.decode(c.tokens, beam=k),
    }
    if device.type == "cpu":
        beam_fns["torch"] = lambda c: beam_search(TorchStepper(tr.model, tr.encode_sources([c.tokens]), k), k, c.cap)
    b = interleaved(beam_fns, cases, timer)
    (b_ref, ref_out), (b_fast, fast_out) = b["ref"], b["fast"]
    row(f"beam {k} ({fast_name}), ms/sentence, median (p95)", median_p95_ms(b_ref), median_p95_ms(b_fast), np.median(b_ref) / np.median(b_fast), f"{same_ids(ref_out, fast_out)}/{n}")
    if "torch" in b:
        t, out = b["torch"]
        row(f"beam {k} (PyTorch), ms/sentence, median (p95)", median_p95_ms(b_ref), median_p95_ms(t), np.median(b_ref) / np.median(t), f"{same_ids(ref_out, out)}/{n}")

    progress(f"{path.stem}: batched, memory, translate()")
    runs = [timer(fast_batched, tr, cases, args.batch) for _ in range(args.repeats)]
    batched_same = same_ids(g["fast"][1], runs[0][1])
    ref_rate, fast_rate = 1 / float(np.median(g_ref)), n / float(np.median([t for t, _ in runs]))
    row(
        f"greedy, sentences/s (reference: 1 / median above; fast: the split in batches of {args.batch} by length, median of {args.repeats} runs)",
        f"{ref_rate:,.0f}",
        f"{fast_rate:,.0f}",
        fast_rate / ref_rate,
        f"{batched_same}/{n} same as one at a time",
    )
    tokens = sum(len(d.ids) for d in runs[0][1])
    ceiling = "greedy, sentences/s ceiling: the {} decoded tokens' matrix products alone at batch {}{}, as timed on this machine (all else free)"
    row(ceiling.format(tokens, args.batch, ""), "", f"{product_ceiling(tr, tokens, n, args.batch, timer):,.0f}", None, "")
    workers = torch.get_num_threads()
    if device.type == "cpu" and workers > 1:
        runs = [timer(batched_in_threads, tr, cases, args.batch, workers) for _ in range(args.repeats)]
        rate = n / float(np.median([t for t, _ in runs]))
        row(
            f"greedy, sentences/s, the same batches {workers} at a time on threads (PyTorch: one thread per operation), median of {args.repeats} runs",
            f"{ref_rate:,.0f}",
            f"{rate:,.0f}",
            rate / ref_rate,
            f"{same_ids(g['fast'][1], runs[0][1])}/{n} same as one at a time",
        )
        rate = product_ceiling(tr, tokens, n, args.batch, timer, workers)
        row(ceiling.format(tokens, args.batch, f", {workers} threads each at one thread per operation"), "", f"{rate:,.0f}", None, "")
    mem_ref = max(peak_tensor_mib(device, ref_greedy, tr, c) for c in cases)
    mem_fast = peak_tensor_mib(device, fast_batched, tr, cases, args.batch)
    row("peak tensor memory, MiB (same runs as above)", f"{mem_ref:.2f}", f"{mem_fast:.2f}", None, "")
    return rows


def compare_line(paths: list[Path], args, timer: Timer) -> str:
    """Model time of the Compare page: seven models translating one sentence, the sum over the
    models of each one's median time per sentence (medians, so that a stall from another
    process does not count seven times); ``translate()`` for fast, encoding plus
    ``reference_greedy`` for the reference."""
    progress("compare")
    models = [load_checkpoint(p, timer.device) for p in paths]
    models = [m for m in models if m.direction == models[0].direction]
    note = "" if len(models) >= COMPARE_MODELS else f" ({len(models)} distinct models, cycled to {COMPARE_MODELS})"
    models = [models[i % len(models)] for i in range(COMPARE_MODELS)]
    fns: dict[str, Callable] = {}
    for i, m in enumerate(models):
        fns[f"fast {i}"] = lambda c, m=m: m.translate(c.text)
        fns[f"ref {i}"] = lambda c, m=m: ref_greedy(m, case(m, c.text))
    cases = cases_for(models[0], args.compare_sentences)
    times = interleaved(fns, cases, timer)
    r, f = (sum(float(np.median(times[f"{kind} {i}"][0])) for i in range(COMPARE_MODELS)) * 1e3 for kind in ("ref", "fast"))
    return (
        f"Compare: {COMPARE_MODELS} models on one sentence{note}, total model time (sum of the models' medians over "
        f"{len(cases)} sentences): reference {r:.1f} ms, fast {f:.1f} ms ({r / f:.1f}×)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", type=Path, help="checkpoints (default: assets/checkpoints/*.safetensors)")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2, help="torch threads per operation (NumPy's BLAS: one, models/threads.py)")
    p.add_argument("--sentences", type=int, help="use the first N test sentences (default: all)")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5, help="batched runs (the median is reported)")
    p.add_argument("--compare-sentences", type=int, default=20)
    p.add_argument("--clock", default="wall", choices=["wall", "cpu"], help="cpu: this process's CPU time (for a loaded machine)")
    add_report_args(p)
    args = p.parse_args(argv)
    set_threads(args.threads)
    timer = Timer(resolve_device(args.device), args.clock)
    paths = args.checkpoint or sorted(CHECKPOINTS.glob("*.safetensors"))
    if not paths:
        p.error(f"no checkpoints in {CHECKPOINTS}; pass --checkpoint PATH")
    rows = [r for path in paths for r in bench_model(path, args, timer)]
    head = ["model", "measure", "reference", "fast", "speed-up", "same output"]
    parts = [f"Machine: {machine(timer.device, timer.clock)}", markdown_table(head, rows), compare_line(paths, args, timer)]
    report("bench/decode.py", sys.argv[1:] if argv is None else argv, parts, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
