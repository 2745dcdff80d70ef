"""The README's everyday sentences: none from the HSK corpus, and the command refuses one that is."""

import pytest

from models.bundle import everyday_pairs
from models.data import load_hsk


def test_everyday_sentences_are_outside_the_corpus(tmp_path):
    pairs = everyday_pairs()
    assert len(pairs) == 20
    e = load_hsk()[0]
    bad = tmp_path / "bad.txt"
    bad.write_text(f"# comment\nHello there.\t你好。\n{e.en}\t随便\n", encoding="utf-8")
    with pytest.raises(ValueError, match="in the HSK corpus"):
        everyday_pairs(bad)
