"""Per-head readings of attention: rollout through encoder layers, and corpus statistics of
every (layer, head) of the cross-attention (the head explorer)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from .alignments import AlignmentScore, Reference, attention_links
from .result import DecodeResult

ROLLOUT = "rollout"  # the label of a rollout selection (DecodeResult.cells)


def rollout(maps: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of self-attention ``maps`` (L, H, S, S) ->
    (L, S, S): entry l is how much each token's representation after layer l draws on each
    input token. Each layer's heads are averaged, the identity added for the residual
    connection, rows renormalised to sum to 1, and the layers multiplied through:
    R_1 = A_1, R_l = A_l R_{l-1}."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 4 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"rollout needs (layer, head, S, S) self-attention, got shape {maps.shape}")
    S = maps.shape[-1]
    a = maps.mean(axis=1) + np.eye(S)
    a /= a.sum(axis=-1, keepdims=True)
    out, r = [], np.eye(S)
    for layer in a:
        r = layer @ r
        out.append(r)
    return np.stack(out).astype(np.float32)


def rollout_result(result: DecodeResult, layer: int = -1, name: str = "encoder_self") -> DecodeResult:
    """``result`` drawn as the rollout of its source self-attention through ``layer`` (the
    source tokens on both axes, like ``models.result.select`` of ``encoder_self``)."""
    if name not in result.source_maps:
        raise ValueError(f"this result has no {name!r} attention to roll out")
    r = rollout(result.source_maps[name].values)[layer]
    L = result.source_maps[name].layers
    hyp = replace(result.best, tokens=list(result.source_tokens), attention=r)
    return replace(result, hypotheses=[hyp], cells=f"{ROLLOUT} · layers 1–{(layer % L) + 1}")


def is_punctuation(token: str) -> bool:
    """Every character of ``token`` is Unicode punctuation (. , 。 ！ …)."""
    return bool(token) and all(unicodedata.category(c).startswith("P") for c in token)


# What head_statistics measures, in the order the head explorer shows it; (title, lower is better).
STATISTICS = {
    "aer": ("AER of the argmax reading", True),
    "aer_shift": ("AER read one step later (shift)", True),
    "eos_share": ("Share of attention on </s>", True),
    "punct_share": ("Share of attention on punctuation", True),
    "entropy": ("Mean entropy (nats)", True),
    "confidence": ("Confidence (mean max weight)", False),
}


@dataclass(frozen=True)
class HeadStatistics:
    """Statistics of each (layer, head) of the cross-attention over a corpus; arrays (L, H)."""

    values: dict[str, np.ndarray]  # a key of STATISTICS -> (L, H)
    sentences: int  # sentences read
    aligned: int  # of them with reference links (the AER's)

    def best(self) -> tuple[str, int, int, float] | None:
        """(reading, layer, head, AER) of the lowest AER over both readings; None without AER."""
        if not self.aligned:
            return None
        options = [(float(self.values[k][i, j]), k, i, j) for k in ("aer", "aer_shift") for i, j in np.ndindex(self.values[k].shape)]
        aer, k, layer, head = min(options)
        return k, layer, head, aer


def head_statistics(
    translator,
    pairs: Iterable[tuple[str, str, Reference | None]],
    progress: Callable[[int, int], None] | None = None,
) -> HeadStatistics:
    """Teacher-force each (source, reference translation, gold links or None) through
    ``translator`` and measure every head of every layer of its cross-attention (T+1, S):
    AER of its argmax reading and of the reading one step later (Shift-Att), mean share of
    attention on the source end token and on punctuation tokens, mean row entropy and mean
    row maximum (confidence, Voita et al. 2019)."""
    pairs = list(pairs)
    L, H = None, None
    sums: dict[str, np.ndarray] = {}
    scores: list[list[list[AlignmentScore]]] = []
    rows_total, aligned = 0, 0
    for n, (source, target, gold) in enumerate(pairs):
        src, _ = translator.source_tokens(source)
        tgt = translator.tgt_tokenizer.tokenize(target)
        cross = translator.force(src, tgt).best.maps["cross"].values  # (L, H, T+1, S)
        if L is None:
            L, H = cross.shape[:2]
            sums = {k: np.zeros((L, H)) for k in ("eos_share", "punct_share", "entropy", "confidence")}
            scores = [[[AlignmentScore(), AlignmentScore()] for _ in range(H)] for _ in range(L)]
        punct = np.array([is_punctuation(t) for t in src[:-1]] + [False])
        p = np.clip(cross, 1e-12, 1.0)
        sums["eos_share"] += cross[..., -1].sum(-1)
        sums["punct_share"] += cross[..., punct].sum(-1).sum(-1)
        sums["entropy"] += -(cross * np.log(p)).sum(-1).sum(-1)
        sums["confidence"] += cross.max(-1).sum(-1)
        rows_total += cross.shape[2]
        if gold is not None:
            aligned += 1
            for layer, head in np.ndindex(L, H):
                m = cross[layer, head]
                scores[layer][head][0].add(attention_links(m, src[:-1], tgt), gold)
                scores[layer][head][1].add(attention_links(m, src[:-1], tgt, shift=1), gold)
        if progress:
            progress(n + 1, len(pairs))
    if L is None:
        raise ValueError("no sentences to measure")
    values = {k: v / max(rows_total, 1) for k, v in sums.items()}
    for i, k in enumerate(("aer", "aer_shift")):
        values[k] = np.array([[scores[layer][head][i].aer if aligned else np.nan for head in range(H)] for layer in range(L)])
    return HeadStatistics({k: values[k] for k in STATISTICS}, len(pairs), aligned)


def head_name(layer: int, head: int) -> str:
    """'layer 2 head 3': 1-based, as the app labels them."""
    return f"layer {layer + 1} head {head + 1}"


def dev_chosen_heads(translator, dev: Iterable[tuple[str, str, Reference | None]], test: Iterable[tuple[str, str, Reference | None]]) -> dict:
    """The cross-attention head of lowest dev AER, per reading (argmax, and shifted one step),
    scored on test: {"head_aer", "head", "head_aer_shift", "head_shift"}. Choosing on dev keeps
    the test figure honest (the head with the lowest test AER would flatter it). Empty for a
    model with one cross-attention head (its alignment reading is that head: told from one
    sentence, before the corpus is read) or without dev links."""
    dev = list(dev)
    if not dev or head_statistics(translator, dev[:1]).values["aer"].size == 1:
        return {}
    on_dev = head_statistics(translator, dev)
    if not on_dev.aligned:
        return {}
    on_test = head_statistics(translator, test)
    out = {}
    for reading in ("aer", "aer_shift"):
        layer, head = np.unravel_index(int(np.nanargmin(on_dev.values[reading])), on_dev.values[reading].shape)
        suffix = reading[3:]  # "" or "_shift"
        out[f"head_aer{suffix}"] = float(on_test.values[reading][layer, head])
        out[f"head{suffix}"] = head_name(int(layer), int(head))
    return out
