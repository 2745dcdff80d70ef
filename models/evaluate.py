"""Corpus evaluation: BLEU, chrF, attention read as alignment, attention statistics, speed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import sacrebleu

from .aligner import best_method, stored_scores
from .alignments import AlignmentScore, Links, attention_links, diagonal_links, paired_bootstrap, restrict
from .data import Pair


def bleu_chrf(hyps: list[str], refs: list[str], tgt_lang: str) -> tuple[float, float]:
    """Corpus BLEU (sacrebleu; tokenize='zh' for Chinese, '13a' otherwise) and chrF."""
    if not hyps:
        return 0.0, 0.0
    tok = "zh" if tgt_lang.startswith("zh") else "13a"
    return sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def attention_stats(attention: np.ndarray) -> dict[str, float]:
    """attention (T, S) with "</s>" as the last source token: mean row entropy (nats), mean
    weight on the final real source token and on the source end token."""
    p = np.clip(attention, 1e-12, 1.0)
    entropy = float(-(attention * np.log(p)).sum(-1).mean())
    final = float(attention[:, -2].mean()) if attention.shape[1] >= 2 else 0.0
    return {"entropy": entropy, "final_token_share": final, "eos_share": float(attention[:, -1].mean())}


def evaluate(
    translator,
    pairs: list[Pair],
    references: dict[str, Links] | None = None,
    beam: int = 1,
    progress: Callable[[int, int], None] | None = None,
    also_beam: int | None = None,
) -> dict:
    """Evaluate on ``pairs``; alignment metrics need ``references`` (pair id -> links).

    Translations are made one sentence at a time (timed: ``ms_per_sentence``). Attention
    metrics use the model's attention when fed the reference translation (teacher forcing);
    ``aer`` counts only target words that have a reference link, ``aer_all`` every word,
    ``aer_next`` reads each word's alignment from the next decoder step, ``aer_posterior`` from the
    alignment posterior given the word (``Family.posterior``, where the family has one). With HSK references,
    ``eflomal_aer``/``eflomal_aer_all`` score the stored eflomal links of the same pairs
    (best symmetrisation, named in ``eflomal_method``), and ``posterior_vs_eflomal`` is the
    posterior's AER minus eflomal's with the 95% interval of a paired bootstrap over sentences
    (``_low``, ``_high``). ``also_beam`` = k adds ``bleu_beamk``
    and ``chrf_beamk`` from beam search with k beams.
    """
    hyps, times = [], []
    for n, p in enumerate(pairs):
        t0 = time.perf_counter()
        hyps.append(translator.translate(p.src, beam=beam).translation)
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
    if also_beam:
        beamed = [translator.translate(p.src, beam=also_beam).translation for p in pairs]
        b, c = bleu_chrf(beamed, [p.tgt for p in pairs], translator.tgt_lang)
        out |= {f"bleu_beam{also_beam}": round(b, 2), f"chrf_beam{also_beam}": round(c, 2)}
    scores = {k: AlignmentScore() for k in ("attn", "attn_all", "attn_next", "posterior", "diag", "diag_all")}
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
        links = attention_links(attn, src[:-1], tgt)
        diag = diagonal_links(src[:-1], tgt)
        scores["attn"].add(restrict(links, ref), ref)
        scores["attn_all"].add(links, ref)
        scores["attn_next"].add(restrict(attention_links(attn, src[:-1], tgt, shift=1), ref), ref)
        if "posterior" in forced.best.maps:
            posterior = forced.best.maps["posterior"].matrix(0, 0)  # (T + 1, S)
            scores["posterior"].add(restrict(attention_links(posterior, src[:-1], tgt), ref), ref, p.id)
        scores["diag"].add(restrict(diag, ref), ref)
        scores["diag_all"].add(diag, ref)
    for key in ("entropy", "final_token_share", "eos_share"):
        out[key] = round(statistics.mean(s[key] for s in stats), 4) if stats else 0.0
    if scores["attn"].reference:
        a = scores["attn"]
        out |= {"precision": round(a.precision, 4), "recall": round(a.recall, 4), "aer": round(a.aer, 4)}
        out["aer_all"] = round(scores["attn_all"].aer, 4)
        out["aer_next"] = round(scores["attn_next"].aer, 4)
        if scores["posterior"].reference:
            out["aer_posterior"] = round(scores["posterior"].aer, 4)
        d = scores["diag"]
        out |= {"diagonal_precision": round(d.precision, 4), "diagonal_recall": round(d.recall, 4), "diagonal_aer": round(d.aer, 4)}
        out["diagonal_aer_all"] = round(scores["diag_all"].aer, 4)
        out["reference_links"] = a.reference
        eflomal = stored_scores(pairs, references, translator.direction)
        if eflomal and scores["posterior"].reference:
            best = best_method(eflomal)
            vs = paired_bootstrap(scores["posterior"], eflomal[best][0])
            out |= {
                "eflomal_aer": round(eflomal[best][0].aer, 4),
                "eflomal_aer_all": round(eflomal[best][1].aer, 4),
                "eflomal_method": best,
                "posterior_vs_eflomal": round(vs["diff"], 4),
                "posterior_vs_eflomal_low": round(vs["low"], 4),
                "posterior_vs_eflomal_high": round(vs["high"], 4),
            }
    return out
