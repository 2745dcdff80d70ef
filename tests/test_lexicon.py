"""The CC-CEDICT reader and the committed extract (training-split words only)."""

from models.data import hsk_splits
from models.lexicon import EXTRACT, cedict_lexicon, read_cedict, train_words


def test_read_cedict_hand_case(tmp_path):
    f = tmp_path / "cedict.txt"
    f.write_text(
        "# header\n"
        "電話 电话 [dian4 hua4] /telephone/phone call/CL:部[bu4]/\n"
        "喝 喝 [he1] /to drink/to drink/1/slightly ...er/\n"
        "張 张 [Zhang1] /surname Zhang/\n",
        encoding="utf-8",
    )
    assert read_cedict(f) == {"电话": ["telephone", "phone call"], "喝": ["drink"], "张": []}


def test_extract_holds_training_words_only():
    words = set(train_words(hsk_splits()["train"]))
    pairs = cedict_lexicon("en-zh")
    assert pairs and all(p.tgt in words for p in pairs)
    assert cedict_lexicon("zh-en")[0].src == pairs[0].tgt
    assert EXTRACT.stat().st_size < 200_000
