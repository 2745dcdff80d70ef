"""The decoding result every view draws from, and its one JSON schema.

Attention is data with names and dimensions: each ``AttentionMap`` has a name (``cross``,
``cross_distribution``, ``encoder_self``, ``decoder_self``, ``posterior``), a kind (cross,
encoder self, decoder self, alignment) and values of dims (layer, head, query, key). A
hypothesis' ``attention`` is the (T, S) matrix the views draw: the family's alignment reading
of its cross map, or another selection of the maps (``select``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .nets.base import DECODER_SELF, DIMS, MAP_KINDS

ALTERNATIVES = 5  # the most likely tokens kept at each decoding step (K)
SCHEMA_VERSION = 2
MEAN = -1  # a head index meaning "the mean of the layer's heads"
START = "<s>"  # the decoder's first input: the key of decoder self-attention's first column


@dataclass(frozen=True)
class AttentionMap:
    """One named attention map of one hypothesis (or of the source, for encoder self-attention)."""

    name: str
    values: np.ndarray  # (L, H, Q, K) float32

    @property
    def kind(self) -> str:
        return MAP_KINDS[self.name]

    @property
    def layers(self) -> int:
        return self.values.shape[0]

    @property
    def heads(self) -> int:
        return self.values.shape[1]

    def matrix(self, layer: int = 0, head: int = MEAN) -> np.ndarray:
        """(Q, K): one head of one layer, or the mean of the layer's heads (``head`` MEAN)."""
        v = self.values[layer]
        return v.mean(axis=0) if head == MEAN else v[head]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "dims": list(DIMS),
            "shape": list(self.values.shape),
            "values": np.asarray(self.values, dtype=float).round(6).tolist(),
        }


@dataclass(frozen=True)
class DecodedIds:
    """One hypothesis as the search produces it (ids, before vocabulary lookup).

    T is the number of generated tokens including the end token when ``finished``.
    """

    ids: list[int]  # (T,)
    maps: dict[str, np.ndarray]  # name -> (L, H, T, K) attention of every step
    token_probs: np.ndarray  # (T,) probability of each chosen token
    alt_ids: np.ndarray  # (T, K) the K most likely tokens at each step (K = 0 without details)
    alt_probs: np.ndarray  # (T, K) and their probabilities
    score: float  # sum of log-probabilities
    finished: bool  # ended with the end token (else hit the length cap)
    rank_score: float = float("nan")  # what beam search ranks by: score / T ** alpha (greedy: score)


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[str]  # (T,) generated tokens, "</s>" last when finished
    text: str  # detokenised, without the end token
    attention: np.ndarray  # (T, S) the matrix the views draw (see DecodeResult.cells)
    token_probs: np.ndarray  # (T,)
    alternatives: list[list[tuple[str, float]]]  # (T, K) (token, probability), best first
    score: float  # sum of log-probabilities
    finished: bool
    maps: dict[str, AttentionMap] = field(default_factory=dict)  # cross, cross_distribution, decoder_self, posterior
    rank_score: float = float("nan")  # the score beam search ranks hypotheses by (score / T ** alpha)


@dataclass(frozen=True)
class Strategy:
    """How the hypotheses were found: greedy (beam 1) or beam search, hard attention sampled or
    arg-maxed, or teacher forcing of a given target."""

    beam: int = 1
    sampled: bool = False  # hard attention drew its positions (else argmax)
    forced: bool = False  # the target was given (teacher forcing), not searched
    ranking: tuple[float, float] | None = None  # beam search: (length_alpha, coverage_beta) of rank_score

    def __str__(self) -> str:
        if self.forced:
            return "forced"
        return ("greedy" if self.beam == 1 else f"beam-{self.beam}") + (" (sampled attention)" if self.sampled else "")


@dataclass(frozen=True)
class DecodeResult:
    """A translation with everything needed to draw it.

    ``source_tokens`` are the tokens the model read, the end token "</s>" last; attention rows
    have one weight per source token. ``hypotheses`` is best first: one for greedy, the
    finished beam for beam search.
    """

    source_tokens: list[str]  # (S,)
    source_known: list[bool]  # (S,) False where the token is not in the vocabulary
    hypotheses: list[Hypothesis]
    direction: str
    scorer: str  # the GRU's scoring function; "" for families without one
    mode: str  # "soft" | "hard"
    strategy: Strategy
    truncated_from: int | None = None  # token count of the input before it was cut
    family: str = "rnn"
    source_maps: dict[str, AttentionMap] = field(default_factory=dict)  # encoder_self (L, H, S, S)
    cells: str = "attention"  # what each hypothesis' ``attention`` holds: "attention" (the alignment reading), or a selection's label

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]

    @property
    def target_tokens(self) -> list[str]:
        return self.best.tokens

    @property
    def attention(self) -> np.ndarray:
        return self.best.attention

    @property
    def translation(self) -> str:
        return self.best.text

    def to_json(self, hypothesis: int = 0) -> dict:
        """The one JSON schema of a result (CLI, exports, app): the chosen hypothesis' fields
        at the top level (``attention`` is the matrix the heatmap draws), every hypothesis
        under ``hypotheses``, and every attention map with its kind and dims."""

        def hyp(h: Hypothesis) -> dict:
            return {
                "target_tokens": h.tokens,
                "translation": h.text,
                "attention": np.asarray(h.attention, dtype=float).round(6).tolist(),
                "token_probs": np.asarray(h.token_probs, dtype=float).round(6).tolist(),
                "score": h.score,
                "rank_score": None if np.isnan(h.rank_score) else h.rank_score,
                "finished": h.finished,
                "maps": [m.to_json() for m in h.maps.values()],
            }

        return {
            "schema_version": SCHEMA_VERSION,
            "source_tokens": self.source_tokens,
            "source_known": self.source_known,
            **hyp(self.hypotheses[hypothesis]),
            "hypothesis": hypothesis,
            "hypotheses": [hyp(h) for h in self.hypotheses],
            "source_maps": [m.to_json() for m in self.source_maps.values()],
            "direction": self.direction,
            "family": self.family,
            "scorer": self.scorer,
            "mode": self.mode,
            "strategy": str(self.strategy),
            "beam": self.strategy.beam,
            **({"length_alpha": self.strategy.ranking[0], "coverage_beta": self.strategy.ranking[1]} if self.strategy.ranking else {}),
            "cells": self.cells,
            "truncated_from": self.truncated_from,
        }


@dataclass(frozen=True)
class Selection:
    """Which attention the views draw: a map of the hypotheses (``cross``, ``decoder_self``,
    ``posterior``, ...) or of the source (``encoder_self``), one layer, one head or the mean of
    the heads; ``map`` "alignment" is the family's own alignment reading."""

    map: str = "alignment"
    layer: int = 0
    head: int = MEAN

    def label(self, m: AttentionMap) -> str:
        """What the selection draws, for titles and file names; the layer and head are named only
        when the map ``m`` has more than one of them (a GRU's maps have one of each)."""
        if self.map == "alignment":
            return "attention"
        if self.map == "posterior":
            return "posterior"
        parts = [self.map.replace("_", " ")]
        if m.layers > 1:
            parts.append(f"layer {self.layer + 1}")
        if m.heads > 1:
            parts.append("mean of heads" if self.head == MEAN else f"head {self.head + 1}")
        return " · ".join(parts)


def select(result: DecodeResult, selection: Selection, hypothesis: int = 0) -> DecodeResult:
    """``result`` with each hypothesis' ``attention`` replaced by the selected matrix.

    A source map (``encoder_self``, (S, S)) replaces it too, with the source tokens as the rows,
    so the views draw it with the source on both axes. A decoder self-attention map (T, T) keeps
    the ``hypothesis``-th hypothesis only, and its keys become the decoder's inputs "<s>", y1 …
    y_{T-1} (query t sees keys 0..t): ``source_tokens`` of the returned result. Hypotheses
    without the map are left out."""
    if selection.map == "alignment":
        return result
    if selection.map in result.source_maps:
        named = result.source_maps[selection.map]
        m = named.matrix(selection.layer, selection.head)
        hyps = [replace(h, tokens=list(result.source_tokens), attention=m) for h in result.hypotheses[:1]]
    elif MAP_KINDS.get(selection.map) == DECODER_SELF:
        h = result.hypotheses[hypothesis]
        if selection.map not in h.maps:
            raise ValueError(f"this result has no {selection.map!r} attention")
        T = len(h.tokens)
        named = h.maps[selection.map]
        m = named.matrix(selection.layer, selection.head)[:T, :T]
        inputs = [START, *h.tokens[: T - 1]]
        return replace(result, source_tokens=inputs, source_known=[True] * T, hypotheses=[replace(h, attention=m)], cells=selection.label(named))
    else:
        hyps = [
            replace(h, attention=h.maps[selection.map].matrix(selection.layer, selection.head)[: len(h.tokens)])
            for h in result.hypotheses
            if selection.map in h.maps
        ]
        if not hyps:
            raise ValueError(f"this result has no {selection.map!r} attention")
        named = next(h.maps[selection.map] for h in result.hypotheses if selection.map in h.maps)
    return replace(result, hypotheses=hyps, cells=selection.label(named))


def attention_stats(attention: np.ndarray) -> dict[str, float]:
    """attention (T, S) with "</s>" as the last source token: mean row entropy (nats), mean
    weight on the final real source token and on the source end token."""
    p = np.clip(attention, 1e-12, 1.0)
    entropy = float(-(attention * np.log(p)).sum(-1).mean())
    final = float(attention[:, -2].mean()) if attention.shape[1] >= 2 else 0.0
    return {"entropy": entropy, "final_token_share": final, "eos_share": float(attention[:, -1].mean())}
