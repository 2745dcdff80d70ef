"""The one search loop: beam search over the step protocol, for every family and device.

Greedy decoding is beam search with one beam. B sentences are searched together: the rows of
a step are each live sentence's beams (one row per sentence at the first step, k after), and a
sentence leaves the batch once it is done, so later steps compute nothing for it. Each step
keeps its small records on the model's device; the host reads them once, at the end, and
follows the back-pointers. Per step, of the best 2k extensions of a sentence's live beams, an
end token among the best k finishes a hypothesis and the best k others stay live; a sentence
is done when k hypotheses have finished, or at its length cap (its live beams then end
unfinished). Hypotheses are ranked by score / length ** length_alpha (LENGTH_ALPHA by
default), plus, with ``coverage_beta`` > 0, the coverage penalty of Wu et al. (2016):
beta * sum_i log(min(sum_t a_ti, 1)) over the sentence's real source positions i, where a_t is
the family's alignment reading of step t's cross-attention (``Family.alignment_of``). It
lowers hypotheses that leave source words unattended (dropped words). As in GNMT it ranks the
ended hypotheses; it does not prune beams, so greedy decoding is unchanged by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .nets.base import ARGMAX, DECODER_SELF, MAP_KINDS, Encoded, Family, Pick, select_rows
from .result import ALTERNATIVES, DecodedIds
from .vocab import BOS, EOS

LENGTH_ALPHA = 0.6  # final ranking by score / length ** alpha
COVERAGE_BETA = 0.0  # weight of the coverage penalty in the final ranking (0: off)
COVERAGE_FLOOR = 1e-6  # coverage is floored here before the log (hard attention has exact zeros)


@dataclass
class _StepRecord:
    """One step of the search for its nb live sentences (w rows each, m candidates each)."""

    sentences: np.ndarray  # (nb,) the sentences' indices in the batch, in row-block order
    width: int  # w, rows per sentence
    tokens: torch.Tensor  # (nb, m) each candidate's token
    beams: torch.Tensor  # (nb, m) each candidate's row within its sentence's block
    probs: torch.Tensor  # (nb, m) each candidate's token probability
    scores: torch.Tensor  # (nb, m) each candidate's score (sum of log-probabilities)
    finish: torch.Tensor  # (nb, m) the candidates that finish a hypothesis
    kept: torch.Tensor  # (nb, k') the candidates that are the next step's rows, in order
    alt_ids: torch.Tensor  # (nb * w, K) each row's most likely next tokens
    alt_probs: torch.Tensor  # (nb * w, K) and their probabilities
    maps: dict[str, torch.Tensor]  # name -> (nb * w, L, H, K') each row's attention
    coverage: torch.Tensor | None  # (nb, m) each candidate's coverage penalty (without beta), or None when off


def rank_score(score: float, length: int, beam: int, length_alpha: float = LENGTH_ALPHA, coverage: float = 0.0, coverage_beta: float = 0.0) -> float:
    """What hypotheses are ranked by: the sum of log-probabilities divided by length ** alpha
    plus beta times the coverage penalty (beam search), or the sum itself (greedy, where there
    is nothing to rank)."""
    if beam == 1:
        return score
    return score / max(length, 1) ** length_alpha + (coverage_beta * coverage if coverage_beta else 0.0)


def ranking_text(length_alpha: float, coverage_beta: float) -> str:
    """``rank_score`` of a beam search with this ranking, in words (``ranking_text(**translator.ranking)``)."""
    coverage = f" + {coverage_beta:g} × coverage penalty" if coverage_beta else ""
    return f"log-prob / tokens^{length_alpha:g}{coverage}"


def coverage_penalty(coverage: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Wu et al. (2016) without beta: sum_i log(min(c_i, 1)) over the real source positions.
    coverage, mask (..., S) -> (...); 0 when every source word has had attention 1 in all."""
    c = coverage.clamp(COVERAGE_FLOOR, 1.0).log()
    return torch.where(mask, c, torch.zeros_like(c)).sum(-1)


@torch.inference_mode()
def search(
    model: Family,
    enc: Encoded,
    max_lens: list[int],
    beam: int = 1,
    pick: Pick = ARGMAX,
    details: bool = True,
    length_alpha: float = LENGTH_ALPHA,
    coverage_beta: float = COVERAGE_BETA,
) -> list[list[DecodedIds]]:
    """Decode the B sentences of ``enc``; sentence b stops after at most max_lens[b] tokens.
    Beam hypotheses are ranked by score / T ** ``length_alpha`` + ``coverage_beta`` times the
    coverage penalty (module docstring).

    Returns, per sentence, its hypotheses best first (one for greedy). Every hypothesis has
    its steps' attention maps (name -> (L, H, T, K), cross maps cut to the sentence's real
    source tokens) and most likely tokens, unless ``details`` is False (plain batch
    translation: no maps, no alternatives, and greedy takes each row's best token by max, not
    a top-k).
    """
    k = beam
    B = enc.mask.size(0)
    device = enc.mask.device
    caps = torch.tensor(max_lens, device=device)
    sentences = np.arange(B)  # the live sentences, in row-block order
    y = torch.full((B,), BOS, dtype=torch.long, device=device)  # (n,) each row's previous token
    scores = torch.zeros(B, 1, device=device)  # (nb, w) each row's score
    state, rows_enc = model.start(enc), enc
    track = coverage_beta > 0 and k > 1
    cov = torch.zeros(enc.mask.shape, device=device) if track else None  # (n, S) each row's attention so far
    finished = torch.zeros(B, dtype=torch.long, device=device)  # (nb,) hypotheses finished so far
    records: list[_StepRecord] = []
    unfinished: list[tuple[int, int, int, float]] = []  # (sentence, step, candidate, score) ended by the cap
    for t in range(max(max_lens)):
        nb, w = scores.shape
        out = model.step(y, state, rows_enc, pick)
        logp = torch.log_softmax(out.logits.float(), dim=-1)  # (n, V)
        V = logp.size(1)
        m = 1 if k == 1 else min(2 * k, w * V)  # greedy: the best token ends the sentence or goes on
        K = min(ALTERNATIVES, V) if details else 0
        if w == 1 and K == 0 and m == 1:
            alt_lp, alt_i = logp.max(dim=-1, keepdim=True)  # (n, 1)
        else:
            alt_lp, alt_i = logp.topk(max(K, m) if w == 1 else K, dim=-1)  # (n, K')
        alt_p = alt_lp[:, :K].exp() if w > 1 else alt_lp.exp()  # (n, K') the best tokens' probabilities (one row each: the candidates' too)
        if w == 1:  # one row per sentence: its best candidates are the row's best tokens
            cand_lp, ctok, cand_p = alt_lp[:, :m], alt_i[:, :m], alt_p[:, :m]
            cand_s, cbeam = scores + cand_lp, torch.zeros_like(ctok)
        else:
            cand_s, cand = (scores.unsqueeze(-1) + logp.view(nb, w, V)).view(nb, w * V).topk(m, dim=-1)  # (nb, m)
            cbeam, ctok = cand // V, cand % V
            cand_lp = logp.view(nb, w * V).gather(1, cand)
            cand_p = cand_lp.exp()
        cand_cov = None
        if track:
            step_a = model.alignment_of({name: v.float().unsqueeze(-2) for name, v in out.maps.items()})[:, 0]  # (n, S)
            cov = cov + step_a
            row_pen = coverage_penalty(cov, rows_enc.mask).view(nb, w)  # (nb, w)
            cand_cov = row_pen.gather(1, cbeam)  # (nb, m)
        if k == 1:  # nothing to rank: the one candidate finishes or is kept
            finish, order, kept_s = ctok == EOS, cbeam, cand_s  # (nb, 1) each; order: the one candidate (0)
        else:
            real = torch.isfinite(cand_s)
            eos = (ctok == EOS) & real
            rank = torch.arange(m, device=device)
            finish = eos & (rank < k)  # (nb, m)
            go_on = real & ~eos
            order = torch.where(go_on, rank, m + rank).argsort(dim=1)[:, :k]  # (nb, k') the best k that go on
            kept_s = torch.where(go_on.gather(1, order), cand_s.gather(1, order), float("-inf"))  # (nb, k')
        records.append(
            _StepRecord(
                sentences, w, ctok, cbeam, cand_p, cand_s, finish, order, alt_i[:, :K], alt_p[:, :K],
                {name: v.float() for name, v in out.maps.items()} if details else {},
                cand_cov,
            )
        )
        finished += finish.sum(1)
        full = finished >= k
        done = full | (caps <= t + 1)  # (nb,)
        if k > 1:
            done |= ~torch.isfinite(kept_s).any(1)  # no candidate left to go on
        n_done = int(done.sum())  # the step's one read on the host
        if n_done:
            capped = (done & ~full).cpu().numpy()
            if capped.any():  # at the length cap: the live beams end unfinished
                kh, sh = order.cpu().numpy(), kept_s.cpu().numpy()
                unfinished += [
                    (int(sentences[pos]), t, int(kh[pos, j]), float(sh[pos, j]))
                    for pos in np.flatnonzero(capped)
                    for j in range(kh.shape[1])
                    if np.isfinite(sh[pos, j])
                ]
        if n_done == nb:
            break
        next_y = ctok if k == 1 else ctok.gather(1, order)  # (nb, k') each next row's token
        if k == 1 and not n_done:  # greedy, every sentence goes on: each keeps its one row
            y, scores, state = next_y.flatten(), kept_s, out.state
            continue
        w_next = order.size(1)
        row = (torch.arange(nb, device=device) * w).unsqueeze(1) + cbeam.gather(1, order)  # (nb, k') rows of this step
        if n_done:
            live = ~done
            row, y, scores = row[live].flatten(), next_y[live].flatten(), kept_s[live]
            live_host = live.cpu().numpy()
            sentences, caps, finished = sentences[live_host], caps[live], finished[live]
        else:
            row, y, scores = row.flatten(), next_y.flatten(), kept_s
        if n_done or w_next != w:
            rows_enc = select_rows(rows_enc, row)
        if track:
            cov = cov[row]
        state = select_rows(out.state, row)
    return _hypotheses(records, unfinished, enc.mask.sum(1).tolist(), k, length_alpha, coverage_beta if track else 0.0)


def _hypotheses(
    records: list[_StepRecord], unfinished: list[tuple[int, int, int, float]], src_lens: list[int], k: int, length_alpha: float, coverage_beta: float
) -> list[list[DecodedIds]]:
    """Every sentence's ended hypotheses, best first, read from the records on the host."""
    host = [_host(r) for r in records]
    ends: list[list[tuple[int, int, float, bool]]] = [[] for _ in src_lens]  # (step, candidate, score, finished)
    for t, h in enumerate(host):
        for pos, r in zip(*np.nonzero(h["finish"])):
            ends[int(h["sentences"][pos])].append((t, int(r), float(h["scores"][pos, r]), True))
    for b, t, r, score in unfinished:
        ends[b].append((t, r, score, False))
    out = []
    for b, sentence_ends in enumerate(ends):
        hyps = [_follow(host, b, t, r, score, fin, src_lens[b], k, length_alpha, coverage_beta) for t, r, score, fin in sentence_ends]
        hyps.sort(key=lambda h: h.rank_score, reverse=True)
        out.append(hyps[:k])
    return out


def _host(r: _StepRecord) -> dict:
    """A step record as NumPy arrays, with each sentence's position in it."""
    arrays = {f: getattr(r, f).cpu().numpy() for f in ("tokens", "beams", "probs", "scores", "finish", "kept", "alt_ids", "alt_probs")}
    return arrays | {
        "coverage": None if r.coverage is None else r.coverage.cpu().numpy(),
        "sentences": r.sentences,
        "pos": {int(b): i for i, b in enumerate(r.sentences)},
        "w": r.width,
        "maps": {name: v.cpu().numpy() for name, v in r.maps.items()},
    }


def _follow(
    host: list[dict], b: int, t: int, r: int, score: float, finished: bool, src_len: int, k: int, length_alpha: float, coverage_beta: float
) -> DecodedIds:
    """The hypothesis that candidate r of sentence b at step t ends: back-pointers to step 0."""
    cov = host[t]["coverage"]
    coverage = float(cov[host[t]["pos"][b], r]) if cov is not None else 0.0
    path = []  # (step record, row, sentence position, candidate), last first
    for i in range(t, -1, -1):
        h = host[i]
        pos = h["pos"][b]
        beam_row = int(h["beams"][pos, r])
        path.append((h, pos * h["w"] + beam_row, pos, r))
        if i:
            prev = host[i - 1]
            r = int(prev["kept"][prev["pos"][b], beam_row])
    path.reverse()
    ids = [int(h["tokens"][pos, c]) for h, _, pos, c in path]
    T = len(ids)
    maps = {}
    for name in path[0][0]["maps"]:
        rows = [h["maps"][name][row] for h, row, _, _ in path]  # T of (L, H, K')
        if MAP_KINDS[name] == DECODER_SELF:  # query t sees keys 0..t: pad to T keys
            rows = [np.pad(x, ((0, 0), (0, 0), (0, T - x.shape[-1]))) for x in rows]
        else:
            rows = [x[..., :src_len] for x in rows]
        maps[name] = np.ascontiguousarray(np.stack(rows, axis=2))  # (L, H, T, K)
    return DecodedIds(
        ids=ids,
        maps=maps,
        token_probs=np.array([h["probs"][pos, c] for h, _, pos, c in path], dtype=np.float32),
        alt_ids=np.stack([h["alt_ids"][row] for h, row, _, _ in path]).astype(np.int64),
        alt_probs=np.stack([h["alt_probs"][row] for h, row, _, _ in path]),
        score=score,
        finished=finished,
        rank_score=rank_score(score, T, k, length_alpha, coverage, coverage_beta),
    )
