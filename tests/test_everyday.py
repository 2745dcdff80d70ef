"""The README's everyday sentences: none from the HSK corpus, and the command refuses one that is;
the table shows each model's translation as the app opens (beam search)."""

import pytest

from bench.tiny import make_translator
from models.bundle import everyday_pairs, everyday_table
from models.checkpoint import save_checkpoint
from models.data import load_hsk
from models.translator import REPORTED_BEAM


def test_everyday_sentences_are_outside_the_corpus(tmp_path):
    pairs = everyday_pairs()
    assert len(pairs) == 20
    e = load_hsk()[0]
    bad = tmp_path / "bad.txt"
    bad.write_text(f"# comment\nHello there.\t你好。\n{e.en}\t随便\n", encoding="utf-8")
    with pytest.raises(ValueError, match="in the HSK corpus"):
        everyday_pairs(bad)


def test_the_table_shows_each_models_beam_search_translation(tmp_path):
    tr = make_translator()
    save_checkpoint(tr, tmp_path / "tiny.safetensors")
    sentences = tmp_path / "everyday.txt"
    sentences.write_text("I love you.\t我爱你。\nThank you.\t谢谢你。\n", encoding="utf-8")
    table = everyday_table(tmp_path, sentences).splitlines()
    assert f"{REPORTED_BEAM} beams" in table[0]
    beam = tr.translate_batch(["I love you.", "Thank you."], beam=REPORTED_BEAM)
    assert [row.split(" | ")[2].rstrip(" |") for row in table[4:]] == [b or "–" for b in beam]
