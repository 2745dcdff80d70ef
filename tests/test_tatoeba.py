"""The Tatoeba extract: simplified script only, and nothing the project evaluates or shows."""

from models.data import _norm, hsk_splits
from models.tatoeba import EXTRACT, SHOWN_EXAMPLES, held_out, select, tatoeba_pairs


def test_select_keeps_simplified_new_distinct_pairs_only():
    trad = {"們", "試"}
    hold = {_norm("I love you."), _norm("医生让我在家休息两天。")}
    rows = [
        ("We are here.", "我们在这里。"),
        ("We are here.", "我们在这里。"),  # a repeat
        ("Let's try.", "我們試試看！"),  # traditional script
        ("Tom is here.", "Tom在这里。"),  # Latin letters in the Chinese
        ("I love you!", "我爱你！"),  # held out: the same sentence, other punctuation
        ("Stay home.", "医生让我在家休息两天"),  # held out by its Chinese
        ("", "我们。"),  # no English
        ("A long one.", "长" * 31),  # over MAX_TOKENS
    ]
    assert select(rows, trad, hold) == [("We are here.", "我们在这里。")]


def test_the_extract_holds_no_dev_test_everyday_or_shown_sentence():
    hold = held_out()
    splits = hsk_splits()
    assert all(_norm(e.zh) in hold and _norm(e.en) in hold for split in ("dev", "test") for e in splits[split])
    assert all(_norm(s) in hold for s in SHOWN_EXAMPLES)
    pairs = tatoeba_pairs("en-zh")
    assert len(pairs) > 30_000
    assert not [p for p in pairs if _norm(p.src) in hold or _norm(p.tgt) in hold]


def test_pairs_follow_the_direction_and_have_their_own_ids():
    en_zh, zh_en = tatoeba_pairs("en-zh")[:3], tatoeba_pairs("zh-en")[:3]
    assert [(p.src, p.tgt) for p in zh_en] == [(p.tgt, p.src) for p in en_zh]
    assert all(p.id.startswith("tatoeba:") for p in en_zh)
    assert EXTRACT.read_text(encoding="utf-8").startswith("# Tatoeba")


def test_tatoeba_is_refused_with_a_tsv_corpus(tmp_path, capsys):
    from models.cli import main

    tsv = tmp_path / "p.tsv"
    tsv.write_text("a\tb\n" * 5, encoding="utf-8")
    assert main(["train", "--pairs", str(tsv), "--tatoeba", "--out", str(tmp_path / "m.safetensors")]) != 0
    assert "--tatoeba: extra training data for the HSK corpus" in capsys.readouterr().err
