"""The corpus seam: one interface for the HSK corpus and a user's TSV file, every link and pair
turned to a model's direction in one place (``orient``)."""

from __future__ import annotations

import pytest

from models.alignments import Reference
from models.corpus import HSK, TsvCorpus, orient
from models.data import Pair


def test_orient_turns_pairs_links_and_references_around_and_refuses_other_directions():
    assert orient({(0, 2), (1, 0)}, "en-zh", "zh-en") == {(2, 0), (0, 1)}
    assert orient({(0, 2)}, "en-zh", "en-zh") == {(0, 2)}
    assert orient(Pair("a", "b", "x"), "en-zh", "zh-en") == Pair("b", "a", "x")
    ref = Reference(frozenset({(0, 1)}), frozenset({(0, 1), (2, 3)}))
    assert orient(ref, "en-zh", "zh-en") == Reference(frozenset({(1, 0)}), frozenset({(1, 0), (3, 2)}))
    with pytest.raises(ValueError, match="en-zh or its reverse"):
        orient({(0, 0)}, "en-zh", "de-en")


def test_hsk_gives_each_split_gold_and_links_in_both_directions():
    en_zh, zh_en = HSK.splits("en-zh"), HSK.splits("zh-en")
    assert {k: len(v) for k, v in en_zh.items()} == {"train": 3820, "dev": 212, "test": 212}
    assert [orient(p, "en-zh", "zh-en") for p in en_zh["test"]] == zh_en["test"]
    gold, gold_back = HSK.gold("en-zh"), HSK.gold("zh-en")
    assert len(gold) == 424 and all(r.sure <= r.possible for r in gold.values())
    assert all(gold_back[k] == r.flipped() for k, r in gold.items())
    assert HSK.aligner_links("test", "gdfa", "zh-en") == {k: {(j, i) for i, j in v} for k, v in HSK.aligner_links("test", "gdfa", "en-zh").items()}
    gloss = HSK.automatic_links("en-zh")  # the gloss rule: for every pair it can be scored on, in both directions
    assert gloss.keys() == gold.keys() and HSK.automatic_links("zh-en") == {k: {(j, i) for i, j in v} for k, v in gloss.items()}
    lexicon = HSK.lexicon("zh-en")
    assert lexicon and all(p.id.startswith("lex:") and p.src == p.id[4:] for p in lexicon)


def test_a_tsv_corpus_has_splits_but_no_gold(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("".join(f"s{n}\tt{n}\n" for n in range(40)), encoding="utf-8")
    corpus = TsvCorpus(path, "de", "en")
    splits = corpus.splits("de-en")
    assert len(splits["train"]) + len(splits["dev"]) == 40 and splits["test"] == []
    assert corpus.splits("en-de")["dev"][0].src.startswith("t")
    assert corpus.gold("de-en") == {} and corpus.lexicon("de-en") == [] and corpus.skipped == 0
