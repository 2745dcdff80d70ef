"""Tokeniser, vocabulary, corpus cleaning and split, reference alignments."""

import pytest

from models.corpus import HSK
from models.data import hsk_splits, load_hsk, read_tsv, tsv_splits
from models.tokenize import Tokenizer, in_another_script, written_in_han
from models.vocab import UNK, Vocab


def test_english_words_and_punctuation_are_separate_tokens():
    assert Tokenizer().tokenize("Hello, teacher! You're late.") == ["Hello", ",", "teacher", "!", "You're", "late", "."]


def test_han_script_is_split_into_characters_and_latin_words_kept():
    assert Tokenizer().tokenize("我爱你，WiFi 2G！") == ["我", "爱", "你", "，", "WiFi", "2G", "！"]


def test_invisible_characters_are_dropped_and_emoji_kept_as_tokens():
    assert Tokenizer().tokenize("I\u200b love\u0007 you 😀") == ["I", "love", "you", "😀"]


def test_a_control_character_separates_words_and_a_variation_selector_is_no_token():
    """Found with hostile input: 'and<BEL>bell' was one unknown word, and the selector after ❤
    an invisible token of its own in the page's list of unknown words."""
    assert Tokenizer().tokenize("I \u2764\ufe0f and\x07bell\x00nul") == ["I", "\u2764", "and", "bell", "nul"]


@pytest.mark.parametrize(
    "text", ["Hello, teacher! You're late.", "我爱你，很高兴认识你。", "He said (quietly) it's 5% off."]
)
def test_detokenize_inverts_tokenize_for_ordinary_text(text):
    t = Tokenizer()
    assert t.detokenize(t.tokenize(text)) == text


def test_vocab_folds_case_on_lookup_only_when_asked():
    v = Vocab.build([["The", "cat"], ["the", "dog"]], lowercase=True)
    assert v.id("THE") == v.id("the") != UNK
    assert Vocab.build([["The"]]).id("the") == UNK


def test_hsk_corpus_drops_placeholders_and_repeats():
    ex = load_hsk()
    assert 4200 < len(ex) < 4354
    assert not any(e.en.lower() == "placeholder" for e in ex)
    assert len({e.zh for e in ex}) == len(ex)


def test_split_is_seeded_and_no_test_sentence_is_in_training():
    a, b = hsk_splits(), hsk_splits()
    assert [e.id for e in a["test"]] == [e.id for e in b["test"]]
    n = sum(len(v) for v in a.values())
    assert abs(len(a["test"]) / n - 0.05) < 0.01 and abs(len(a["dev"]) / n - 0.05) < 0.01
    train_texts = {e.zh for e in a["train"]} | {e.en.lower() for e in a["train"]}
    assert not any(e.zh in train_texts or e.en.lower() in train_texts for e in a["test"] + a["dev"])


def test_zh_en_pairs_are_the_en_zh_pairs_flipped():
    en_zh, zh_en = HSK.splits("en-zh")["test"], HSK.splits("zh-en")["test"]
    assert [(p.src, p.tgt) for p in en_zh] == [(p.tgt, p.src) for p in zh_en]


def test_tsv_reading_and_dev_split(tmp_path):
    f = tmp_path / "c.tsv"
    f.write_text("a b\tx y\n\nc\tz\nd\tw\ne\tv\n", encoding="utf-8")
    pairs = read_tsv(f)
    assert [(p.src, p.tgt) for p in pairs][:2] == [("a b", "x y"), ("c", "z")]
    s = tsv_splits(pairs)
    assert len(s["dev"]) == 1 and len(s["train"]) == 3


@pytest.mark.parametrize("header", ["source\ttarget", "en\tzh", "English text\tChinese_text", "SRC\tTGT"])
def test_a_first_line_naming_the_columns_is_not_a_pair(tmp_path, header):
    f = tmp_path / "c.tsv"
    f.write_text(f"\n{header}\na\tb\nc\td\ne\tf\n", encoding="utf-8")
    assert [(p.src, p.tgt, p.id) for p in read_tsv(f)][0] == ("a", "b", "line3")


@pytest.mark.parametrize("first", ["source\tsource", "It is.\tEs ist.", "English\tAnglais", "text\tTexte"])
def test_a_first_line_that_is_a_sentence_pair_is_kept(tmp_path, first):
    f = tmp_path / "c.tsv"
    f.write_text(f"{first}\na\tb\nc\td\n", encoding="utf-8")
    assert [(p.src, p.tgt) for p in read_tsv(f)][0] == tuple(first.split("\t"))


def test_a_header_later_in_the_file_is_a_pair(tmp_path):
    f = tmp_path / "c.tsv"
    f.write_text("a\tb\nsource\ttarget\nc\td\n", encoding="utf-8")
    assert len(read_tsv(f)) == 3


def test_tsv_with_a_bad_line_names_the_line(tmp_path):
    f = tmp_path / "c.tsv"
    f.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        read_tsv(f)


def test_written_in_han_tells_a_chinese_sentence_from_an_english_one():
    tok = Tokenizer()
    assert written_in_han(tok.tokenize("我❤️北京😀！！")) is True
    assert written_in_han(tok.tokenize("I love Beijing, 北京!")) is False
    assert written_in_han(tok.tokenize("!!! 123 😀")) is None


def test_a_sentence_is_in_another_script_when_its_words_are_not_written_as_the_model_s_language_is():
    tok = Tokenizer()
    assert in_another_script(tok.tokenize("我爱北京。"), "en") and in_another_script(tok.tokenize("I love Beijing."), "zh")
    assert not in_another_script(tok.tokenize("我爱北京。"), "zh") and not in_another_script(tok.tokenize("私は北京が好きです。"), "ja")
    assert not in_another_script(tok.tokenize("123 !!"), "en")
