"""Corpus evaluation: BLEU, chrF, attention read as alignment, attention statistics, speed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import sacrebleu

from .aligner import best_method, stored_scores
from .alignments import AlignmentScore, Links, Reference, attention_links, bootstrap_interval, diagonal_links, paired_bootstrap
from .data import Pair
from .result import attention_stats
from .search import COVERAGE_BETA, LENGTH_ALPHA


def bleu_chrf(hyps: list[str], refs: list[str], tgt_lang: str) -> tuple[float, float]:
    """Corpus BLEU (sacrebleu; tokenize='zh' for Chinese, '13a' otherwise) and chrF."""
    if not hyps:
        return 0.0, 0.0
    tok = "zh" if tgt_lang.startswith("zh") else "13a"
    return sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def evaluate(
    translator,
    pairs: list[Pair],
    references: dict[str, Reference] | None = None,
    beam: int = 1,
    progress: Callable[[int, int], None] | None = None,
    also_beam: int | None = None,
    gloss: dict[str, Links] | None = None,
    length_alpha: float | None = None,
    coverage_beta: float | None = None,
) -> dict:
    """Evaluate on ``pairs``; alignment metrics need ``references`` (pair id -> sure/possible
    links: the HSK gold).

    Translations are made one sentence at a time (timed: ``ms_per_sentence``). Attention
    metrics read the model's attention when fed the reference translation (teacher forcing):
    ``aer`` is the AER of the family's alignment reading (each target token to its argmax
    source token), ``aer_shift`` reads it one decoder step later (Shift-Att), ``aer_posterior``
    the alignment posterior (families that have one), each with its 95% bootstrap interval
    (``_low``, ``_high``); ``diagonal_aer`` the diagonal guess and, given ``gloss`` links, the
    gloss rule's AER (``gloss_aer``). With stored eflomal links, ``eflomal_aer`` is its best
    symmetrisation (``eflomal_method``) and ``best_vs_eflomal`` the best model reading's AER
    minus eflomal's with the 95% interval of a paired bootstrap over sentences. ``also_beam``
    = k adds ``bleu_beamk`` and ``chrf_beamk`` from beam search with k beams. Beam search ranks by
    ``length_alpha`` and ``coverage_beta`` (models.search; None: the model's own ranking); they are
    recorded when not the defaults.
    """
    alpha, beta = translator.ranking_for(max(beam, also_beam or 1), length_alpha, coverage_beta)
    ranking = {"length_alpha": alpha, "coverage_beta": beta}
    hyps, times = [], []
    for n, p in enumerate(pairs):
        t0 = time.perf_counter()
        hyps.append(translator.translate(p.src, beam=beam, **ranking).translation)
        times.append(time.perf_counter() - t0)
        if progress:
            progress(n + 1, len(pairs))
    bleu, chrf = bleu_chrf(hyps, [p.tgt for p in pairs], translator.tgt_lang)
    out: dict = {
        "sentences": len(pairs),
        "bleu": round(bleu, 2),
        "chrf": round(chrf, 2),
        "ms_per_sentence": round(1000 * statistics.mean(times), 2) if times else 0.0,
        "beam": beam,
    }
    if (alpha, beta) != (LENGTH_ALPHA, COVERAGE_BETA):
        out |= ranking
    if also_beam:
        beamed = [translator.translate(p.src, beam=also_beam, **ranking).translation for p in pairs]
        b, c = bleu_chrf(beamed, [p.tgt for p in pairs], translator.tgt_lang)
        out |= {f"bleu_beam{also_beam}": round(b, 2), f"chrf_beam{also_beam}": round(c, 2)}
    scores = {k: AlignmentScore() for k in ("attn", "shift", "posterior", "diagonal", "gloss")}
    stats = []
    for p in pairs:
        src, _ = translator.source_tokens(p.src)
        tgt = translator.tgt_tokenizer.tokenize(p.tgt)
        forced = translator.force(src, tgt)
        attn = forced.attention  # (T + 1, S)
        stats.append(attention_stats(attn))
        if references is None or p.id not in references:
            continue
        ref = references[p.id]
        scores["attn"].add(attention_links(attn, src[:-1], tgt), ref, p.id)
        scores["shift"].add(attention_links(attn, src[:-1], tgt, shift=1), ref, p.id)
        if "posterior" in forced.best.maps:
            scores["posterior"].add(attention_links(forced.best.maps["posterior"].matrix(0, 0), src[:-1], tgt), ref, p.id)
        scores["diagonal"].add(diagonal_links(src[:-1], tgt), ref, p.id)
        if gloss is not None and p.id in gloss:
            scores["gloss"].add(gloss[p.id], ref, p.id)
    for key in ("entropy", "final_token_share", "eos_share"):
        out[key] = round(statistics.mean(s[key] for s in stats), 4) if stats else 0.0
    if not scores["attn"].sentences:
        return out
    a = scores["attn"]
    out |= {"precision": round(a.precision, 4), "recall": round(a.recall, 4), "reference_links": a.reference}
    names = {"attn": "aer", "shift": "aer_shift", "posterior": "aer_posterior", "diagonal": "diagonal_aer", "gloss": "gloss_aer"}
    for key, name in names.items():
        if scores[key].sentences:
            low, high = bootstrap_interval(scores[key])
            out |= {name: round(scores[key].aer, 4), f"{name}_low": round(low, 4), f"{name}_high": round(high, 4)}
    eflomal = stored_scores(pairs, references, translator.direction)
    if eflomal:
        method = best_method(eflomal)
        low, high = bootstrap_interval(eflomal[method])
        out |= {"eflomal_aer": round(eflomal[method].aer, 4), "eflomal_aer_low": round(low, 4), "eflomal_aer_high": round(high, 4), "eflomal_method": method}
        best = min(("attn", "shift", "posterior"), key=lambda k: scores[k].aer if scores[k].sentences else 2.0)
        vs = paired_bootstrap(scores[best], eflomal[method])
        out |= {
            "best_reading": names[best],
            "best_vs_eflomal": round(vs["diff"], 4),
            "best_vs_eflomal_low": round(vs["low"], 4),
            "best_vs_eflomal_high": round(vs["high"], 4),
        }
    return out
