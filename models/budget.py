"""What a model will cost in memory, computed from its configuration before anything is allocated.

``estimate(config)`` gives the bytes a model takes to load and to decode the longest input the
app allows; ``check(config)`` refuses a model over the budget (``ATTNVIZ_MODEL_BUDGET_MB``,
default ``DEFAULT_BUDGET_MB``). The checkpoint loader calls it on the header alone, so a file
that declares a huge vocabulary or hidden size is refused before its weights are read, and
before the tables that decoding derives from them (which can be far larger than the file) exist.

Each model family adds its own formula to ``FORMULAS``, keyed by its family name (``config.family``).
Figures are float32 elements times four bytes; each formula is an upper bound of what its model
holds and allocates, checked against the real model in tests/test_budget.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from .config import ModelConfig
from .nets.packed import packed_bytes
from .nets.rnn import POSTERIOR_CHUNK, TOKEN_TABLES_MAX_BYTES, token_tables_bytes
from .result import ALTERNATIVES
from .translator import MAX_BEAM, MAX_SOURCE_TOKENS

BUDGET_ENV = "ATTNVIZ_MODEL_BUDGET_MB"
DEFAULT_BUDGET_MB = 512
MB = 2**20
FLOAT = 4  # bytes per float32 element: weights are loaded, and decoding runs, in float32
# The longest input the app and the CLI decode, and how they decode it:
LONGEST_SOURCE = MAX_SOURCE_TOKENS + 1  # source tokens and the end token
WIDEST_BEAM = MAX_BEAM
BATCH = 64  # Translator.decode_batch's default batch (Evaluate, training's dev BLEU)


class Estimate(NamedTuple):
    """Bytes, by what they are for.

    ``weights``: the float32 parameters the model keeps. ``loading``: what exists beside them
    only while loading (the file's float16 copy and the tensors read from it). ``derived``:
    what the model builds from its weights once and keeps (a GRU decoder's per-token tables).
    ``working``: the largest transient of one operation at the
    longest input (logits per step of a beam or a batch, the alignment posterior's chunk,
    teacher-forced activations).
    """

    weights: int
    loading: int
    derived: int
    working: int

    @property
    def total(self) -> int:
        """The peak: weights plus the larger of loading and (derived tables + one operation)."""
        return self.weights + max(self.loading, self.derived + self.working)


def _rnn(c: ModelConfig) -> Estimate:
    """The GRU encoder-decoder of models/nets/rnn.py.

    V_s, V_t vocabularies, E embedding, H decoder state (H/2 per encoder direction), Q the
    scorer's query projection (H for general and additive, else 0), K its key size (H).
    """
    vs, vt, e, h = c.src_vocab_size, c.tgt_vocab_size, c.emb_dim, c.hidden
    q = h if c.scorer in ("general", "additive") else 0
    half = h // 2
    encoder = vs * e + 2 * (3 * half * (e + half) + 6 * half) + h * h + h  # embedding, bi-GRU, bridge
    scorer = {"general": h * h, "additive": 2 * h * h + 2 * h, "cosine": 1}.get(c.scorer, 0)
    decoder = vt * e + vt + 3 * h * (e + h) + 6 * h + (2 * h + e) * e + e + scorer  # tied embedding/output, GRU cell, projection
    weights = encoder + decoder
    tables = token_tables_bytes(vt, e, h)
    scorer_products = {"general": [(h, h)], "additive": [(h, h), (h, h)]}.get(c.scorer, [])
    # bridge, scorer, projection (whole, and its state columns), output, GRU state gates
    products = [(h, h), *scorer_products, (e, 2 * h + e), (e, 2 * h), (vt, e), (3 * h, h)]
    derived = (tables if tables <= TOKEN_TABLES_MAX_BYTES else 0) + sum(packed_bytes(*p) for p in products)
    s = LONGEST_SOURCE
    t = int(c.max_len_ratio * s) + 5  # Family.max_len: the longest output
    encoded = s * (3 * h + h + h + h)  # gates, states, keys, masks and sums per source position
    beam = WIDEST_BEAM * (4 * vt + 4 * h + 3 * h + q + e) + WIDEST_BEAM * t * (2 * ALTERNATIVES + s)
    batch = BATCH * (encoded + 4 * vt + 4 * h + 3 * h + q + e + t * (2 * ALTERNATIVES + s))
    # Teacher forcing one sentence (Translator.force): logits (T, V_t), per-step keys and values
    # (T, S, H + K), states and contexts; the posterior adds chunks of (n, S, V_t) logits twice
    # (logits and their log-softmax) and their inputs (n, S, 2H + E) and outputs (n, S, E).
    forced = t * vt + t * s * 2 * h + 4 * t * (h + e) + encoded
    rows = min(t, max(1, POSTERIOR_CHUNK // (s * vt)))
    posterior = forced + rows * s * (2 * vt + 2 * h + 2 * e) + t * s * 2
    working = max(beam, batch, forced, posterior) * FLOAT
    loading = weights * 2 + weights * 2  # the file's float16 bytes and safetensors' float16 tensors
    return Estimate(weights * FLOAT, loading, derived, working)


def _transformer(c: ModelConfig) -> Estimate:
    """The Transformer of models/nets/transformer.py: D = hidden, F = ff_dim, L layers each side,
    A heads; every attention map (layer, head, query, key) is kept for the views."""
    vs, vt, d, f, n_layers, heads = c.src_vocab_size, c.tgt_vocab_size, c.hidden, c.ff_dim, c.layers, c.heads
    layer = 4 * d * d + 2 * d * f + 9 * d + f  # attention projections, feed-forward, norms
    weights = vs * d + vt * d + vt + n_layers * layer + n_layers * (layer + 4 * d * d + 6 * d) + 4 * d
    s = LONGEST_SOURCE
    t = int(c.max_len_ratio * s) + 5
    maps = n_layers * heads * (s * s + t * (t + s))  # encoder self, decoder self and cross maps of one sentence
    cache = 2 * n_layers * (t + s) * d  # self-attention keys/values and cross keys/values, one row
    beam = WIDEST_BEAM * (4 * vt + cache + t * n_layers * heads * (t + s)) + maps
    batch = BATCH * (4 * vt + cache + s * (f + 4 * d) + maps)
    forced = t * vt + maps + n_layers * (t + s) * (f + 6 * d)
    working = max(beam, batch, forced) * FLOAT
    layer_products = [(d, d)] * 4 + [(f, d), (d, f)]  # attention projections, feed-forward
    products = n_layers * layer_products + n_layers * ([(d, d)] * 4 + layer_products) + [(vt, d)]  # encoder, decoder, output
    return Estimate(weights * FLOAT, weights * 4, sum(packed_bytes(*p) for p in products), working)


FORMULAS: dict[str, Callable[[ModelConfig], Estimate]] = {"rnn": _rnn, "transformer": _transformer}


def estimate(config: ModelConfig) -> Estimate:
    """The memory ``config``'s model takes (``Estimate``), by its family's formula."""
    formula = FORMULAS.get(config.family)
    if formula is None:
        raise TypeError(f"no memory formula for the {config.family!r} family")
    return formula(config)


def estimate_bytes(config: object) -> int:
    """Peak bytes to load ``config``'s model and decode the longest input with it."""
    return estimate(config).total


def budget_bytes() -> int:
    """The budget per model: $ATTNVIZ_MODEL_BUDGET_MB megabytes, default ``DEFAULT_BUDGET_MB``."""
    raw = os.environ.get(BUDGET_ENV) or str(DEFAULT_BUDGET_MB)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{BUDGET_ENV} must be a positive whole number of megabytes, not {raw!r}")
    return int(raw) * MB


def over_budget(config: object) -> str | None:
    """A sentence saying why ``config``'s model is over the budget, or None when it fits."""
    cost, budget = estimate(config), budget_bytes()
    if cost.total <= budget:
        return None
    return (
        f"this model would take about {cost.total / MB:,.0f} MB of memory to load and translate with "
        f"(weights {cost.weights / MB:,.0f} MB, one translation "
        f"{cost.working / MB:,.0f} MB), over the {budget / MB:,.0f} MB budget per model ({BUDGET_ENV})"
    )
