"""Command line: python -m models COMMAND (train, translate, evaluate, align, heads, distill,
eflomal, bundle, report, examples); ``build_parser`` declares them."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .checkpoint import MAX_DIM, MAX_NAME_CHARS, CheckpointError, load_checkpoint, save_checkpoint
from .config import MODES
from .data import bounded_lines, count_lines
from .model_aligner import READINGS
from .nets import FAMILIES
from .nets.scorers import SCORERS
from .paths import ALIGNMENTS, CHECKPOINTS, EVERYDAY, README
from .printable import printable
from .search import COVERAGE_BETA, LENGTH_ALPHA, ranking_text
from .tokenize import in_another_script
from .train import SELECT
from .translator import MAX_BEAM, MAX_RANKING, MAX_SOURCE_TOKENS, RANKING_DEFAULTS, REPORTED_BEAM, resolve_device


def _number(kind: type, what: str, ok: Callable[[float], bool]) -> Callable[[str], int | float]:
    """An argparse type: ``kind(text)`` when ``ok`` holds for it, else a usage error saying ``what``."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, not {printable(text)!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive_int = _number(int, "a positive whole number", lambda v: v > 0)
non_negative_int = _number(int, "a whole number of 0 or more", lambda v: v >= 0)
positive_float = _number(float, "a positive number", lambda v: v > 0)
non_negative_float = _number(float, "a number of 0 or more", lambda v: v >= 0)
ranking_value = _number(float, f"a number from 0 to {MAX_RANKING:g}", lambda v: 0 <= v <= MAX_RANKING)
fraction = _number(float, "a number from 0 to below 1", lambda v: 0 <= v < 1)
dimension = _number(int, f"an even whole number from 2 to {MAX_DIM}", lambda v: 2 <= v <= MAX_DIM and v % 2 == 0)
beam_size = _number(int, f"a whole number from 1 to {MAX_BEAM}", lambda v: 1 <= v <= MAX_BEAM)
MAX_WORKERS = 64
workers_count = _number(int, f"a whole number from 1 to {MAX_WORKERS}", lambda v: 1 <= v <= MAX_WORKERS)


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none (None, False), is
    required, or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def say(text: str, file=None) -> None:
    """Print ``text`` with every control character written visibly (``printable``): what this
    command prints can come from a checkpoint or a corpus, and must not drive the terminal."""
    print(printable(text, keep="\n"), file=file or sys.stdout)


def check_out(path: str | Path) -> None:
    """Refuse an --out that could not be written (a folder, or in a folder that does not exist)
    before the work that would end by writing it."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder: give a file name")
    if not out.resolve().parent.is_dir():
        raise ValueError(f"--out {out}: the folder {out.parent} does not exist")


def _streamed(args) -> bool:
    """--pairs is streamed with --stream, for a .gz file, or past STREAM_THRESHOLD_BYTES."""
    from .stream import STREAM_THRESHOLD_BYTES

    if not args.pairs:
        return False
    if getattr(args, "stream", False) or str(args.pairs).endswith(".gz"):
        return True
    try:
        return Path(args.pairs).stat().st_size > STREAM_THRESHOLD_BYTES
    except OSError:
        return False


def _stream_corpus(args):
    """The scanned StreamCorpus of --pairs (vocabularies capped at --max-vocab, dev split)."""
    from .stream import StreamCorpus
    from .tokenize import Tokenizer, tokenizer_for

    sc = StreamCorpus(
        args.pairs, tokenizer_for(args.src_lang), Tokenizer(), max_vocab=args.max_vocab,
        shuffle_buffer=args.shuffle_buffer, dev_lines=args.dev_lines, split_seed=args.split_seed, max_pairs=args.max_pairs,
    ).scan()
    if sc.skipped:
        say(f"note: skipped {sc.skipped:,} line(s) of {args.pairs}: too long", file=sys.stderr)
    return sc


def _corpus(args) -> tuple[dict, str, str, str]:
    """(splits of Pairs, src_lang, tgt_lang, corpus description) from --corpus/--pairs."""
    from .corpus import HSK, TsvCorpus
    from .data import MAX_LINE_BYTES, MAX_SENTENCE_TOKENS

    if args.pairs and getattr(args, "distilled", None):
        raise ValueError("--distilled replaces the HSK training targets; it cannot be used with --pairs")
    if getattr(args, "tatoeba_epochs", None) and not getattr(args, "tatoeba", False):
        raise ValueError("--tatoeba-epochs says for how long the Tatoeba pairs are trained on: give --tatoeba too")
    added = [f"--{name}" for name in ("lexicon", "cedict", "tatoeba") if getattr(args, name, False)]
    if args.pairs and added:
        raise ValueError(f"{', '.join(added)}: extra training data for the HSK corpus, not for a --pairs corpus")
    if args.pairs and getattr(args, "stream_corpus", None) is not None:
        sc = args.stream_corpus
        return {"train": [], "dev": sc.dev, "test": []}, args.src_lang, args.tgt_lang, f"tsv:{Path(args.pairs).name} (streamed)"
    if args.pairs:
        tsv = TsvCorpus(Path(args.pairs), args.src_lang, args.tgt_lang, args.split_seed, args.max_pairs)
        splits = tsv.splits(tsv.natural)
        corpus = f"tsv:{Path(args.pairs).name}"
        if tsv.skipped:
            corpus += f" ({tsv.skipped:,} lines over {MAX_LINE_BYTES:,} bytes or {MAX_SENTENCE_TOKENS} tokens skipped)"
            say(f"note: skipped {tsv.skipped:,} line(s) of {args.pairs}: longer than {MAX_LINE_BYTES:,} bytes or {MAX_SENTENCE_TOKENS} tokens a side", file=sys.stderr)
        return splits, tsv.src_lang, tsv.tgt_lang, corpus
    src, tgt = args.direction.split("-")
    pairs = HSK.splits(args.direction)
    if args.max_pairs:
        pairs["train"] = pairs["train"][: args.max_pairs]
    corpus = "hsk-sentences-audio"
    if args.distilled:
        from .distill import read_distilled

        pairs["train"], abouts = read_distilled(args.distilled, args.direction, pairs["train"], args.with_references)
        taught = " and ".join(
            f"the {'back-translations' if a['kind'] == 'back' else 'translations'} by an ensemble of {len(a['teachers'])} models "
            f"(beam {a['beam']}; {'back-translation' if a['kind'] == 'back' else 'sequence-level distillation'})"
            for a in abouts
        )
        corpus += f" + {taught} that differ from the references" if args.with_references else f", the references replaced by {taught}"
    if args.lexicon:
        lex = HSK.lexicon(args.direction)
        pairs["train"] = pairs["train"] + lex
        corpus += f" + {len(lex)} gloss lexicon pairs"
    if args.cedict:
        from .lexicon import cedict_lexicon

        extra = cedict_lexicon(args.direction)
        pairs["train"] = pairs["train"] + extra
        corpus += f" + {len(extra)} CC-CEDICT lexicon pairs"
    if args.tatoeba:
        from .tatoeba import tatoeba_pairs

        pairs["extra"] = tatoeba_pairs(args.direction)
        corpus += f" + {len(pairs['extra']):,} Tatoeba sentence pairs" + (f" (the first {args.tatoeba_epochs} epochs)" if args.tatoeba_epochs else "")
    return pairs, src, tgt, corpus


def cmd_train(args) -> int:
    from .corpus import HSK
    from .evaluate import evaluate
    from .train import TrainConfig, dist_from_env, train_model
    from .train_state import state_path_for

    check_out(args.out)
    if args.family == "transformer" and args.hidden % args.heads:
        raise ValueError(f"--hidden ({args.hidden}) must be a multiple of --heads ({args.heads})")
    if len(Path(args.out).stem) > MAX_NAME_CHARS:
        raise ValueError(f"--out: a model's file name can be at most {MAX_NAME_CHARS} characters before its extension")
    guided = args.guided_alignment > 0 or args.guided_context > 0
    if guided and _streamed(args):
        raise ValueError("guided training (--guided-alignment, --guided-context) needs the corpus in memory, "
                         "and this one is read as a stream (--stream, a .gz file, or a large file: see --stream)")
    args.stream_corpus = _stream_corpus(args) if _streamed(args) else None
    pairs, src, tgt, corpus = _corpus(args)
    alignments = None
    if guided:
        from .aligner import load_training_alignments

        if args.distilled:
            from .distill import distilled_links

            alignments = distilled_links(args.distilled, args.direction, pairs["train"])
            if args.with_references:
                alignments |= load_training_alignments(args.alignments, pairs["train"], args.direction)
        else:
            whole = args.pairs and not args.max_pairs  # then the links must end with the corpus
            alignments = load_training_alignments(
                args.alignments, pairs["train"], args.direction if not args.pairs else None, corpus_lines=count_lines(args.pairs) if whole else None
            )
    cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
        guided_alignment=args.guided_alignment, guided_context=args.guided_context, patience=args.patience, ema=args.ema,
        warmup=args.warmup, word_dropout=args.word_dropout, label_smoothing=args.label_smoothing, rdrop=args.rdrop, rdrop_from=args.rdrop_from, amp=args.amp, select=args.select,
        extra_epochs=args.tatoeba_epochs,
    )
    model_args = {"family": args.family, "scorer": args.scorer, "mode": args.mode, "emb_dim": args.emb_dim, "hidden": args.hidden, "dropout": args.dropout}
    if args.family == "transformer":
        # The Transformer's embeddings are hidden wide; guided alignment supervises one head
        # (Garg et al. 2019), the others stay free.
        align_head = args.align_head if args.align_head is not None else (0 if args.guided_alignment > 0 else -1)
        model_args |= {"emb_dim": args.hidden, "mode": "soft", "layers": args.layers, "heads": args.heads, "ff_dim": args.ff_dim,
                       "align_layer": args.align_layer, "align_head": align_head}
    log = (lambda m: say(m, file=sys.stderr)) if args.json else say
    state = state_path_for(args.out)
    tr = train_model(
        pairs, model_args, src, tgt, cfg, alignments, corpus, progress=not args.no_progress, log=log,
        stream=args.stream_corpus, state_path=state, resume=args.resume,
    )
    if not dist_from_env().main:  # rank 0 evaluates and writes the checkpoint
        # A worker has nothing left to write. It leaves without running C++ destructors: torch's
        # distributed teardown at interpreter exit, after the process group is destroyed, now and
        # then aborts the process (std::terminate), which made torchrun stop rank 0 too.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    tr.meta["name"] = Path(args.out).stem
    tr.meta["decoding"] = _ranking(args)
    gold, gloss = (None, None) if args.pairs else (HSK.gold(args.direction), HSK.automatic_links(args.direction))
    for split in ("dev", "test"):
        if pairs[split]:
            tr.meta["metrics"][split] = evaluate(tr, pairs[split], gold, also_beam=REPORTED_BEAM, gloss=gloss)
    if gold and pairs["test"]:
        tr.meta["metrics"]["test"] |= head_metrics(tr, pairs, gold)
    save_checkpoint(tr, args.out)
    if not args.keep_state:  # the run finished: the checkpoint holds what it made
        state.unlink(missing_ok=True)
    summary = {"checkpoint": str(args.out), "training": {k: v for k, v in tr.meta["training"].items() if k != "history"}, "metrics": tr.meta["metrics"]}
    say(json.dumps(summary, indent=1) if args.json else train_summary(args.out, tr.meta))
    return 0


SUMMARY_METRICS = (("bleu", "BLEU", ".2f"), ("chrf", "chrF", ".2f"), ("aer", "AER", ".3f"), ("aer_posterior", "AER of the posterior", ".3f"),
                   ("eflomal_aer", "AER of eflomal", ".3f"), ("entropy", "attention entropy (nats)", ".3f"))


def _count(n: object, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def train_summary(out: str | Path, meta: dict) -> str:
    """What ``train`` prints at the end without --json: where the model went, how training went,
    and its main metrics per split, one per line (--json prints everything)."""
    t = meta.get("training") or {}
    lines = [f"saved {out}"]
    if t:
        pairs = t.get("pairs") or {}
        lines.append(
            f"  trained {_count(t.get('epochs_run', '?'), 'epoch')} (best {t.get('best_epoch', '?')}) in {float(t.get('seconds', 0)):.0f} s"
            + (f" on {pairs.get('train')} sentence pairs" if pairs.get("train") else "")
            + (f" and {pairs['extra']} extra ones" if pairs.get("extra") else "")
        )
    for split, m in (meta.get("metrics") or {}).items():
        shown = []
        for key, name, fmt in SUMMARY_METRICS:
            if isinstance(m.get(key), (int, float)):
                interval = f" [{m[key + '_low']:{fmt}}, {m[key + '_high']:{fmt}}]" if isinstance(m.get(key + "_low"), (int, float)) and isinstance(m.get(key + "_high"), (int, float)) else ""
                shown.append(f"{name} {m[key]:{fmt}}{interval}")
        if shown:
            lines.append(f"  {split} ({m.get('sentences', '?')} sentences): " + " · ".join(shown))
    return "\n".join(lines)


@contextmanager
def decoding_workers(device, asked: int | None) -> Iterator[int]:
    """How many batches ``translate --input`` decodes at once (``translator.in_batches``): on a
    CPU, ``asked`` or as many as PyTorch has threads, each batch's operations then on one thread
    (PyTorch's setting for the process, restored on leaving); on a GPU, one."""
    import torch

    before = torch.get_num_threads()
    workers = 1 if device.type != "cpu" else asked or before
    if workers > 1:
        torch.set_num_threads(1)
    try:
        yield workers
    finally:
        torch.set_num_threads(before)


def cmd_translate(args) -> int:
    if args.text is None and args.input is None:
        raise ValueError("give a sentence to translate, or --input FILE (- for standard input)")
    if args.text is not None and args.input is not None:
        raise ValueError("give a sentence to translate or --input FILE, not both")
    tr = load_checkpoint(args.checkpoint, resolve_device(args.device))
    if args.text is not None:
        res = tr.translate(args.text, beam=args.beam, hard_inference=args.hard_inference, seed=args.seed, **_ranking(args))
        _print_translation(tr, args, res)
        if in_another_script(res.source_tokens[:-1], tr.src_lang):
            say(f"note: the sentence is {_other_script(tr, 'its')}", file=sys.stderr)
        return 0
    fh = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # noqa: SIM115
    skipped = cut = 0
    other_script: list[int] = []  # line numbers
    with fh, decoding_workers(tr.device, args.workers) as workers:  # read in bounded lines: a file without line ends (/dev/zero) cannot fill the memory
        for first, block in _blocks(bounded_lines(fh, args.input), LINES_PER_BLOCK):
            lines = [text for _, text, _ in block]
            sources = [tr.source_tokens(line) for line in lines]  # (tokens with "</s>", the count before a cut)
            readable = [i for i, (tokens, _) in enumerate(sources) if len(tokens) > 1]
            other_script += [first + i + 1 for i in readable if in_another_script(sources[i][0][:-1], tr.src_lang)]
            texts = [lines[i] for i in readable]
            if args.hard_inference == "sample" and tr.model.config.mode == "hard":  # each sentence its own seeded draw
                out = {i: tr.translate(lines[i], beam=args.beam, hard_inference="sample", seed=args.seed, **_ranking(args)) for i in readable}
            elif args.json:  # batched, with every attention map
                out = dict(zip(readable, tr.translate_many(texts, beam=args.beam, workers=workers, **_ranking(args))))
            else:  # batched, translations only
                out = dict(zip(readable, tr.translate_batch(texts, beam=args.beam, workers=workers, **_ranking(args))))
                cut += sum(1 for i in readable if sources[i][1])
            for i in range(len(lines)):
                if i not in out:
                    say(json.dumps({"error": "no readable tokens", "line": first + i + 1}) if args.json else "")
                elif isinstance(out[i], str):
                    say(out[i])
                else:
                    _print_translation(tr, args, out[i])
            skipped += len(lines) - len(readable)
    if cut:
        say(f"note: {cut} line(s) were cut to their first {MAX_SOURCE_TOKENS} tokens", file=sys.stderr)
    if skipped and not args.json:
        say(f"note: {skipped} line(s) had no readable tokens and gave empty lines", file=sys.stderr)
    if other_script:
        shown = ", ".join(map(str, other_script[:10])) + (", ..." if len(other_script) > 10 else "")
        say(f"note: {len(other_script)} line(s) ({shown}) are {_other_script(tr, 'their')}", file=sys.stderr)
    return 0


def _other_script(tr, its: str) -> str:
    return f"not in the script of {tr.src_lang!r}, the language this model reads: most of {its} words are unknown to it"


T = TypeVar("T")
LINES_PER_BLOCK = 1024  # --input is read, translated and printed this many lines at a time: memory stays bounded


def _blocks(lines: Iterable[T], n: int) -> Iterator[tuple[int, list[T]]]:
    """(index of the first line, the next n lines) until the input ends."""
    it, first = iter(lines), 0
    while block := list(itertools.islice(it, n)):
        yield first, block
        first += len(block)


def _ranking(args) -> dict:
    """The beam ranking options of translate/evaluate as keyword arguments (None: the model's)."""
    return {"length_alpha": args.length_alpha, "coverage_beta": args.coverage}


def _add_ranking(p: argparse.ArgumentParser, training: bool = False) -> None:
    """--length-alpha and --coverage: for translate/evaluate, this run's beam ranking (default:
    the model's own); for train, the ranking the model keeps as its own."""
    if training:
        alpha = "beam search ranks by score / length ** ALPHA; kept in the model as its own"
        beta = "weight of the coverage penalty (Wu et al. 2016) in beam search's ranking, kept in the model (0: off)"
    else:
        alpha = f"beam search ranks by score / length ** ALPHA (default: the model's own, {LENGTH_ALPHA} unless trained with another)"
        beta = f"beam search: weight of the coverage penalty (Wu et al. 2016) in the ranking (default: the model's own, {COVERAGE_BETA}: off, unless trained with another)"
    p.add_argument("--length-alpha", type=ranking_value, default=LENGTH_ALPHA if training else None, metavar="ALPHA", help=alpha)
    p.add_argument("--coverage", type=ranking_value, default=COVERAGE_BETA if training else None, metavar="BETA", help=beta)


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: a GPU when PyTorch sees one, else the CPU")


def _print_translation(tr, args, res) -> None:
    """One result: its translation, or with --json one line of the result schema (models.result)."""
    if args.json:
        say(json.dumps(res.to_json() | {"device": str(tr.device)}, ensure_ascii=False))
        return
    if res.truncated_from:
        say(f"note: input cut from {res.truncated_from} to {len(res.source_tokens) - 1} tokens", file=sys.stderr)
    say(res.translation)


def cmd_evaluate(args) -> int:
    from .corpus import HSK
    from .data import read_tsv

    if args.store and args.pairs:
        raise ValueError("--store records metrics of the HSK splits only")
    tr = load_checkpoint(args.checkpoint, resolve_device(args.device))
    if args.pairs:
        pairs, gold, gloss = read_tsv(args.pairs), None, None
    else:
        _check_hsk(tr, "give --pairs FILE to evaluate it on a TSV file")
        pairs, gold, gloss = HSK.splits(tr.direction)[args.split], HSK.gold(tr.direction), HSK.automatic_links(tr.direction)
    m = evaluate_with_bar(tr, pairs, gold, args.beam, REPORTED_BEAM if args.store else None, gloss, not args.no_progress, **_ranking(args))
    if args.store:
        given = {k: v for k, v in _ranking(args).items() if v is not None}
        changed = tr.ranking | given != tr.ranking
        tr.meta["decoding"] = tr.ranking | given  # the stored metrics describe the model as it decodes
        kept = {k: v for k, v in tr.meta["metrics"].get(args.split, {}).items() if k not in RANKING_DEFAULTS}  # e.g. `heads --store`
        tr.meta["metrics"][args.split] = kept | m
        save_checkpoint(tr.to("cpu"), args.checkpoint)
        say(f"stored the {args.split} metrics in {args.checkpoint}", file=sys.stderr)
        other = "test" if args.split == "dev" else "dev"
        if changed and other in tr.meta["metrics"]:
            say(f"note: the model now ranks its beams by {ranking_text(**tr.ranking)}; its stored {other} metrics were made with the previous "
                f"ranking (run evaluate --store --split {other})", file=sys.stderr)
    m |= {"checkpoint": str(args.checkpoint), "direction": tr.direction, "scorer": tr.model.config.scorer, "mode": tr.model.config.mode}
    m |= {"pairs": str(args.pairs)} if args.pairs else {"split": args.split}
    if args.json:
        say(json.dumps(m))
    else:
        for k, v in m.items():
            say(f"{k:22s} {v}")
    return 0


def evaluate_with_bar(
    tr, pairs, refs, beam: int, also_beam: int | None = None, gloss: dict | None = None, progress: bool = True, **ranking
) -> dict:
    from tqdm import tqdm

    from .evaluate import evaluate

    with tqdm(total=len(pairs), desc="translating", file=sys.stderr, leave=False, disable=not progress) as bar:
        return evaluate(tr, pairs, refs, beam=beam, progress=lambda n, total: bar.update(1), also_beam=also_beam, gloss=gloss, **ranking)


def cmd_eflomal(args) -> int:
    from .aligner import align_hsk

    scores = align_hsk(args.out)
    print(f"eflomal alignments -> {args.out}; test split against the gold alignments:")
    print(f"{'method':10s} {'precision':>9s} {'recall':>7s} {'aer':>7s}")
    for method, m in scores.items():
        print(f"{method:10s} {m['precision']:9.4f} {m['recall']:7.4f} {m['aer']:7.4f}")
    return 0


def cmd_distill(args) -> int:
    from .corpus import HSK, opposite
    from .distill import distill, ensemble, guided_links, teacher_name, write_distilled

    members = [load_checkpoint(c, resolve_device(args.device)) for c in args.teacher]
    teacher = ensemble(members)
    student = opposite(teacher.direction) if args.back else teacher.direction
    train = HSK.splits(student)["train"]
    what = "targets" if args.back else "sentences"
    say(f"translating {len(train):,} training {what} ({teacher.direction}) with {len(args.teacher)} teacher(s), beam {args.beam}", file=sys.stderr)
    pairs = distill(teacher, train, args.beam, back=args.back)
    say("aligning the teacher's translations with eflomal", file=sys.stderr)
    names = [teacher_name(c, t) for c, t in zip(args.teacher, members)]
    out = write_distilled(args.out, student, names, args.beam, pairs, guided_links(pairs, student), kind="back" if args.back else "forward")
    changed = sum((p.src, p.tgt) != (q.src, q.tgt) for p, q in zip(pairs, train))
    side = "sources" if args.back else "targets"
    say(f"wrote {out} (for {student} models): {changed:,} of {len(pairs):,} {side} differ from the references")
    return 0


def cmd_align(args) -> int:
    """Models as a word aligner (``models.model_aligner``): Pharaoh links of each pair."""
    from .alignments import write_pharaoh
    from .corpus import HSK
    from .data import read_tsv
    from .model_aligner import check_models, model_alignments

    check_out(args.out)
    device = resolve_device(args.device)
    translators = [load_checkpoint(c, device) for c in args.checkpoint]
    reverse = [load_checkpoint(c, device) for c in args.reverse or ()]
    check_models(translators, reverse, args.reading, args.min_weight, args.layer, args.head)  # before reading the pairs
    if not args.pairs:
        _check_hsk(translators[0], "give --pairs FILE to align a TSV file")
    pairs = read_tsv(args.pairs, min_pairs=1) if args.pairs else HSK.splits(translators[0].direction)[args.split]
    out = model_alignments(translators, pairs, args.reading, reverse, args.min_weight, args.layer, args.head)
    write_pharaoh(args.out, out)
    print(f"{len(out)} sentence pairs, {sum(map(len, out))} links -> {args.out}", file=sys.stderr)
    return 0


def cmd_bundle(args) -> int:
    from .bundle import retrain

    return retrain(Path(args.out), args.only, args.jobs, args.seed)


def _check_hsk(tr, otherwise: str) -> None:
    """Refuse a model of another language pair than the HSK corpus's, saying what to do instead."""
    from .corpus import HSK

    if tr.direction not in HSK.directions():
        raise ValueError(f"this model translates {tr.direction}; the HSK corpus is {' and '.join(HSK.directions())}: {otherwise}")


def head_metrics(tr, pairs: dict, gold: dict) -> dict:
    """``models.heads.dev_chosen_heads`` on the dev and test pairs with their gold links."""
    from .heads import dev_chosen_heads

    def triples(split: str) -> list:
        return [(p.src, p.tgt, gold.get(p.id)) for p in pairs[split]]

    return dev_chosen_heads(tr, triples("dev"), triples("test"))


def cmd_heads(args) -> int:
    from .corpus import HSK

    tr = load_checkpoint(args.checkpoint, resolve_device(args.device))
    _check_hsk(tr, "heads are scored against the HSK corpus's gold alignments only")
    m = head_metrics(tr, HSK.splits(tr.direction), HSK.gold(tr.direction))
    if not m:
        say("this model has one cross-attention head: its alignment reading is that head", file=sys.stderr)
    elif args.store:
        tr.meta["metrics"].setdefault("test", {}).update(m)
        save_checkpoint(tr.to("cpu"), args.checkpoint)
        say(f"stored the best heads' test AER in {args.checkpoint}", file=sys.stderr)
    if m:
        say("note: layers and heads count from 1 here, as in the app; align --layer/--head count from 0", file=sys.stderr)
    say(json.dumps(m))
    return 0


def cmd_report(args) -> int:
    from .bundle import write_report

    write_report(Path(args.checkpoints), Path(args.readme))
    return 0


def cmd_examples(args) -> int:
    from .bundle import write_examples

    write_examples(Path(args.checkpoints), Path(args.readme), Path(args.sentences))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models", description="Seq2seq translators with inspectable attention.", formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, what: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".", formatter_class=HelpFormatter)

    t = command("train", "train a model and save a checkpoint")
    src = t.add_mutually_exclusive_group()
    src.add_argument("--corpus", choices=["hsk"], default="hsk", help="bundled corpus")
    src.add_argument("--pairs", help="a TSV file, one 'source<TAB>target' pair per line")
    t.add_argument("--direction", default="en-zh", choices=["en-zh", "zh-en"], help="for --corpus hsk")
    t.add_argument("--src-lang", default="xx", help="source language code for --pairs (en: words looked up lowercased; xx: unnamed)")
    t.add_argument("--tgt-lang", default="yy", help="target language code for --pairs (yy: unnamed)")
    t.add_argument("--family", default="rnn", choices=sorted(FAMILIES), help="network: the GRU (rnn) or the Transformer")
    t.add_argument("--scorer", default="additive", choices=sorted(SCORERS), help="rnn: attention scoring function")
    t.add_argument("--mode", default="soft", choices=MODES, help="rnn: soft or hard attention")
    t.add_argument("--layers", type=positive_int, default=3, help="transformer: encoder and decoder layers each")
    t.add_argument("--heads", type=positive_int, default=4, help="transformer: attention heads per layer")
    t.add_argument("--ff-dim", type=positive_int, default=512, help="transformer: feed-forward inner size")
    t.add_argument("--align-layer", type=int, default=-1, help="transformer: cross-attention layer read as the alignment (-1: penultimate)")
    t.add_argument(
        "--align-head", type=int, default=None,
        help="transformer: its head (-1: mean of the layer's heads; default: 0 with --guided-alignment, so one head is supervised, else -1)",
    )
    t.add_argument("--epochs", type=positive_int, default=30, help="most epochs to train")
    t.add_argument("--patience", type=positive_int, default=4, help="stop after this many epochs without a better dev figure (--select)")
    t.add_argument("--select", default="loss", choices=sorted(SELECT), help="the dev figure that picks the epoch kept, halves the learning rate and stops training")
    t.add_argument("--max-pairs", type=positive_int, help="hsk: use at most this many training pairs; --pairs: read at most this many pairs of the file (dev included)")
    t.add_argument("--seed", type=non_negative_int, default=1, help="random seed of initialisation and batching")
    t.add_argument("--split-seed", type=non_negative_int, default=2024, help="dev split seed for --pairs")
    t.add_argument("--batch-size", type=positive_int, default=64, help="sentence pairs per batch")
    t.add_argument("--lr", type=positive_float, default=2e-3, help="peak learning rate (Adam)")
    t.add_argument("--warmup", type=non_negative_int, default=0, metavar="STEPS", help="linear learning-rate warm-up over this many batches (0: none)")
    t.add_argument("--emb-dim", type=dimension, default=256, help="rnn: token embedding size")
    t.add_argument("--hidden", type=dimension, default=256, help="rnn: decoder state size; transformer: model width (--emb-dim is then ignored)")
    t.add_argument("--dropout", type=fraction, default=0.2, help="dropout rate in training")
    t.add_argument("--lexicon", action="store_true", help="hsk: add word pairs from the training split's glosses")
    t.add_argument("--cedict", action="store_true", help="hsk: add CC-CEDICT senses of the training split's words (assets/lexicon, CC BY-SA)")
    t.add_argument("--tatoeba", action="store_true", help="hsk: add Tatoeba's Mandarin-English sentence pairs, dev/test held out (assets/tatoeba, CC BY)")
    t.add_argument("--tatoeba-epochs", type=positive_int, metavar="N",
                   help="with --tatoeba: train on the Tatoeba pairs for the first N epochs only, then on the HSK data alone (default: every epoch)")
    t.add_argument("--guided-alignment", type=non_negative_float, default=0.0, metavar="LAMBDA", help="weight of the guided-alignment loss")
    t.add_argument(
        "--guided-context", type=non_negative_float, default=0.0, metavar="LAMBDA",
        help="weight of the linked-context loss: each word predicted from the source states the aligner links it to",
    )
    t.add_argument("--ema", type=fraction, default=0.0, metavar="DECAY", help="keep an exponential moving average of the weights (e.g. 0.998); 0: off")
    t.add_argument("--alignments", help="Pharaoh file of training alignments (default for hsk: the bundled eflomal ones)")
    t.add_argument("--distilled", metavar="DIR", nargs="+",
                   help="hsk: train on teachers' translations written by 'distill' (and their aligner links); several folders add up")
    t.add_argument("--with-references", action="store_true", help="with --distilled: keep the human references and add the teacher's translations that differ")
    t.add_argument("--word-dropout", type=fraction, default=0.1, help="share of source tokens replaced by <unk> in training")
    t.add_argument("--label-smoothing", type=fraction, default=0.1, help="share of each target's probability spread over the vocabulary in the loss")
    t.add_argument(
        "--rdrop", type=non_negative_float, default=0.0, metavar="ALPHA",
        help="R-Drop: run each batch twice and add ALPHA/2 times the two passes' symmetric KL to the loss (0: off)",
    )
    t.add_argument(
        "--rdrop-from", type=positive_int, default=1, metavar="EPOCH",
        help="R-Drop from this epoch on (with --tatoeba-epochs N, N + 1 keeps it out of the Tatoeba epochs, whose time it would double)",
    )
    _add_ranking(t, training=True)
    t.add_argument("--stream", action="store_true", help="stream --pairs from disk in bounded memory (automatic for .gz and large files)")
    t.add_argument("--max-vocab", type=positive_int, default=50_000, help="streaming: words kept per side (most frequent)")
    t.add_argument("--shuffle-buffer", type=positive_int, default=100_000, metavar="PAIRS", help="streaming: pairs shuffled together")
    t.add_argument("--dev-lines", type=non_negative_int, default=0, metavar="K", help="streaming: the first K pairs are dev (0: a hash-based 5%%)")
    t.add_argument("--resume", metavar="STATE", help="continue an interrupted run from its OUT.state.safetensors file")
    t.add_argument("--keep-state", action="store_true", help="keep OUT.state.safetensors after a finished run")
    t.add_argument("--amp", action="store_true", help="mixed precision on CUDA (bf16 where supported); refused on CPU")
    _add_device(t)
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--json", action="store_true", help="print a JSON summary")
    t.add_argument("--out", required=True, help="the checkpoint to write (.safetensors)")
    t.set_defaults(func=cmd_train)

    tr = command("translate", "translate a sentence, or a file of sentences (one per line)")
    tr.add_argument("--checkpoint", required=True, help="a .safetensors model (assets/checkpoints holds the bundled ones)")
    tr.add_argument("--beam", type=beam_size, default=1, help=f"beam size, 1 to {MAX_BEAM} (1: greedy decoding; the app opens with {REPORTED_BEAM})")
    tr.add_argument("--hard-inference", choices=["argmax", "sample"], default="argmax",
                    help="hard attention: take the most likely source position, or sample one (seeded by --seed)")
    _add_ranking(tr)
    tr.add_argument("--seed", type=non_negative_int, help="seed for sampled hard attention")
    _add_device(tr)
    tr.add_argument("--json", action="store_true", help="one JSON object per sentence: tokens, every attention map with its dims, probabilities")
    tr.add_argument("--input", metavar="FILE", help="translate every line of FILE (- for standard input), one translation per line")
    tr.add_argument("--workers", type=workers_count, metavar="N",
                    help="with --input on a CPU: batches decoded at once, one thread each (default: as many as PyTorch's threads)")
    tr.add_argument("text", nargs="?", help="the sentence to translate (or give --input)")
    tr.set_defaults(func=cmd_translate)

    e = command("evaluate", "BLEU, chrF, AER and attention statistics on a split")
    e.add_argument("--checkpoint", required=True, help="a .safetensors model")
    e.add_argument("--split", default="test", choices=["dev", "test"], help="HSK split of the model's direction")
    e.add_argument("--pairs", help="evaluate on a TSV file instead (no alignment metrics)")
    e.add_argument("--beam", type=beam_size, default=1, help=f"beam size, 1 to {MAX_BEAM} (1: greedy decoding)")
    _add_ranking(e)
    _add_device(e)
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    e.add_argument("--store", action="store_true",
                   help="write the metrics into the checkpoint (HSK splits only); --length-alpha and --coverage given with it become the model's own ranking")
    e.set_defaults(func=cmd_evaluate)

    a = command("eflomal", "align the HSK corpus with eflomal and write symmetrised Pharaoh files")
    a.add_argument("--out", default=str(ALIGNMENTS), help="folder for the Pharaoh and ids files (the bundled folder: overwrites its links)")
    a.set_defaults(func=cmd_eflomal)

    al = command("align", "use a trained model as a word aligner: write Pharaoh links of a split or a TSV file")
    al.add_argument("--checkpoint", required=True, nargs="+", help="one model, or several of one direction whose maps are averaged")
    which = al.add_mutually_exclusive_group()
    which.add_argument("--split", default="test", choices=["dev", "test"], help="HSK split, lines in the order of assets/alignments/SPLIT.ids")
    which.add_argument("--pairs", help="a TSV file, one 'source<TAB>target' pair per line (blank lines skipped)")
    al.add_argument("--reading", default="attention", choices=READINGS,
                    help="attention: the family's alignment reading; shift: read one step later; posterior: the alignment posterior (GRU)")
    al.add_argument("--layer", type=int, default=None,
                    help="read this cross-attention layer (0-based, -1: the last) instead of the family's alignment reading (a Transformer's)")
    al.add_argument("--head", type=int, default=-1, help="with --layer: this head (0-based; -1: the mean of the layer's heads)")
    al.add_argument("--reverse", nargs="+", metavar="CKPT",
                    help="models of the opposite direction: each pair is read both ways and the two directions' weights averaged")
    al.add_argument("--min-weight", type=float, default=None,
                    help="keep only links whose (mean) weight is at least this (0 to 1; default 0, with --reverse 0.35)")
    _add_device(al)
    al.add_argument("--out", required=True, help="output Pharaoh file (English index first for en/zh models)")
    al.set_defaults(func=cmd_align)
    ds = command("distill", "translate the HSK training split with a teacher (beam search) for 'train --distilled'")
    ds.add_argument("--teacher", required=True, nargs="+", help="one checkpoint, or several of one direction and vocabulary (an ensemble)")
    ds.add_argument("--beam", type=positive_int, default=5, help="the teacher's beam size")
    ds.add_argument("--back", action="store_true",
                    help="back-translation: the teachers (of the opposite direction) translate the training targets, for students of the other direction")
    _add_device(ds)
    ds.add_argument("--out", required=True, help="folder for distilled.json and the aligner links")
    ds.set_defaults(func=cmd_distill)

    b = command("bundle", "retrain every bundled model, then regenerate the README results table")
    b.add_argument("--out", default=str(CHECKPOINTS), help="folder for the checkpoints (the bundled folder: replaces the bundled models)")
    b.add_argument("--only", nargs="*", help="names of bundled models to retrain (default: all)")
    b.add_argument("--jobs", type=positive_int, default=1, help="models trained at once (one thread each when > 1)")
    b.add_argument("--seed", type=int, help="train each recipe with this seed instead of its own (another run of it, e.g. into --out seeds/seed2)")
    b.set_defaults(func=cmd_bundle)

    hd = command("heads", "the cross-attention head of lowest dev AER (raw and shifted reading), scored on the HSK test split")
    hd.add_argument("--checkpoint", required=True, help="a .safetensors Transformer (a GRU has one head)")
    _add_device(hd)
    hd.add_argument("--store", action="store_true", help="write the result into the checkpoint's test metrics")
    hd.set_defaults(func=cmd_heads)

    rp = command("report", "regenerate the README results table from the checkpoints' metrics")
    rp.add_argument("--checkpoints", default=str(CHECKPOINTS), help="folder of the checkpoints to report")
    rp.add_argument("--readme", default=str(README), help="the file whose results block (between its markers) is rewritten")
    rp.set_defaults(func=cmd_report)

    ex = command("examples", "regenerate the README table of every bundled model's translations of everyday sentences")
    ex.add_argument("--checkpoints", default=str(CHECKPOINTS), help="folder of the models to run")
    ex.add_argument("--sentences", default=str(EVERYDAY), help="English<TAB>Chinese lines (# comments), none from the corpus")
    ex.add_argument("--readme", "--out", default=str(README), help="the file whose everyday block (between its markers) is rewritten")
    ex.set_defaults(func=cmd_examples)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing more to say, as any filter
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 1
    except UnicodeDecodeError as exc:
        say(f"error: the input is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 2
    except (CheckpointError, ValueError, OSError) as exc:
        say(f"error: {_message(exc)}", file=sys.stderr)
        return 2


def _message(exc: Exception) -> str:
    """An error in one line: a missing file or a folder named plainly, else the error's text."""
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"no such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return f"{exc.filename} is a folder: give a file"
    return " ".join(str(exc).split())
