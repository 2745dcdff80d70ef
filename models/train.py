"""Training: teacher forcing, label smoothing, source word dropout, learning-rate warm-up, early
stopping on dev loss, and optional guided alignment (Garg et al. 2019), linked-context loss and
R-Drop (Liang et al. 2021).

Scale (issue 19): under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in
DistributedDataParallel (gloo on CPU, NCCL on CUDA) and every global batch is split into
disjoint per-rank shards (``idx[rank::world]``); each rank's loss is weighted by its share of the
batch's target tokens, so the averaged gradient is that of the whole batch, as in one process.
Rank 0 alone logs, shows the bar, evaluates dev and writes files; the others wait for its dev
loss (a broadcast) and take its stop decision. ``stream`` trains from a ``models.stream``
corpus file (bounded memory). ``state_path`` receives a training-state file each epoch
(``models.train_state``) and ``resume`` continues from one. ``cfg.amp``: autocast on CUDA
(bf16 where supported, else float16 with a gradient scaler); refused on CPU."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from .alignments import Links
from .budget import over_budget
from .checkpoint import CheckpointError, check_savable, round_as_stored
from .config import ModelConfig
from .data import Pair
from .evaluate import bleu_chrf
from .nets import FAMILIES, build_model
from .nets.rnn import linked_rows
from .tokenize import Tokenizer, tokenizer_for
from .train_state import flatten_optimizer, load_state, save_state, unflatten_optimizer
from .translator import Translator, resolve_device
from .vocab import EOS, PAD, UNK, Vocab

SELECT = {"loss": "loss", "bleu": "BLEU"}  # TrainConfig.select: the dev figures an epoch can be picked by


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    patience: int = 4  # epochs without a better dev figure (``select``) before stopping
    select: str = "loss"  # the dev figure that picks the kept epoch, drives the plateau schedule and early stopping: "loss" or "bleu"
    seed: int = 1
    word_dropout: float = 0.1  # source tokens replaced by <unk> during training
    label_smoothing: float = 0.1
    guided_alignment: float = 0.0  # lambda of the guided-alignment loss; 0 turns it off
    guided_context: float = 0.0  # lambda of the linked-context loss (linked_context_loss); 0 turns it off
    warmup: int = 0  # steps over which the learning rate rises linearly to lr (then ReduceLROnPlateau); 0: none
    ema: float = 0.0  # decay of an exponential moving average of the weights, evaluated and kept instead of them; 0 turns it off
    rdrop: float = 0.0  # alpha of R-Drop (rdrop_loss): each batch runs twice under dropout; 0 turns it off
    rdrop_from: int = 1  # the first epoch R-Drop runs in (after the extra pairs' epochs: in the fine-tuning only)
    clip: float = 1.0
    device: str = "auto"
    amp: bool = False  # mixed precision on CUDA (bf16 where supported); refused on CPU
    # pairs["extra"] (out-of-domain data such as Tatoeba) join the training pairs for the first
    # extra_epochs epochs, then the corpus trains alone (fine-tuning on its domain); None: every epoch
    extra_epochs: int | None = None


@dataclass(frozen=True)
class Dist:
    """Where this process stands in a torchrun job (world 1: a plain single process)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def dist_from_env() -> Dist:
    """torchrun's RANK / WORLD_SIZE / LOCAL_RANK; a single process when WORLD_SIZE is unset or 1."""
    world = int(os.environ.get("WORLD_SIZE") or 1)
    if world <= 1:
        return Dist()
    return Dist(int(os.environ.get("RANK") or 0), world, int(os.environ.get("LOCAL_RANK") or 0))


def _init_distributed(dist_info: Dist, device: torch.device) -> tuple[torch.device, bool]:
    """Join torchrun's process group (env:// rendezvous): NCCL on CUDA, gloo on CPU.
    (device, whether this call created the group)."""
    import torch.distributed as dist

    if device.type == "cuda":
        torch.cuda.set_device(dist_info.local_rank)
        device = torch.device("cuda", dist_info.local_rank)
    if dist.is_initialized():
        return device, False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, True


def _amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if not cfg.amp:
        return None
    if device.type != "cuda":
        raise ValueError("--amp (mixed precision) needs a CUDA device; on the CPU training runs in float32, so leave --amp off")
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def guided_alignment_loss(attn_probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between attention and normalised alignment rows, averaged over linked rows.

    attn_probs (B, T, S): softmax(e) per target step. target (B, T, S): alignment links (0/1,
    any non-negative weights); each row is normalised and rows without links are skipped.
    Minimal (equal to the row entropy) when attention equals the normalised row.
    """
    mass = target.sum(-1, keepdim=True)  # (B, T, 1)
    linked = mass.squeeze(-1) > 0  # (B, T)
    if not linked.any():
        return attn_probs.new_zeros(())
    q = target / mass.clamp_min(1e-9)
    ce = -(q * attn_probs.clamp_min(torch.finfo(attn_probs.dtype).tiny).log()).sum(-1)  # (B, T)
    return ce[linked].mean()


def rdrop_loss(logits: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """R-Drop (Liang et al. 2021): the symmetric KL divergence between two passes of one batch
    under different dropout masks, averaged over real target tokens.

    logits (2B, T, V): the batch's B rows, then the same rows again; tgt (B, T). Returns
    mean_t (KL(p1 || p2) + KL(p2 || p1)) / 2, which is 0 when both passes predict alike.
    """
    lp1, lp2 = torch.log_softmax(logits.float(), dim=-1).chunk(2)  # (B, T, V) each
    kl = ((lp1.exp() - lp2.exp()) * (lp1 - lp2)).sum(-1) / 2  # (B, T): the two KLs' mean
    return kl[tgt != PAD].mean()


def linked_context_loss(linked_logits: torch.Tensor, tgt: torch.Tensor, links: torch.Tensor, ce: nn.Module) -> torch.Tensor:
    """Loss ``ce`` of each linked word predicted from its linked source states in place of the
    attention context: ``Forward.linked_logits`` (N, V), one row per (b, t) with a link in
    links (B, T, S), against those words of tgt (B, T). It trains p(y_t | s_t, h_i) to name the
    word from the state the aligner links it to, which is what the alignment posterior
    (``RNN.posterior``) weighs each source position by.
    """
    if linked_logits.size(0) == 0:
        return linked_logits.new_zeros(())
    return ce(linked_logits, tgt[linked_rows(links)])


def _with_end_link(links: Links | None, n_src: int, n_tgt: int) -> Links | None:
    """Aligned pairs also link the target end token (row n_tgt) to the source end token
    (column n_src), so the end row is supervised too instead of drifting to the full stop."""
    return links | {(n_src, n_tgt)} if links else None


def _batches(
    data: list[tuple[list[int], list[int], Links | None]], batch_size: int, shuffle: bool, rng: random.Random
) -> list[list[int]]:
    """Index batches of similar source length (less padding), in random order when shuffling."""
    order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), rng.random() if shuffle else 0))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def _tensors(items, device, word_dropout: float = 0.0, gen: torch.Generator | None = None):
    S = max(len(s) for s, _, _ in items)
    T = max(len(t) for _, t, _ in items)
    src = torch.tensor([s + [PAD] * (S - len(s)) for s, _, _ in items])
    tgt = torch.tensor([t + [PAD] * (T - len(t)) for _, t, _ in items])
    lengths = torch.tensor([len(s) for s, _, _ in items])
    if word_dropout > 0:
        drop = (torch.rand(src.shape, generator=gen) < word_dropout) & (src != PAD) & (src != EOS)
        src = src.masked_fill(drop, UNK)
    align = None
    if any(a for _, _, a in items):
        align = torch.zeros(len(items), T, S)
        for b, (_, _, a) in enumerate(items):
            for i, j in a or ():
                if i < S and j < T:
                    align[b, j, i] = 1.0
        align = align.to(device)
    return src.to(device), lengths, tgt.to(device), align


def train_model(
    pairs: dict[str, list[Pair]],
    model_args: dict,
    src_lang: str,
    tgt_lang: str,
    cfg: TrainConfig = TrainConfig(),
    alignments: dict[str, Links] | None = None,
    corpus: str = "",
    progress: bool = True,
    log: Callable[[str], None] = print,
    stream=None,
    state_path: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
) -> Translator:
    """Train on pairs["train"] (and pairs["extra"] for ``cfg.extra_epochs``), stop early on
    pairs["dev"]; return the best epoch's model.

    ``model_args`` are ModelConfig fields other than the vocabulary sizes. ``alignments`` maps
    pair ids to links (source index, target index) used by the guided-alignment loss. The
    vocabularies cover the extra pairs too, so that they stay the same when those stop.
    """
    if cfg.select not in SELECT:
        raise ValueError(f"select must be one of {', '.join(SELECT)}, not {cfg.select!r}")
    family = model_args.get("family", "rnn")
    if cfg.guided_context > 0 and family in FAMILIES and not FAMILIES[family].has_posterior:
        raise ValueError(
            f"the linked-context loss (--guided-context) trains the alignment posterior, which the {family} family does not have; "
            "use --guided-alignment to supervise its attention"
        )
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    amp_dtype = _amp_dtype(cfg, device)
    ws = dist_from_env()
    owns_group = False
    if ws.world > 1:
        device, owns_group = _init_distributed(ws, device)
    if not ws.main:
        progress, log = False, lambda _m: None
    # The source may be looked up lowercased; the target keeps case, since the model writes it.
    src_tok, tgt_tok = tokenizer_for(src_lang), Tokenizer()
    if stream is not None:  # a models.stream.StreamCorpus: vocabularies and dev from its counting pass
        if cfg.guided_alignment > 0 or cfg.guided_context > 0:
            raise ValueError("guided training (--guided-alignment, --guided-context) needs the in-memory corpus, not --stream")
        if stream.src_vocab is None:
            stream.src_tok, stream.tgt_tok = src_tok, tgt_tok
            stream.scan()
        pairs = {"train": [], "dev": stream.dev, "test": pairs.get("test", [])}
        tokenized = {"train": [], "dev": [(src_tok.tokenize(p.src), tgt_tok.tokenize(p.tgt)) for p in stream.dev]}
        src_vocab, tgt_vocab = stream.src_vocab, stream.tgt_vocab
    else:
        tokenized = {k: [(src_tok.tokenize(p.src), tgt_tok.tokenize(p.tgt)) for p in v] for k, v in pairs.items()}
        seen = tokenized["train"] + tokenized.get("extra", [])
        src_vocab = Vocab.build((s for s, _ in seen), lowercase=src_tok.lowercase)
        tgt_vocab = Vocab.build((t for _, t in seen), lowercase=tgt_tok.lowercase)
    saved = None
    if resume:
        saved = load_state(resume)
        js = saved[1]
        src_vocab, tgt_vocab = Vocab(tuple(js["src_vocab"]), src_tok.lowercase), Vocab(tuple(js["tgt_vocab"]), tgt_tok.lowercase)
    config = ModelConfig(src_vocab_size=len(src_vocab), tgt_vocab_size=len(tgt_vocab), **model_args)
    if saved is not None and saved[1]["config"] != config.to_json():
        raise ValueError(f"{resume}: was written for another model configuration ({saved[1]['config']}); resume with the same options")
    reason = over_budget(config)  # what the app and the CLI would refuse to load: say so before training it
    if reason:
        raise ValueError(f"{len(src_vocab):,} source and {len(tgt_vocab):,} target words: {reason}; train a smaller model (--hidden, --emb-dim, --max-pairs)")
    model = build_model(config).to(device)
    translator = Translator(model, src_vocab, tgt_vocab, src_tok, tgt_tok, src_lang, tgt_lang)
    try:
        check_savable(translator)  # what the loader would refuse, refused before the first epoch
    except CheckpointError as exc:
        raise ValueError(f"the trained model could not be loaded: {exc}") from None

    def encode(split: str, with_align: bool):
        return [
            (src_vocab.encode(s) + [EOS], tgt_vocab.encode(t) + [EOS], _with_end_link((alignments or {}).get(p.id), len(s), len(t)) if with_align else None)
            for (s, t), p in zip(tokenized[split], pairs[split])
        ]

    guided = cfg.guided_alignment > 0 or cfg.guided_context > 0
    train = encode("train", guided) if stream is None else []
    extra = encode("extra", guided) if stream is None and pairs.get("extra") else []
    dev = encode("dev", False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    ce = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=cfg.label_smoothing)
    dev_ce = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum")
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    best = (math.inf, 0, None)
    history = []
    steps = 0
    first_epoch = 1
    elapsed = 0.0  # seconds of the run before this process (a resumed run counts them)
    if saved is not None:
        tensors, js = saved
        model.load_state_dict(tensors["model"] | {k: tensors["model"][v] for k, v in model.tied.items() if v in tensors["model"]})
        opt.load_state_dict(unflatten_optimizer(tensors.get("opt", {}), js["optimizer"]))
        sched.load_state_dict(js["scheduler"])
        if ema is not None and "ema" in tensors:
            ema.load_state_dict(tensors["ema"])
        best = (js["best_loss"], js["best_epoch"], {k: v.to(device) for k, v in tensors["best"].items()} if "best" in tensors else None)
        history, steps, first_epoch, elapsed = js["history"], js["steps"], js["epoch"] + 1, js.get("seconds", 0.0)
        version, internal, gauss = js["rng"]["python"]
        rng.setstate((version, tuple(internal), gauss))
        gen.set_state(tensors["rng"]["gen"])
        torch.set_rng_state(tensors["rng"]["torch"])
        if "cuda" in tensors["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["rng"]["cuda"])
        log(f"resumed from {resume}: epoch {js['epoch']} done, best epoch so far {best[1]}")
    net = model
    if ws.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None

    def encode_stream(s: list[str], t: list[str]):
        return (src_vocab.encode(s) + [EOS], tgt_vocab.encode(t) + [EOS], None)

    log(f"one line per epoch; * marks a better dev {SELECT[cfg.select]} than before: the last epoch marked is the one kept")
    start = time.perf_counter() - elapsed
    for epoch in range(first_epoch, cfg.epochs + 1):
        model.train()
        total, n_batches, n_tokens, epoch_start = 0.0, 0, 0, time.perf_counter()
        pool = train + extra if extra and (cfg.extra_epochs is None or epoch <= cfg.extra_epochs) else train
        rdrop = cfg.rdrop if epoch >= cfg.rdrop_from else 0.0
        if stream is None:
            batches = ([pool[i] for i in idx] for idx in _batches(pool, cfg.batch_size, True, rng))
            n_total = math.ceil(len(pool) / cfg.batch_size)
        else:
            batches = stream.batches(cfg.batch_size, rng, encode_stream)
            n_total = stream.n_batches(cfg.batch_size)
        bar = tqdm(batches, total=n_total, desc=f"epoch {epoch}/{cfg.epochs}", disable=not progress, leave=False, unit="batch")
        for items in bar:
            if ws.world > 1:  # this rank's disjoint shard of the global batch
                if len(items) < ws.world:
                    continue  # every rank skips it alike: each needs at least one pair
                items = items[ws.rank :: ws.world]
            src, lengths, tgt, align = _tensors(items, device, cfg.word_dropout, gen)
            if rdrop > 0:  # the batch twice in one pass: the halves differ only by dropout
                src, lengths, tgt = src.repeat(2, 1), lengths.repeat(2), tgt.repeat(2, 1)
                align = None if align is None else align.repeat(2, 1, 1)
            with torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext():
                out = net(src, lengths, tgt, align if cfg.guided_context > 0 else None)
                loss = ce(out.logits.reshape(-1, out.logits.size(-1)).float(), tgt.reshape(-1))
                if rdrop > 0:
                    loss = loss + rdrop / 2 * rdrop_loss(out.logits, tgt[: len(items)])
                if align is not None and cfg.guided_alignment > 0:
                    loss = loss + cfg.guided_alignment * guided_alignment_loss(model.alignment_of(out.maps), align)
                if align is not None and out.linked_logits is not None:
                    loss = loss + cfg.guided_context * linked_context_loss(out.linked_logits, tgt, align, ce)
            if ws.world > 1:
                # DDP averages gradients over ranks; weighting each rank's mean loss by its share of
                # the batch's tokens (times world) makes that the gradient of the whole batch's mean.
                import torch.distributed as dist

                ntok = (tgt != PAD).sum().to(torch.float64).reshape(1)
                global_ntok = ntok.clone()
                dist.all_reduce(global_ntok)
                loss = loss * (ntok * ws.world / global_ntok).to(loss.dtype).squeeze(0)
            opt.zero_grad()
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            steps += 1
            if steps <= cfg.warmup:
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * steps / cfg.warmup
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            if ema is not None:
                ema.update_parameters(model)
            total += loss.item()
            n_batches += 1
            n_tokens += int((tgt[: len(items)] != PAD).sum())  # each pair once, also under R-Drop
            bar.set_postfix(loss=f"{total / n_batches:.3f}")
        if ws.world > 1:  # the whole batch's loss: the sum of the weighted rank losses over world
            import torch.distributed as dist

            t = torch.tensor([total, n_tokens], dtype=torch.float64, device=device)
            dist.all_reduce(t)
            total, n_tokens = float(t[0]) / ws.world, int(t[1])
        train_s = time.perf_counter() - epoch_start
        live = None
        if ema is not None:  # evaluate (and keep) the averaged weights; train on from the live ones
            live = copy.deepcopy(model.state_dict())
            model.load_state_dict(ema.module.state_dict())
        model.eval()
        dev_loss, dev_bleu = math.nan, math.nan
        if ws.main:  # rank 0 evaluates; the others wait for its figures below
            with torch.inference_mode():
                dl, ntok = 0.0, 0
                for idx in _batches(dev, 128, False, rng):
                    src, lengths, tgt, _ = _tensors([dev[i] for i in idx], device)
                    logits = model(src, lengths, tgt).logits
                    dl += dev_ce(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1)).item()
                    ntok += int((tgt != PAD).sum())
            dev_loss = dl / max(ntok, 1)
            hyps = translator.translate_batch([p.src for p in pairs["dev"]])
            dev_bleu, _ = bleu_chrf(hyps, [p.tgt for p in pairs["dev"]], tgt_lang)
        if ws.world > 1:  # every rank steps its scheduler and tracks the best epoch on rank 0's figures
            import torch.distributed as dist

            figures = torch.tensor([dev_loss, dev_bleu], dtype=torch.float64, device=device)
            dist.broadcast(figures, 0)
            dev_loss, dev_bleu = (float(x) for x in figures.tolist())
        criterion = dev_loss if cfg.select == "loss" else -dev_bleu  # lower is better
        if steps >= cfg.warmup:  # the plateau schedule takes over once warm-up is done
            sched.step(criterion)
        history.append({"epoch": epoch, "train_loss": round(total / max(n_batches, 1), 4), "dev_loss": round(dev_loss, 4), "dev_bleu": round(dev_bleu, 2),
                        "train_s": round(train_s, 2), "tokens": n_tokens, "pairs": len(pool) if stream is None else stream.n_train})
        mark = ""
        if criterion < best[0]:
            best = (criterion, epoch, copy.deepcopy(model.state_dict()))
            mark = " *"
        if live is not None:
            model.load_state_dict(live)
        if state_path is not None and ws.main:
            _write_state(state_path, model, opt, sched, ema, best, epoch, steps, history, rng, gen, src_vocab, tgt_vocab, config,
                         time.perf_counter() - start)
        log(f"epoch {epoch:2d}  loss {total / max(n_batches, 1):.3f}  dev loss {dev_loss:.3f}  dev BLEU {dev_bleu:5.2f}  {time.perf_counter() - start:6.0f}s{mark}")
        stop = epoch - best[1] >= cfg.patience
        if ws.world > 1:  # rank 0's decision, so that no rank waits for a step the others never take
            import torch.distributed as dist

            flag = torch.tensor([int(stop)], device=device)
            dist.broadcast(flag, 0)
            stop = bool(flag.item())
        if stop:
            log(f"early stop: no better dev {SELECT[cfg.select]} for {cfg.patience} epochs")
            break
    if ws.world > 1:
        import torch.distributed as dist

        dist.barrier()
        if owns_group:
            dist.destroy_process_group()
    model.load_state_dict(best[2])
    round_as_stored(model)  # the metrics measured next are stored with the file: they describe its weights
    model.eval()
    translator.meta = {
        "training": {
            **asdict(cfg),
            "corpus": corpus,
            "pairs": {k: len(v) for k, v in pairs.items()} | ({"train": stream.n_train} if stream is not None else {}),
            "processes": ws.world,
            "best_epoch": best[1],
            "epochs_run": len(history),
            "seconds": round(time.perf_counter() - start, 3),
            "device": str(device),
            "history": history,
        },
        "metrics": {},
    }
    return translator


def _write_state(path, model, opt, sched, ema, best, epoch, steps, history, rng, gen, src_vocab, tgt_vocab, config, seconds: float) -> None:
    """The training-state file of the epoch just finished (``models.train_state``), written
    atomically; ``seconds``: the run's time so far, which a resumed run goes on counting."""
    opt_tensors, opt_json = flatten_optimizer(opt.state_dict())
    rng_tensors = {"gen": gen.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng_tensors["cuda"] = torch.cuda.get_rng_state()
    tensors = {"model": model.state_dict(), "opt": opt_tensors, "rng": rng_tensors}
    if best[2] is not None:
        tensors["best"] = best[2]
    if ema is not None:
        tensors["ema"] = ema.state_dict()
    version, internal, gauss = rng.getstate()
    meta = {
        "epoch": epoch, "steps": steps, "seconds": round(seconds, 3), "history": history, "best_loss": best[0], "best_epoch": best[1],
        "optimizer": opt_json, "scheduler": sched.state_dict(), "rng": {"python": [version, list(internal), gauss]},
        "src_vocab": list(src_vocab.itos), "tgt_vocab": list(tgt_vocab.itos), "config": config.to_json(),
    }
    save_state(path, tensors, meta)
