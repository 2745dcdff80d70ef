"""Training: teacher forcing, label smoothing, source word dropout, learning-rate warm-up, early
stopping on dev loss,
and optional guided alignment (Garg et al. 2019) and linked-context loss."""

from __future__ import annotations

import copy
import math
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
from .config import ModelConfig
from .data import Pair
from .evaluate import bleu_chrf
from .nets import FAMILIES, build_model
from .nets.rnn import linked_rows
from .tokenize import Tokenizer, tokenizer_for
from .translator import Translator, resolve_device
from .vocab import EOS, PAD, UNK, Vocab


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    patience: int = 4  # epochs without dev-loss improvement before stopping
    seed: int = 1
    word_dropout: float = 0.1  # source tokens replaced by <unk> during training
    label_smoothing: float = 0.1
    guided_alignment: float = 0.0  # lambda of the guided-alignment loss; 0 turns it off
    guided_context: float = 0.0  # lambda of the linked-context loss (linked_context_loss); 0 turns it off
    warmup: int = 0  # steps over which the learning rate rises linearly to lr (then ReduceLROnPlateau); 0: none
    ema: float = 0.0  # decay of an exponential moving average of the weights, evaluated and kept instead of them; 0 turns it off
    clip: float = 1.0
    device: str = "auto"


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
) -> Translator:
    """Train on pairs["train"], stop early on pairs["dev"] loss; return the best epoch's model.

    ``model_args`` are ModelConfig fields other than the vocabulary sizes. ``alignments`` maps
    pair ids to links (source index, target index) used by the guided-alignment loss.
    """
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
    # The source may be looked up lowercased; the target keeps case, since the model writes it.
    src_tok, tgt_tok = tokenizer_for(src_lang), Tokenizer()
    tokenized = {k: [(src_tok.tokenize(p.src), tgt_tok.tokenize(p.tgt)) for p in v] for k, v in pairs.items()}
    src_vocab = Vocab.build((s for s, _ in tokenized["train"]), lowercase=src_tok.lowercase)
    tgt_vocab = Vocab.build((t for _, t in tokenized["train"]), lowercase=tgt_tok.lowercase)
    config = ModelConfig(src_vocab_size=len(src_vocab), tgt_vocab_size=len(tgt_vocab), **model_args)
    reason = over_budget(config)  # what the app and the CLI would refuse to load: say so before training it
    if reason:
        raise ValueError(f"{len(src_vocab):,} source and {len(tgt_vocab):,} target words: {reason}; train a smaller model (--hidden, --emb-dim, --max-pairs)")
    model = build_model(config).to(device)
    translator = Translator(model, src_vocab, tgt_vocab, src_tok, tgt_tok, src_lang, tgt_lang)

    def encode(split: str, with_align: bool):
        return [
            (src_vocab.encode(s) + [EOS], tgt_vocab.encode(t) + [EOS], _with_end_link((alignments or {}).get(p.id), len(s), len(t)) if with_align else None)
            for (s, t), p in zip(tokenized[split], pairs[split])
        ]

    train = encode("train", cfg.guided_alignment > 0 or cfg.guided_context > 0)
    dev = encode("dev", False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    ce = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=cfg.label_smoothing)
    dev_ce = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum")
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    best = (math.inf, 0, None)
    history = []
    steps = 0
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, n_batches = 0.0, 0
        batches = _batches(train, cfg.batch_size, True, rng)
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", disable=not progress, leave=False, unit="batch")
        for idx in bar:
            src, lengths, tgt, align = _tensors([train[i] for i in idx], device, cfg.word_dropout, gen)
            out = model(src, lengths, tgt, align if cfg.guided_context > 0 else None)
            loss = ce(out.logits.reshape(-1, out.logits.size(-1)), tgt.reshape(-1))
            if align is not None and cfg.guided_alignment > 0:
                loss = loss + cfg.guided_alignment * guided_alignment_loss(model.alignment_of(out.maps), align)
            if align is not None and out.linked_logits is not None:
                loss = loss + cfg.guided_context * linked_context_loss(out.linked_logits, tgt, align, ce)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            steps += 1
            if steps <= cfg.warmup:
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * steps / cfg.warmup
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            total += loss.item()
            n_batches += 1
            bar.set_postfix(loss=f"{total / n_batches:.3f}")
        live = None
        if ema is not None:  # evaluate (and keep) the averaged weights; train on from the live ones
            live = copy.deepcopy(model.state_dict())
            model.load_state_dict(ema.module.state_dict())
        model.eval()
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
        if steps >= cfg.warmup:  # the plateau schedule takes over once warm-up is done
            sched.step(dev_loss)
        history.append({"epoch": epoch, "train_loss": round(total / max(n_batches, 1), 4), "dev_loss": round(dev_loss, 4), "dev_bleu": round(dev_bleu, 2)})
        mark = ""
        if dev_loss < best[0]:
            best = (dev_loss, epoch, copy.deepcopy(model.state_dict()))
            mark = " *"
        if live is not None:
            model.load_state_dict(live)
        log(f"epoch {epoch:2d}  loss {total / max(n_batches, 1):.3f}  dev loss {dev_loss:.3f}  dev BLEU {dev_bleu:5.2f}  {time.perf_counter() - start:6.0f}s{mark}")
        if epoch - best[1] >= cfg.patience:
            log(f"early stop: no dev-loss improvement for {cfg.patience} epochs")
            break
    model.load_state_dict(best[2])
    model.eval()
    translator.meta = {
        "training": {
            "corpus": corpus,
            "pairs": {k: len(v) for k, v in pairs.items()},
            "best_epoch": best[1],
            "epochs_run": len(history),
            "seconds": round(time.perf_counter() - start, 1),
            "device": str(device),
            "history": history,
            **asdict(cfg),
        },
        "metrics": {},
    }
    return translator
