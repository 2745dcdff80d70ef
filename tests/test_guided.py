"""Guided-alignment loss, the eflomal wrapper and its files, and AER in evaluation."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.tiny import make_translator
from models.aligner import METHODS, best_method, load_training_alignments, run_eflomal, stored_scores
from models.alignments import write_pharaoh
from models.corpus import HskCorpus
from models.data import Pair
from models.evaluate import evaluate
from models.result import AttentionMap
from models.train import _tensors, guided_alignment_loss, linked_context_loss


def _row(links: list[int], size: int = 5) -> torch.Tensor:
    row = torch.zeros(size)
    row[links] = 1.0
    return row


def test_guided_loss_is_smallest_when_attention_equals_the_normalised_alignment_row():
    target = _row([1, 2]).view(1, 1, 5)
    best = guided_alignment_loss(torch.tensor([[[0.0, 0.5, 0.5, 0.0, 0.0]]]), target)
    assert best.item() == pytest.approx(math.log(2))  # the entropy of the normalised row
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        other = torch.softmax(3 * torch.randn(1, 1, 5, generator=gen), -1)
        assert guided_alignment_loss(other, target).item() > best.item()
    peaked_on_one_link = torch.tensor([[[0.0, 1.0, 0.0, 0.0, 0.0]]])
    assert guided_alignment_loss(peaked_on_one_link, target).item() > best.item()


def test_guided_loss_ignores_rows_without_links():
    attn = torch.softmax(torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1)), -1)
    target = torch.zeros(2, 3, 4)
    target[0, 0, 1] = target[1, 2, 3] = 1.0
    loss = guided_alignment_loss(attn, target)
    expected = -(attn[0, 0, 1].log() + attn[1, 2, 3].log()) / 2  # mean over the two linked rows
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    changed = attn.clone()
    changed[0, 1] = torch.tensor([0.97, 0.01, 0.01, 0.01])  # an unlinked row
    changed[1, 0] = torch.tensor([0.01, 0.01, 0.01, 0.97])
    assert guided_alignment_loss(changed, target).item() == pytest.approx(loss.item())
    assert guided_alignment_loss(attn, torch.zeros(2, 3, 4)).item() == 0.0


def test_alignment_tensor_puts_link_i_j_in_target_row_j_and_leaves_end_rows_empty():
    # Source ids end with EOS (position 3), target ids with EOS (row 2): links index real tokens.
    items = [([5, 6, 7, 2], [8, 9, 2], {(0, 1), (2, 0)}), ([5, 2], [8, 2], None)]
    _, _, _, align = _tensors(items, torch.device("cpu"))
    assert align.shape == (2, 3, 4)  # (B, T, S)
    assert align[0, 1, 0] == 1 and align[0, 0, 2] == 1 and align.sum() == 2
    assert align[:, -1].sum() == 0 and align[:, :, -1].sum() == 0


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_guided_loss_reaches_the_scorer_in_soft_and_hard_attention(mode):
    model = make_translator("additive", mode).model.train()
    src, lengths, tgt, align = _tensors([([4, 5, 6, 2], [4, 5, 2], {(0, 0), (2, 1)})], torch.device("cpu"))
    probs = model.alignment_of(model(src, lengths, tgt).maps)
    guided_alignment_loss(probs, align).backward()
    grads = [p.grad for p in model.decoder.attention.scorer.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_linked_context_loss_is_the_cross_entropy_of_the_linked_rows_only():
    gen = torch.Generator().manual_seed(2)
    tgt = torch.tensor([[5, 6, 2], [7, 2, 0]])  # (B, T); 0 is padding
    links = torch.zeros(2, 3, 4)
    links[0, 1, 2] = links[1, 0, 0] = links[1, 0, 3] = 1.0  # rows (0, 1) and (1, 0) are linked
    linked_logits = torch.randn(2, 9, generator=gen)  # (N, V), in row order
    ce = torch.nn.CrossEntropyLoss(ignore_index=0)
    loss = linked_context_loss(linked_logits, tgt, links, ce)
    expected = -(torch.log_softmax(linked_logits[0], -1)[6] + torch.log_softmax(linked_logits[1], -1)[7]) / 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert linked_context_loss(linked_logits[:0], tgt, torch.zeros(2, 3, 4), ce).item() == 0.0


def test_linked_context_loss_trains_the_output_side_and_the_encoder_but_not_attention():
    model = make_translator("additive").model.train()
    src, lengths, tgt, align = _tensors([([4, 5, 6, 2], [4, 5, 2], {(0, 0), (2, 1)})], torch.device("cpu"))
    out = model(src, lengths, tgt, align)
    linked_context_loss(out.linked_logits, tgt, align, torch.nn.CrossEntropyLoss()).backward()
    assert model.encoder.rnn.weight_ih_l0.grad.abs().sum() > 0  # the linked states h_i
    assert model.decoder.proj.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.decoder.attention.scorer.parameters())  # attention is not in it


def _write_split(folder, split: str, ids: list[str], method_links: dict[str, list[set]]) -> None:
    (folder / f"{split}.ids").write_text("".join(i + "\n" for i in ids))
    for method, links in method_links.items():
        write_pharaoh(folder / f"{split}.eflomal-{method}.en-zh", links)


def test_stored_links_round_trip_by_id_and_flip_for_zh_en(tmp_path):
    _write_split(tmp_path, "test", ["hsk1-1", "hsk1-2"], {"gdfa": [{(0, 1), (1, 0)}, set()]})
    assert HskCorpus(tmp_path).aligner_links("test", "gdfa", "en-zh") == {"hsk1-1": {(0, 1), (1, 0)}, "hsk1-2": set()}
    assert HskCorpus(tmp_path).aligner_links("test", "gdfa", "zh-en")["hsk1-1"] == {(1, 0), (0, 1)}
    _write_split(tmp_path, "dev", ["a"], {"gdfa": [{(2, 0)}]})
    assert HskCorpus(tmp_path).aligner_links("dev", "gdfa", "zh-en") == {"a": {(0, 2)}}


def test_a_links_file_and_its_ids_file_must_have_as_many_lines(tmp_path):
    _write_split(tmp_path, "test", ["x", "y"], {"gdfa": [{(0, 0)}]})
    with pytest.raises(ValueError, match="1 lines but 2 ids"):
        HskCorpus(tmp_path).aligner_links("test", "gdfa", "en-zh")


def test_training_alignments_for_hsk_are_keyed_by_id_in_the_model_direction(tmp_path):
    _write_split(tmp_path, "train", ["p1", "p2", "p3"], {"gdfa": [{(0, 0), (2, 1)}, set(), {(1, 0)}]})
    pairs = [Pair("我爱你", "I love you", "p1"), Pair("好", "good", "p2"), Pair("你好", "hello there", "p9")]
    links = load_training_alignments(str(tmp_path / "train.eflomal-gdfa.en-zh"), pairs, "zh-en")
    assert links == {"p1": {(0, 0), (1, 2)}}  # p2 has no links, p3 is not a training pair


def test_training_alignments_for_a_tsv_follow_its_line_numbers(tmp_path):
    (tmp_path / "a.txt").write_text("0-0 1-1\n\n0-1\n")
    pairs = [Pair("a b", "x y", "line1"), Pair("c d", "z w", "line3")]
    assert load_training_alignments(str(tmp_path / "a.txt"), pairs, None) == {"line1": {(0, 0), (1, 1)}, "line3": {(0, 1)}}


def test_training_alignments_reject_links_outside_the_sentence(tmp_path):
    (tmp_path / "a.txt").write_text("0-0 3-1\n")
    with pytest.raises(ValueError, match="3-1 of pair line1 is outside"):
        load_training_alignments(str(tmp_path / "a.txt"), [Pair("a b", "x y", "line1")], None)


def test_training_alignments_for_a_tsv_need_a_file():
    with pytest.raises(ValueError, match="needs --alignments"):
        load_training_alignments(None, [Pair("a b", "x y", "line1")], None)


def test_eflomal_on_a_tiny_corpus_returns_one_to_many_links_in_source_target_order():
    rng = random.Random(0)
    lexicon = {"cat": "chat", "dog": "chien", "sat": "assis", "ran": "courait", "the": "le", "big": "grand"}
    src = [rng.sample(sorted(lexicon), rng.randint(2, 4)) for _ in range(20)]
    tgt = [[lexicon[w] for w in s] + ["!"] for s in src]
    fwd, rev = run_eflomal(src, tgt)
    assert len(fwd) == len(rev) == 20
    for f, r, s, t in zip(fwd, rev, src, tgt):
        assert all(i < len(s) and j < len(t) for i, j in f | r)
        assert len({j for _, j in f}) == len(f)  # forward: each target token at most once
        assert len({i for i, _ in r}) == len(r)  # reverse: each source token at most once


def test_eflomal_summary_picks_the_best_symmetrisation_on_the_given_pairs(tmp_path):
    pairs = [Pair("I love you .", "我爱你。", "t1"), Pair("we like tea .", "我们喜欢茶。", "t2")]
    refs = {"t1": {(0, 0), (1, 1), (2, 2)}, "t2": {(0, 0), (0, 1), (2, 4)}}
    good = [{(0, 0), (1, 1), (2, 2), (3, 3)}, {(0, 0), (0, 1), (2, 4)}]
    half = [{(0, 0), (1, 2)}, {(0, 0)}]
    _write_split(tmp_path, "test", ["t1", "t2"], {m: good if m == "grow-diag" else half for m in METHODS})
    _write_split(tmp_path, "dev", [], {m: [] for m in METHODS})
    scores = stored_scores(pairs, refs, "en-zh", tmp_path)
    assert best_method(scores) == "grow-diag"
    assert scores["grow-diag"].aer == pytest.approx(1 - 12 / 13)  # the link (3, 3) is not in the reference
    assert {k: list(v) for k, v in scores["grow-diag"].sentences.items()} == {"t1": [3, 3, 4, 3], "t2": [3, 3, 3, 3]}
    assert stored_scores([Pair("a", "b", "other")], refs, "en-zh", tmp_path) == {}


def test_evaluate_scores_attention_as_alignment_like_a_hand_count(monkeypatch):
    tr = make_translator()
    # Source I love you . </s>; target 我 爱 你 。 plus the end row. Row argmaxes: 0, 0, 1, 2, (3/4).
    attention = np.array(
        [
            [0.7, 0.1, 0.1, 0.1, 0.0],
            [0.6, 0.1, 0.1, 0.2, 0.0],
            [0.1, 0.5, 0.2, 0.2, 0.0],
            [0.1, 0.1, 0.6, 0.2, 0.0],
            [0.0, 0.0, 0.0, 0.5, 0.5],
        ]
    )
    given_word = attention[:, [1, 0, 2, 3, 4]]  # the posterior's row argmaxes: 1, 1, 0, 2, (3/4)
    forced = tr.force(tr.source_tokens("I love you .")[0], list("我爱你。"))
    hyp = replace(forced.best, attention=attention, maps=forced.best.maps | {"posterior": AttentionMap("posterior", given_word[None, None])})
    monkeypatch.setattr(tr, "force", lambda src, tgt: replace(forced, hypotheses=[hyp]))
    out = evaluate(tr, [Pair("I love you .", "我爱你。", "toy-1")], {"toy-1": {(0, 0), (1, 1)}})
    # links {(0,0), (0,1), (1,2), (2,3)}: 1 hit of 4 predicted, 2 reference links: 1 - 2/6
    assert (out["precision"], out["recall"], out["aer"]) == (0.25, 0.5, 0.6667)
    assert out["aer_shift"] == 0.3333  # rows 1..4 give (0,0), (1,1), (2,2), (3,3): 2 hits of 4
    assert out["aer_posterior"] == 0.6667  # {(1,0), (1,1), (0,2), (2,3)}: 1 hit of 4
    assert out["diagonal_aer"] == 0.3333  # {(0,0), (1,1), (2,2), (3,3)}
    assert out["aer_low"] <= out["aer"] <= out["aer_high"]
    assert (out["final_token_share"], out["eos_share"]) == (0.24, 0.1)
    assert "eflomal_aer" not in out  # no stored eflomal links for this pair id
