"""The decoding result that every view draws from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vocab import EOS

ALTERNATIVES = 5  # the most likely tokens kept at each decoding step (K)


@dataclass(frozen=True)
class DecodedIds:
    """One hypothesis as decoders produce it (ids, before vocabulary lookup).

    T is the number of generated tokens including the end token when ``finished``.
    """

    ids: list[int]  # (T,)
    attention: np.ndarray  # (T, S) weights used at each step
    token_probs: np.ndarray  # (T,) probability of each chosen token
    alt_ids: np.ndarray  # (T, K) the K most likely tokens at each step
    alt_probs: np.ndarray  # (T, K) and their probabilities
    score: float  # sum of log-probabilities
    finished: bool  # ended with the end token (else hit the length cap)


def read_record(rec: np.ndarray, k: int, src_len: int) -> DecodedIds:
    """A greedy hypothesis from its steps' records (T, 2K + S): per step the K most likely
    tokens' probabilities, their ids (as floats) and the attention used (greedy.py
    ``step_record``). The chosen token is the most likely one; the attention is cut to the
    ``src_len`` real source tokens."""
    alt_i = rec[:, k : 2 * k].astype(np.int64)
    ids = alt_i[:, 0].tolist()
    probs = np.ascontiguousarray(rec[:, 0])
    return DecodedIds(
        ids=ids,
        attention=np.ascontiguousarray(rec[:, 2 * k : 2 * k + src_len]),
        token_probs=probs,
        alt_ids=alt_i,
        alt_probs=np.ascontiguousarray(rec[:, :k]),
        score=float(np.log(probs, dtype=np.float64).sum()),
        finished=bool(ids and ids[-1] == EOS),
    )


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[str]  # (T,) generated tokens, "</s>" last when finished
    text: str  # detokenised, without the end token
    attention: np.ndarray  # (T, S)
    token_probs: np.ndarray  # (T,)
    alternatives: list[list[tuple[str, float]]]  # (T, K) (token, probability), best first
    score: float
    finished: bool


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
    scorer: str
    mode: str
    strategy: str  # "greedy" | "beam-K" | "sample"
    truncated_from: int | None = None  # token count of the input before it was cut
    extra: dict = field(default_factory=dict)
    cells: str = "attention"  # what each hypothesis' attention rows hold: "attention" (the weights used) or "posterior"

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

    def to_json(self) -> dict:
        def hyp(h: Hypothesis) -> dict:
            return {
                "target_tokens": h.tokens,
                "translation": h.text,
                "attention": np.asarray(h.attention, dtype=float).round(6).tolist(),
                "token_probs": np.asarray(h.token_probs, dtype=float).round(6).tolist(),
                "score": h.score,
                "finished": h.finished,
            }

        return {
            "source_tokens": self.source_tokens,
            "source_known": self.source_known,
            **hyp(self.best),
            "hypotheses": [hyp(h) for h in self.hypotheses],
            "direction": self.direction,
            "scorer": self.scorer,
            "mode": self.mode,
            "strategy": self.strategy,
            "truncated_from": self.truncated_from,
        }
