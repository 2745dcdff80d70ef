"""Sequence-level distillation: the ensemble teacher, the files ``distill`` writes and how
``train --distilled`` reads them."""

from __future__ import annotations

import json

import pytest
import torch

from bench.tiny import make_translator
from models.checkpoint import save_checkpoint
from models.cli import main
from models.corpus import HSK
from models.data import Pair
from models.distill import DISTILLED_FILE, distill, distilled_links, ensemble, read_distilled, teacher_name, write_distilled
from models.vocab import BOS

SOURCES = ["I love you.", "The teacher is here.", "We eat rice."]


def test_an_ensemble_of_one_model_twice_translates_as_the_model():
    one = make_translator(seed=3)
    twice = ensemble([one, make_translator(seed=3)])
    assert twice is not one
    for beam in (1, 3):
        assert twice.translate_batch(SOURCES, beam=beam) == one.translate_batch(SOURCES, beam=beam)


def test_an_ensembles_next_token_distribution_is_the_mean_of_its_members():
    a, b = make_translator(seed=1), make_translator(seed=2)
    both = ensemble([a, b])

    @torch.inference_mode()
    def first_step(tr):
        enc = tr.encode([tr.source_tokens("We eat rice.")[0]])
        return torch.softmax(tr.model.step(torch.tensor([BOS]), tr.model.start(enc), enc).logits, -1)  # (1, V)

    pa, pb = first_step(a), first_step(b)
    assert not torch.allclose(pa, pb)
    torch.testing.assert_close(first_step(both), (pa + pb) / 2)


def test_an_ensemble_refuses_models_of_other_vocabularies_or_directions():
    with pytest.raises(ValueError, match="vocabulary"):
        ensemble([make_translator(), make_translator(src_lang="zh", tgt_lang="en")])


def test_distilled_targets_are_the_teachers_beam_output():
    teacher = make_translator(seed=4)
    pairs = [Pair(s, "reference", f"id{n}") for n, s in enumerate(SOURCES)]
    out = distill(teacher, pairs, beam=2)
    assert [p.id for p in out] == [p.id for p in pairs] and [p.src for p in out] == SOURCES
    assert [p.tgt for p in out] == teacher.translate_batch(SOURCES, beam=2)


def test_back_translated_sources_are_the_teachers_translations_of_the_targets():
    teacher = make_translator(seed=4)  # en-zh: translates the English targets of zh-en pairs
    pairs = [Pair("中文", s, f"id{n}") for n, s in enumerate(SOURCES)]
    out = distill(teacher, pairs, beam=2, back=True)
    assert [p.id for p in out] == [p.id for p in pairs] and [p.tgt for p in out] == SOURCES
    assert [p.src for p in out] == teacher.translate_batch(SOURCES, beam=2)


def test_train_reads_the_teachers_pairs_and_links_by_pair_id(tmp_path):
    train = [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃饭。", "b"), Pair("Hello.", "你好。", "c")]
    taught = [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃米饭。", "b")]
    folder = write_distilled(tmp_path / "kd", "en-zh", ["t1 (seed 1)"], 5, taught, [{(0, 0), (2, 2)}, {(0, 0), (1, 3)}])
    got, abouts = read_distilled([folder], "en-zh", train)
    assert [(p.id, p.tgt) for p in got] == [("kd0:a", "我爱你。"), ("kd0:b", "我们吃米饭。")]  # "c" has no teacher output: dropped
    assert abouts == [{"direction": "en-zh", "kind": "forward", "teachers": ["t1 (seed 1)"], "beam": 5}]
    assert distilled_links([folder], "en-zh", got + train) == {"kd0:a": {(0, 0), (2, 2)}, "kd0:b": {(0, 0), (1, 3)}}


def test_with_references_the_teacher_adds_only_the_translations_that_differ(tmp_path):
    train = [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃饭。", "b")]
    folder = write_distilled(tmp_path / "kd", "en-zh", ["t"], 5, [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃米饭。", "b")], [set(), {(0, 0)}])
    got, _ = read_distilled([folder], "en-zh", train, with_references=True)
    assert [(p.id, p.tgt) for p in got] == [("a", "我爱你。"), ("b", "我们吃饭。"), ("kd0:b", "我们吃米饭。")]
    assert distilled_links([folder], "en-zh", got) == {"kd0:b": {(0, 0)}}


def test_forward_and_back_translations_add_up_each_with_its_own_links(tmp_path):
    train = [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃饭。", "b")]
    forward = write_distilled(tmp_path / "fwd", "en-zh", ["t"], 5, [Pair("I love you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃米饭。", "b")],
                              [set(), {(1, 3)}])
    back = write_distilled(tmp_path / "back", "en-zh", ["u"], 4, [Pair("I like you.", "我爱你。", "a"), Pair("We eat rice.", "我们吃饭。", "b")],
                           [{(0, 0)}, set()], kind="back")
    got, abouts = read_distilled([forward, back], "en-zh", train, with_references=True)
    assert [(p.id, p.src, p.tgt) for p in got[2:]] == [("kd0:b", "We eat rice.", "我们吃米饭。"), ("kd1:a", "I like you.", "我爱你。")]
    assert [a["kind"] for a in abouts] == ["forward", "back"]
    assert distilled_links([forward, back], "en-zh", got) == {"kd0:b": {(1, 3)}, "kd1:a": {(0, 0)}}


def test_a_distillation_folder_of_the_other_direction_or_a_broken_one_is_refused(tmp_path):
    train = [Pair("I love you.", "我爱你。", "a")]
    folder = write_distilled(tmp_path / "kd", "zh-en", ["t"], 5, [Pair("我爱你。", "I love you.", "a")], [set()])
    with pytest.raises(ValueError, match="zh-en, not en-zh"):
        read_distilled([folder], "en-zh", train)
    record = json.loads((folder / DISTILLED_FILE).read_text(encoding="utf-8"))
    (folder / DISTILLED_FILE).write_text(json.dumps(record | {"kind": "sideways"}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown kind 'sideways'"):
        read_distilled([folder], "zh-en", [Pair("我爱你。", "I love you.", "a")])
    (folder / DISTILLED_FILE).write_text(json.dumps({"pairs": "nonsense"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a distillation file"):
        read_distilled([folder], "zh-en", train)
    with pytest.raises(ValueError, match="not a distillation file"):
        read_distilled([tmp_path / "missing"], "en-zh", train)


def test_a_record_without_a_kind_reads_as_forward_distillation(tmp_path):
    train = [Pair("I love you.", "我爱你。", "a")]
    folder = write_distilled(tmp_path / "kd", "en-zh", ["t"], 5, [Pair("I love you.", "我爱。", "a")], [set()])
    record = json.loads((folder / DISTILLED_FILE).read_text(encoding="utf-8"))
    del record["kind"]
    (folder / DISTILLED_FILE).write_text(json.dumps(record), encoding="utf-8")
    got, (about,) = read_distilled([folder], "en-zh", train)
    assert about["kind"] == "forward" and [(p.src, p.tgt) for p in got] == [("I love you.", "我爱。")]


def test_cli_refuses_distilled_targets_for_a_tsv_corpus(tmp_path, capsys):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("hello\tbonjour\n" * 20, encoding="utf-8")
    rc = main(["train", "--pairs", str(tsv), "--distilled", str(tmp_path), "--out", str(tmp_path / "m.safetensors"), "--epochs", "1"])
    assert rc == 2 and "cannot be used with --pairs" in capsys.readouterr().err


def test_a_teacher_is_named_by_its_model_and_seed():
    tr = make_translator()
    assert teacher_name("x.safetensors", tr) == "tiny-additive-soft"
    tr.meta["training"]["seed"] = 3
    assert teacher_name("x.safetensors", tr) == "tiny-additive-soft (seed 3)"


def test_distill_command_writes_what_train_reads(tmp_path, monkeypatch, capsys):
    from models import distill as distill_module

    path = tmp_path / "tiny.safetensors"
    save_checkpoint(make_translator(seed=5), path)
    monkeypatch.setattr(distill_module, "guided_links", lambda pairs, direction: [set() for _ in pairs])  # eflomal: slow, tested elsewhere
    assert main(["distill", "--teacher", str(path), "--beam", "1", "--device", "cpu", "--out", str(tmp_path / "kd")]) == 0
    assert "targets differ from the references" in capsys.readouterr().out
    train = HSK.splits("en-zh")["train"]
    got, (about,) = read_distilled([tmp_path / "kd"], "en-zh", train)  # an untrained teacher's empty outputs are dropped
    assert 0 < len(got) <= len(train) and about["teachers"] == ["tiny-additive-soft"] and about["beam"] == 1
    assert (tmp_path / "kd" / "train.ids").read_text(encoding="utf-8").split() == [p.id for p in train]


def test_distill_back_writes_pairs_for_students_of_the_other_direction(tmp_path, monkeypatch, capsys):
    from models import distill as distill_module

    path = tmp_path / "tiny.safetensors"
    save_checkpoint(make_translator(seed=5), path)  # en-zh
    monkeypatch.setattr(distill_module, "guided_links", lambda pairs, direction: [set() for _ in pairs])
    assert main(["distill", "--back", "--teacher", str(path), "--beam", "1", "--device", "cpu", "--out", str(tmp_path / "bt")]) == 0
    said = capsys.readouterr().out
    assert "(for zh-en models)" in said and "sources differ from the references" in said
    train = HSK.splits("zh-en")["train"]
    record = json.loads((tmp_path / "bt" / DISTILLED_FILE).read_text(encoding="utf-8"))
    assert record["direction"] == "zh-en" and record["kind"] == "back"
    assert [x["tgt"] for x in record["pairs"]] == [p.tgt for p in train]  # the human English targets, Chinese sources by the teacher
