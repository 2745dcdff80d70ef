"""A statistical word aligner to compare attention with: eflomal, symmetrised, as Pharaoh files.

``python -m models align`` aligns the whole HSK corpus (all splits together: eflomal is
unsupervised, so more text gives better links and nothing is learnt from the references) in
the project's token space (``Tokenizer().tokenize``: English words and punctuation, Chinese
characters), in both directions, then symmetrises. Files under ``assets/alignments/``, all in
en-zh order ("i-j" = English token i, Chinese token j), line n of a split's files being the
pair on line n of ``{split}.ids``:

- ``train.eflomal-gdfa.en-zh``: supervision for ``--guided-alignment``;
- ``{dev,test}.eflomal-{method}.en-zh`` for every method in ``METHODS``: display and scoring.

eflomal 2.0.0 has no seed option (its samplers seed themselves from /dev/urandom), so a new
run can differ slightly from the stored files; the stored files are the reference artefact.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .alignments import AlignmentScore, Links, Reference, read_pharaoh, read_pharaoh_with_ids, write_pharaoh
from .corpus import Corpus, HskCorpus, orient
from .data import Pair
from .paths import ALIGNMENTS as ALIGNMENTS_DIR
from .tokenize import Tokenizer

TRAIN_FILE = "train.eflomal-gdfa.en-zh"
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))
_TOKENIZER = Tokenizer()


def _grow_diag(fwd: Links, rev: Links) -> Links:
    """Start from the intersection; repeatedly add union points next to (also diagonally) an
    aligned point when one of their two words is still unaligned (Koehn et al. 2003)."""
    union = fwd | rev
    links = set(fwd & rev)
    if not union:
        return links
    n_src, n_tgt = max(i for i, _ in union) + 1, max(j for _, j in union) + 1
    added = True
    while added:
        added = False
        for i in range(n_src):
            for j in range(n_tgt):
                if (i, j) not in links:
                    continue
                for di, dj in _NEIGHBOURS:
                    p = (i + di, j + dj)
                    if p in union and p not in links and not (_src_aligned(links, p[0]) and _tgt_aligned(links, p[1])):
                        links.add(p)
                        added = True
    return links


def _src_aligned(links: Links, i: int) -> bool:
    return any(a == i for a, _ in links)


def _tgt_aligned(links: Links, j: int) -> bool:
    return any(b == j for _, b in links)


def _final(links: Links, directional: Links, both_unaligned: bool) -> Links:
    """Add points of one directional alignment whose source or (``both_unaligned``: and)
    target word is still unaligned, scanning in (source, target) order."""
    out = set(links)
    for i, j in sorted(directional):
        free_i, free_j = not _src_aligned(out, i), not _tgt_aligned(out, j)
        if (free_i and free_j) if both_unaligned else (free_i or free_j):
            out.add((i, j))
    return out


def _grow_diag_final(fwd: Links, rev: Links, both_unaligned: bool) -> Links:
    links = _grow_diag(fwd, rev)
    return _final(_final(links, fwd, both_unaligned), rev, both_unaligned)


SYMMETRISATIONS: dict[str, Callable[[Links, Links], Links]] = {
    "intersect": lambda f, r: f & r,
    "union": lambda f, r: f | r,
    "grow-diag": _grow_diag,
    "gdf": lambda f, r: _grow_diag_final(f, r, both_unaligned=False),
    "gdfa": lambda f, r: _grow_diag_final(f, r, both_unaligned=True),
}
# "fwd": each Chinese token linked to at most one English token (eflomal en->zh), "rev" the other way.
METHODS = ("fwd", "rev", *SYMMETRISATIONS)


def symmetrise(fwd: Links, rev: Links, method: str) -> Links:
    """Combine two directional alignments (both in (source, target) order) with ``method``,
    one of ``SYMMETRISATIONS`` (gdf = grow-diag-final, gdfa = grow-diag-final-and)."""
    if method not in SYMMETRISATIONS:
        raise ValueError(f"unknown symmetrisation {method!r}; choose from {', '.join(SYMMETRISATIONS)}")
    return SYMMETRISATIONS[method](fwd, rev)


def run_eflomal(src: list[list[str]], tgt: list[list[str]], n_samplers: int = 3) -> tuple[list[Links], list[Links]]:
    """Align tokenised sentence pairs both ways with eflomal (HMM + fertility model).

    Returns (forward, reverse) link sets per pair, both in (source, target) order: forward
    links each target token to at most one source token, reverse each source token to at
    most one target token. Not seeded (eflomal 2.0.0 cannot be).
    """
    import eflomal

    if len(src) != len(tgt):
        raise ValueError(f"{len(src)} source sentences but {len(tgt)} target sentences")
    with tempfile.TemporaryDirectory() as tmp:
        fwd, rev = Path(tmp) / "fwd", Path(tmp) / "rev"
        eflomal.Aligner(n_samplers=n_samplers).align(
            [" ".join(s) for s in src], [" ".join(t) for t in tgt], links_filename_fwd=str(fwd), links_filename_rev=str(rev)
        )
        return read_pharaoh(fwd), read_pharaoh(rev)


def score_links(predicted: list[Links], references: list[Reference], keys: list[str] | None = None) -> AlignmentScore:
    """Links scored against sure/possible references, sentence by sentence (``keys`` name them)."""
    score = AlignmentScore()
    for n, (pred, ref) in enumerate(zip(predicted, references)):
        score.add(pred, ref, keys[n] if keys else None)
    return score


def summary(score: AlignmentScore) -> dict[str, float]:
    """Precision, recall and AER of ``score_links``' score."""
    return {"precision": round(score.precision, 4), "recall": round(score.recall, 4), "aer": round(score.aer, 4)}


def align_hsk(out: str | Path = ALIGNMENTS_DIR, n_samplers: int = 3) -> dict[str, dict[str, float]]:
    """Align all HSK pairs with eflomal, write the Pharaoh and ids files to ``out`` and return
    the scores of every method on the test split against the gold references."""
    from .data import hsk_splits

    splits = hsk_splits()
    order = [(split, e) for split in ("train", "dev", "test") for e in splits[split]]
    en = [_TOKENIZER.tokenize(e.en) for _, e in order]
    zh = [_TOKENIZER.tokenize(e.zh) for _, e in order]
    fwd, rev = run_eflomal(en, zh, n_samplers)
    by_method = {"fwd": fwd, "rev": rev} | {m: [symmetrise(f, r, m) for f, r in zip(fwd, rev)] for m in SYMMETRISATIONS}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = 0
    for split in ("train", "dev", "test"):
        stop = start + len(splits[split])
        (out / f"{split}.ids").write_text("".join(e.id + "\n" for e in splits[split]), encoding="utf-8")
        for method in ("gdfa",) if split == "train" else METHODS:
            write_pharaoh(out / f"{split}.eflomal-{method}.en-zh", by_method[method][start:stop])
        start = stop
    gold = HskCorpus(ALIGNMENTS_DIR).gold("en-zh")  # the bundled references, wherever the links are written
    test = slice(len(order) - len(splits["test"]), len(order))
    return {m: summary(score_links(by_method[m][test], [gold[e.id] for e in splits["test"]])) for m in METHODS}


def stored_scores(
    pairs: list[Pair], references: dict[str, Reference], direction: str, path: str | Path = ALIGNMENTS_DIR
) -> dict[str, AlignmentScore]:
    """``score_links`` of the stored eflomal links of every method, by method, on those ``pairs``
    that have stored dev/test links and a reference (sentences keyed by pair id); {} when there
    are none."""
    corpus = HskCorpus(Path(path))
    out = {}
    for method in METHODS:
        try:
            links = {k: v for split in ("dev", "test") for k, v in corpus.aligner_links(split, method, direction).items()}
        except FileNotFoundError:
            return {}
        scored = [p for p in pairs if p.id in links and p.id in references]
        if not scored:
            return {}
        out[method] = score_links([links[p.id] for p in scored], [references[p.id] for p in scored], [p.id for p in scored])
    return out


def best_method(scores: dict[str, AlignmentScore]) -> str:
    """The symmetrisation with the lowest AER in ``stored_scores``' result."""
    return min(SYMMETRISATIONS, key=lambda m: scores[m].aer)


def load_training_alignments(
    path: str | None, train_pairs: list[Pair], direction: str | None, corpus: Corpus | None = None, corpus_lines: int | None = None
) -> dict[str, Links]:
    """Links for the guided-alignment loss, keyed by Pair.id, in (source index, target index)
    order of the model's tokens.

    HSK (``direction`` "en-zh" or "zh-en"): ``path`` is an en-zh Pharaoh file with its
    ``{split}.ids`` file beside it (``models.alignments.read_pharaoh_with_ids``); None means the bundled
    ``assets/alignments/train.eflomal-gdfa.en-zh``. Links are flipped for zh-en.
    User TSV corpus (``direction`` None): ``path`` is required, a Pharaoh file in the TSV's
    source-target order with line n holding the links of TSV line n (blank for blank lines); a file
    that ends before the last training pair's line, or has links past ``corpus_lines`` (the TSV's
    line count, when it was read whole), belongs to another corpus.
    ``corpus`` orients the links (default: the HSK corpus).
    Raises ValueError when a link is outside its sentence or no training pair has links.
    """
    if direction is None:
        if path is None:
            raise ValueError("--guided-alignment on a TSV corpus needs --alignments FILE (Pharaoh, one line per TSV line)")
        lines = read_pharaoh(path)
        last = max((int(p.id.removeprefix("line")) for p in train_pairs if p.id.startswith("line")), default=0)
        if len(lines) < last or (corpus_lines is not None and any(lines[corpus_lines:])):
            have = f"the corpus has {corpus_lines:,}" if corpus_lines is not None else f"training pairs reach line {last:,}"
            raise ValueError(f"{path}: {len(lines):,} lines of links, but {have}: it needs one line per corpus line, in order")
        by_id = {f"line{n}": links for n, links in enumerate(lines, 1)}
    else:
        file = Path(path) if path else ALIGNMENTS_DIR / TRAIN_FILE
        by_id = {k: orient(v, (corpus or HskCorpus()).natural, direction) for k, v in read_pharaoh_with_ids(file).items()}
    out = {}
    for p in train_pairs:
        links = by_id.get(p.id)
        if not links:
            continue
        n_src, n_tgt = len(_TOKENIZER.tokenize(p.src)), len(_TOKENIZER.tokenize(p.tgt))
        bad = next(((i, j) for i, j in links if i >= n_src or j >= n_tgt), None)
        if bad:
            raise ValueError(f"alignment {bad[0]}-{bad[1]} of pair {p.id} is outside its {n_src} source and {n_tgt} target tokens")
        out[p.id] = links
    if not out:
        raise ValueError(f"no training pair has alignment links in {path or ALIGNMENTS_DIR / TRAIN_FILE}")
    return out
