"""Reference alignments, AER arithmetic and the symmetrisation heuristics, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from models.aligner import score_links, summary, symmetrise
from models.alignments import (
    AlignmentScore,
    Reference,
    attention_links,
    bidirectional_links,
    bootstrap_interval,
    ensemble_links,
    flip,
    paired_bootstrap,
    read_pharaoh,
    reference_links,
    write_pharaoh,
)

HE = "(third-person singular) (since the early 20th century, usu. male) he; him; his; (bound form) other; another; some other (as in 他日[ta1 ri4] and 他人[ta1 ren2])"


def test_reference_rule_links_inflected_words_and_pronoun_case_forms_but_not_stop_words():
    # HSK hsk5-0751: I(0) called(1) to(2) congratulate(3) him(4) .(5) / 我 打 电 话 祝 贺 他 。
    words = (("我", "I; me; my"), ("打电话", "to make a telephone call"), ("祝贺", "to congratulate; congratulations"), ("他", HE))
    links = reference_links("I called to congratulate him.", "我打电话祝贺他。", words)
    assert links == {(0, 0), (1, 1), (1, 2), (1, 3), (3, 4), (3, 5), (4, 6)}


def test_reference_rule_ignores_gloss_notes_and_links_plural_pronouns_to_every_character():
    # HSK hsk3-0110: We(0) must(1) build(2) a(3) good(4) foundation(5) .(6) / 我 们 要 打 好 基 础 。
    words = (
        ("我们", "we; us; ourselves; our"),
        ("要", "(bound form) to demand; to coerce"),
        ("打", "(loanword) dozen; Taiwan pr. [da3]"),
        ("好", "good; appropriate; proper"),
        ("基础", "base; foundation; basis; basic; fundamental"),
    )
    links = reference_links("We must build a good foundation.", "我们要打好基础。", words)
    assert links == {(0, 0), (0, 1), (4, 4), (5, 5), (5, 6)}


def test_alignment_score_sums_counts_over_sentences():
    score = AlignmentScore()
    score.add({(0, 0), (1, 1), (2, 2), (3, 0)}, {(0, 0), (1, 1), (2, 3)})
    assert (score.precision, score.recall, score.aer) == pytest.approx((2 / 4, 2 / 3, 1 - 4 / 7))
    score.add(set(), {(0, 1)})
    assert list(score.counts) == [2, 2, 4, 4]  # A∩S, A∩P, A, S
    assert (score.precision, score.recall, score.aer) == pytest.approx((0.5, 0.5, 0.5))


def test_paired_bootstrap_gives_the_aer_difference_and_an_interval_around_it():
    good, bad = AlignmentScore(), AlignmentScore()
    for n in range(40):
        ref = {(0, 0), (1, 1)}
        good.add(ref if n % 4 else {(0, 0), (0, 1)}, ref, f"s{n}")  # one sentence in four half wrong
        bad.add({(0, 0), (0, 1)} if n % 4 else ref, ref, f"s{n}")  # three in four half wrong
    good.add({(5, 5)}, {(5, 5)})  # a sentence without a key is not resampled
    result = paired_bootstrap(good, bad)
    assert result["diff"] == pytest.approx(0.125 - 0.375)  # AERs of the keyed sentences: 10/80 and 30/80
    assert result["low"] < result["diff"] < result["high"] < 0
    assert result["a_better"] > 0.99
    assert paired_bootstrap(good, good)["diff"] == 0.0
    with pytest.raises(ValueError, match="share no sentence"):
        paired_bootstrap(good, AlignmentScore())


def test_aer_with_sure_and_possible_links_matches_a_hand_count():
    # S = {(0,0), (1,1)}, P = S + {(2,1), (3,3)}; A = {(0,0), (2,1), (3,2)}
    ref = Reference(frozenset({(0, 0), (1, 1)}), frozenset({(0, 0), (1, 1), (2, 1), (3, 3)}))
    score = AlignmentScore()
    score.add({(0, 0), (2, 1), (3, 2)}, ref)
    # |A∩S| = 1, |A∩P| = 2, |A| = 3, |S| = 2: AER = 1 - 3/5, precision 2/3, recall 1/2
    assert score.aer == pytest.approx(0.4)
    assert (score.precision, score.recall) == (pytest.approx(2 / 3), 0.5)
    perfect = AlignmentScore()
    perfect.add({(0, 0), (1, 1), (3, 3)}, ref)  # possible links cost nothing, sure ones all found
    assert perfect.aer == 0.0
    plain = AlignmentScore()
    plain.add({(0, 0), (2, 1)}, {(0, 0), (1, 1)})  # plain links: S = P
    assert plain.aer == pytest.approx(1 - 2 / 4)
    assert summary(score_links([{(0, 0), (2, 1), (3, 2)}], [ref])) == {"precision": 0.6667, "recall": 0.5, "aer": 0.4}


def test_bootstrap_interval_brackets_the_aer():
    score = AlignmentScore()
    for n in range(30):
        score.add({(0, 0)} if n % 3 else {(0, 1)}, {(0, 0)}, f"s{n}")
    low, high = bootstrap_interval(score)
    assert low <= score.aer <= high and high - low > 0


def test_bootstrap_intervals_are_those_of_summing_the_drawn_sentences():
    """The counts-of-draws shortcut gives the numbers of the plain resampling: the same seed's
    draws, each draw's sentences summed."""
    rng = np.random.default_rng(5)
    a, b = AlignmentScore(), AlignmentScore()
    for n in range(40):
        ref = {(i, i) for i in range(int(rng.integers(1, 6)))}
        a.add({(i, int(rng.integers(0, 3)) + i) for i in range(len(ref))}, ref, f"s{n}")
        b.add({(i, i) for i in range(int(rng.integers(0, 6)))}, ref, f"s{n}")

    def plain(*scores: AlignmentScore, keys: list[str], samples: int = 300) -> list[np.ndarray]:
        draws = np.random.default_rng(0).integers(0, 40, size=(samples, 40))
        return [np.array([s.sentences[k] for k in keys])[draws].sum(axis=1) for s in scores]

    def aer(c: np.ndarray) -> np.ndarray:
        return 1 - (c[:, 0] + c[:, 1]) / (c[:, 2] + c[:, 3])

    [ca] = plain(a, keys=list(a.sentences))  # in the order they were added
    assert bootstrap_interval(a, samples=300) == tuple(np.percentile(aer(ca), [2.5, 97.5]))
    ca, cb = plain(a, b, keys=sorted(a.sentences))  # a paired bootstrap draws from the shared keys, sorted
    diff = aer(ca) - aer(cb)
    result = paired_bootstrap(a, b, samples=300)
    assert (result["low"], result["high"]) == tuple(np.percentile(diff, [2.5, 97.5])) and result["a_better"] == (diff < 0).mean()


def test_attention_links_read_every_token_and_never_the_end_column():
    attention = np.array([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.2, 0.6, 0.2]])  # source a . </s>
    assert attention_links(attention, ["a", "."], ["x", "。", "y"]) == {(0, 0), (1, 2)}
    assert attention_links(attention, ["a", "."], ["x", "。"], shift=1) == {(1, 1)}


def test_pharaoh_files_round_trip_with_empty_lines(tmp_path):
    sentences = [{(0, 1), (2, 0)}, set(), {(10, 12)}]
    write_pharaoh(tmp_path / "a.en-zh", sentences)
    assert (tmp_path / "a.en-zh").read_text() == "0-1 2-0\n\n10-12\n"
    assert read_pharaoh(tmp_path / "a.en-zh") == sentences


def test_read_pharaoh_names_the_bad_line(tmp_path):
    (tmp_path / "bad").write_text("0-1\n0:1\n")
    with pytest.raises(ValueError, match="bad:2"):
        read_pharaoh(tmp_path / "bad")


def test_flip_swaps_source_and_target():
    assert flip({(0, 3), (2, 1)}) == {(3, 0), (1, 2)}


# Hand example: forward links each target to one source, reverse each source to one target.
# Intersection {(0,0), (2,2)}; (1,1) is a diagonal neighbour with both words free; (2,1) is a
# neighbour whose two words end up aligned; (4,5) is isolated with both words free; (5,5) is
# isolated with its target already aligned by (4,5).
FWD = {(0, 0), (2, 2), (2, 1), (4, 5)}
REV = {(0, 0), (2, 2), (1, 1), (5, 5)}


@pytest.mark.parametrize(
    "method, expected",
    [
        ("intersect", {(0, 0), (2, 2)}),
        ("grow-diag", {(0, 0), (2, 2), (1, 1)}),
        ("gdfa", {(0, 0), (2, 2), (1, 1), (4, 5)}),
        ("gdf", {(0, 0), (2, 2), (1, 1), (4, 5), (5, 5)}),
        ("union", {(0, 0), (2, 2), (1, 1), (4, 5), (5, 5), (2, 1)}),
    ],
)
def test_symmetrisation_heuristics_on_a_hand_example(method, expected):
    assert symmetrise(FWD, REV, method) == expected


def test_grow_diag_keeps_growing_from_points_it_added():
    # A diagonal chain: only (0,0) is in both directions; each next point touches the last one.
    fwd = {(0, 0), (1, 1), (3, 3)}
    rev = {(0, 0), (2, 2)}
    assert symmetrise(fwd, rev, "grow-diag") == {(0, 0), (1, 1), (2, 2), (3, 3)}


def test_symmetrise_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="unknown symmetrisation"):
        symmetrise(FWD, REV, "grow-diag-final-or")


def test_ensemble_links_read_the_mean_and_drop_weak_links():
    a = np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])  # rows: target tokens; last column: </s>
    b = np.array([[0.7, 0.3, 0.0], [0.6, 0.1, 0.3], [0.0, 0.0, 1.0]])
    src, tgt = ["I", "you"], ["我", "你", "。"]
    # mean rows: [.8 .2 0] -> I; [.4 .3 .3] -> I; [0 0 1] -> </s>, no link
    assert ensemble_links([a, b], src, tgt) == {(0, 0), (0, 1)}
    assert ensemble_links([a, b], src, tgt, min_weight=0.5) == {(0, 0)}
    assert ensemble_links([a], src, tgt) == attention_links(a, src, tgt)
    assert ensemble_links([a, b], src, tgt[:2], shift=1) == {(0, 0)}  # row j + 1 read for token j


def test_bidirectional_links_average_both_directions_and_may_link_a_word_twice():
    src, tgt = ["I", "you"], ["我", "你", "们"]
    fwd = np.array([[0.8, 0.2, 0.0], [0.1, 0.6, 0.3], [0.5, 0.4, 0.1], [0.0, 0.0, 1.0]])  # (T+1, S+1): P(source | target)
    bwd = np.array([[0.9, 0.0, 0.1, 0.0], [0.0, 0.5, 0.4, 0.1], [0.0, 0.0, 0.0, 1.0]])  # (S+1, T+1): P(target | source)
    # two-way means (source rows): I [.85 .05 .30], you [.10 .55 .40]
    assert bidirectional_links([fwd], [bwd], len(src), len(tgt), 0.35) == {(0, 0), (1, 1), (1, 2)}
    assert bidirectional_links([fwd], [bwd], len(src), len(tgt), 0.3) == {(0, 0), (1, 1), (1, 2), (0, 2)}
    assert bidirectional_links([fwd, fwd], [bwd], len(src), len(tgt), 0.5) == {(0, 0), (1, 1)}
    with pytest.raises(ValueError, match="above 0"):
        bidirectional_links([fwd], [bwd], len(src), len(tgt), 0.0)
    with pytest.raises(ValueError, match="do not cover"):
        bidirectional_links([fwd], [bwd[:1]], len(src), len(tgt))
