"""A Translator shared by threads, as app sessions share the bundled models, gives what the same
calls give one after another.

Decoding sets state on the shared model (a hard model's ``hard_inference``) and seeds torch's
global generator for sampled attention; ``Translator`` holds a lock per call so that sessions
translating at once cannot change each other's mode or draw from each other's random stream.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bench.tiny import EN, make_translator
from models.result import DecodeResult

THREADS = 4
ROUNDS = 4
# (text, beam, hard_inference, seed): sampled attention with fixed seeds, interleaved with argmax.
CALLS = [
    call
    for n, text in enumerate(EN)
    for call in [(text, 1, "sample", n), (text, 1, "argmax", None), (text, 3, "sample", 10 + n), (text, 3, "argmax", None)]
]


def outcome(result: DecodeResult) -> list[tuple]:
    """Everything a decoding chose and computed, comparable exactly."""
    return [(h.tokens, h.attention.tolist(), h.token_probs.tolist(), h.score) for h in result.hypotheses]


@contextmanager
def frequent_thread_switches() -> Iterator[None]:
    """Let the interpreter switch threads every few microseconds (not every 5 ms), so that
    unguarded calls would interleave within a sentence, not only between sentences."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_threads_sharing_a_hard_attention_translator_get_the_serial_results():
    translator = make_translator("additive", "hard", seed=1)
    expected = [outcome(translator.translate(*call)) for call in CALLS]
    # Modes and seeds change what this model gives, so a call decoded in another call's mode or
    # with its random numbers would show.
    assert any(expected[i] != expected[i + 1] for i in range(0, len(CALLS), 2))
    assert len({str(outcome(translator.translate(EN[1], 1, "sample", seed))) for seed in range(4)}) > 1

    start = threading.Barrier(THREADS)
    got: list[list[tuple[int, list[tuple]]]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            start.wait()
            for r in range(ROUNDS):
                for i in range(len(CALLS)):
                    n = (i + k * 5 + r) % len(CALLS)  # each thread and round in another order
                    got[k].append((n, outcome(translator.translate(*CALLS[n]))))
        except BaseException as exc:  # reported below; a thread's exception would be lost
            errors.append(exc)

    with frequent_thread_switches():
        threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert sum(map(len, got)) == THREADS * ROUNDS * len(CALLS)
    wrong = [(CALLS[n], k) for k, results in enumerate(got) for n, result in results if result != expected[n]]
    assert wrong == [], f"{len(wrong)} of {THREADS * ROUNDS * len(CALLS)} calls differ from the serial results, e.g. {wrong[:3]}"
