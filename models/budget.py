"""What a model will cost in memory, computed from its configuration before anything is allocated.

``estimate(config)`` gives the bytes a model takes to load and to decode the longest input the
app allows; ``check(config)`` refuses a model over the budget (``ATTNVIZ_MODEL_BUDGET_MB``,
default ``DEFAULT_BUDGET_MB``). The checkpoint loader calls it on the header alone, so a file
that declares a huge vocabulary or hidden size is refused before its weights are read, and
before the tables that decoding derives from them (which can be far larger than the file) exist.

Each model family adds its own formula to ``FORMULAS``, keyed by its configuration class.
Figures are float32 elements times four bytes; each formula is an upper bound of what its model
holds and allocates, checked against the real model in tests/test_budget.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from .config import ModelConfig

BUDGET_ENV = "ATTNVIZ_MODEL_BUDGET_MB"
DEFAULT_BUDGET_MB = 512
MB = 2**20
FLOAT = 4  # bytes per float32 element: weights are loaded, and decoding runs, in float32
# The longest input the app and the CLI decode, and how they decode it:
LONGEST_SOURCE = 60 + 1  # models.translator.MAX_SOURCE_TOKENS source tokens and the end token
WIDEST_BEAM = 10  # models.translator.MAX_BEAM
BATCH = 64  # Translator.decode_batch's default batch (Evaluate, training's dev BLEU)
POSTERIOR_CHUNK = 1 << 24  # models.decoder.POSTERIOR_CHUNK: logits the alignment posterior makes at once
ALTERNATIVES = 5  # top alternatives recorded per step


class Estimate(NamedTuple):
    """Bytes, by what they are for.

    ``weights``: the float32 parameters the model keeps. ``loading``: what exists beside them
    only while loading (the file's float16 copy and the tensors read from it). ``derived``:
    what the model builds from its weights once and keeps (decoding tables, packed products,
    the CPU kernel's copies). ``working``: the largest transient of one operation at the
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


def _seq2seq(c: ModelConfig) -> Estimate:
    """The GRU encoder-decoder of models/seq2seq.py.

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
    # Decoder.step_weights: the per-token table (V_t, 3H + E), made twice while it is built (its
    # two parts, then their concatenation), the query product (H, 3H + Q + E) and the output
    # product (E, V_t), each with a packed copy, the context matrix (H, E); the CPU kernel copies
    # the encoder's input gates (E, 3H) and recurrent weights (2, H/2, 3H/2).
    derived = 2 * vt * (3 * h + e) + 2 * h * (3 * h + q + e) + 2 * (e * vt + vt) + h * e + e * 3 * h + 2 * half * 3 * half
    s = LONGEST_SOURCE
    t = int(c.max_len_ratio * s) + 5  # Seq2Seq.max_len: the longest output
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
    return Estimate(weights * FLOAT, loading, derived * FLOAT, working)


FORMULAS: dict[type, Callable] = {ModelConfig: _seq2seq}


def estimate(config: object) -> Estimate:
    """The memory ``config``'s model takes (``Estimate``), by its family's formula."""
    formula = FORMULAS.get(type(config))
    if formula is None:
        raise TypeError(f"no memory formula for {type(config).__name__}")
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
        f"(weights {cost.weights / MB:,.0f} MB, decoding tables {cost.derived / MB:,.0f} MB, one translation "
        f"{cost.working / MB:,.0f} MB), over the {budget / MB:,.0f} MB budget per model ({BUDGET_ENV})"
    )
