"""Hand-built DecodeResults shared by the viz tests (this module holds no tests)."""

from __future__ import annotations

import numpy as np

from models.result import DecodeResult, Hypothesis, Strategy

TRICKY = ["<script>alert(1)</script>", "$x$", "*a*", "_b_", "&amp;", "猫", "😀", "the", "the"]


def make_result(
    source: list[str],
    target: list[str],
    *,
    known: list[bool] | None = None,
    finished: bool | None = None,
    direction: str = "en-zh",
    hypotheses: int = 1,
    seed: int = 0,
) -> DecodeResult:
    """A result over ``source`` (the end token appended) and ``target`` (taken as is) with
    random attention rows that sum to 1; extra hypotheses get different attention."""
    rng = np.random.default_rng(seed)
    src = [*source, "</s>"]
    T, S = len(target), len(src)
    hyps = [
        Hypothesis(
            tokens=list(target),
            text=" ".join(t for t in target if t != "</s>"),
            attention=rng.dirichlet(np.full(S, 0.5), size=T).astype(np.float32),
            token_probs=rng.uniform(0.05, 1.0, T).astype(np.float32),
            alternatives=[[(target[t], 0.6), ("<b>alt</b>", 0.3), ("$", 0.1)] for t in range(T)],
            score=-1.0 - h,
            finished=target[-1:] == ["</s>"] if finished is None else finished,
        )
        for h in range(hypotheses)
    ]
    return DecodeResult(
        source_tokens=src,
        source_known=known + [True] if known is not None else [True] * S,
        hypotheses=hyps,
        direction=direction,
        scorer="additive",
        mode="soft",
        strategy=Strategy(beam=hypotheses),
    )


def edge_cases() -> dict[str, DecodeResult]:
    """Results every figure must draw: one-token output, unfinished, tricky tokens, long input."""
    return {
        "one token": make_result(["hello"], ["</s>"]),
        "unfinished": make_result(["the", "cat"], ["猫", "猫", "猫"], finished=False),
        "tricky": make_result(TRICKY, [*TRICKY, "</s>"], known=[False, True] * 4 + [True], direction="zh-en"),
        "long": make_result([f"w{i}" for i in range(60)], [f"词{i}" for i in range(80)] + ["</s>"], hypotheses=2),
    }
