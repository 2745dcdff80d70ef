"""The benchmark scripts run: a tiny model through bench/decode.py end to end (the figures
themselves are for the machine that prints them, never asserted)."""

import pytest

from bench import decode


def test_decode_benchmark_prints_its_table_for_a_tiny_model(tiny_checkpoint, capsys):
    args = ["--checkpoint", str(tiny_checkpoint), "--sentences", "3", "--beam", "2", "--batch", "2", "--repeats", "1", "--compare-sentences", "2"]
    assert decode.main(args) == 0
    out = capsys.readouterr().out
    assert "| tiny | " in out and "Compare: 1 models" in out


def test_load_benchmark_attacks_name_hostile_files_that_exist():
    from bench.hostile import HOSTILE
    from bench.load import ATTACKS, CONTROL, PLANTED

    assert [case for case, _ in ATTACKS if case not in HOSTILE and case != PLANTED] == [] and CONTROL in HOSTILE


def test_load_benchmark_attacks_fit_the_apps_upload_limit(tmp_path):
    """A file over server.maxUploadSize is refused by the browser before the loader sees it,
    so the loader's message would never show."""
    import tomllib

    from bench.hostile import hostile_file
    from bench.load import ATTACKS, PLANTED, ROOT

    limit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"] * 2**20
    sizes = {case: len(hostile_file(case, tmp_path)[0]) for case, _ in ATTACKS if case != PLANTED}
    assert {case: size for case, size in sizes.items() if size > limit} == {}


def test_seeds_table_gives_each_recipe_its_mean_and_range(tmp_path, capsys):
    from bench import seeds
    from bench.tiny import make_translator
    from models.checkpoint import save_checkpoint

    paths = []
    for seed, bleu in ((1, 10.0), (2, 14.0)):
        tr = make_translator(seed=seed)
        tr.meta = {"training": {"seed": seed}, "metrics": {"test": {"bleu": bleu, "aer": 0.3 + seed / 10}}}
        (tmp_path / str(seed)).mkdir()
        paths.append(tmp_path / str(seed) / "recipe.safetensors")
        save_checkpoint(tr, paths[-1])
    assert seeds.main([str(p) for p in paths]) == 0
    out = capsys.readouterr().out
    assert "| `recipe` | 1, 2 | – | 12.00 (10.00–14.00) | – | 0.450 (0.400–0.500) |" in out
    assert seeds.main([str(p) for p in paths] + ["--everyday"]) == 0
    table = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert table[0][-2:] == ["everyday BLEU", "everyday BLEU beam 5 |"]
    greedy, beam = table[-1][-2], table[-1][-1].rstrip(" |")
    assert all(0 <= float(c.split(" ")[0]) <= 100 for c in (greedy, beam))


def test_align_ensemble_of_one_model_twice_scores_as_the_model(tiny_checkpoint, capsys):
    from bench import align_ensemble

    assert align_ensemble.main([str(tiny_checkpoint), str(tiny_checkpoint)]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| test |")]
    alone, mean = rows[0][2], rows[2][2].split(" [")[0]
    assert alone == mean and "eflomal" in rows[-1][1]


def test_align_ensemble_reads_both_directions_with_reverse_models(tiny_checkpoint, tmp_path, capsys):
    import pytest

    from bench import align_ensemble
    from bench.tiny import make_translator
    from models.checkpoint import save_checkpoint

    zh_en = tmp_path / "zh-en.safetensors"
    save_checkpoint(make_translator(src_lang="zh", tgt_lang="en"), zh_en)
    assert align_ensemble.main([str(tiny_checkpoint), "--reverse", str(zh_en)]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if "both directions: 1 + 1 reverse" in line]
    assert [r[0] for r in rows] == ["| dev", "| test"]
    assert all(r[2][0] in "01" and r[3].strip(" |")[0] in "+-" for r in rows)  # an AER and a difference from eflomal
    with pytest.raises(SystemExit, match="opposite direction"):
        align_ensemble.main([str(tiny_checkpoint), "--reverse", str(tiny_checkpoint)])


def test_paired_bleu_from_sentence_statistics_matches_sacrebleu():
    import sacrebleu

    from bench.paired import bleu_of, sentence_stats

    refs = ["the cat sat on the mat", "I have never been to Beijing .", "he is a doctor", "we go home"]
    hyps = ["the cat sat on a mat", "I never went to Beijing .", "he is doctor", "we go home"]
    whole = float(bleu_of(sentence_stats(hyps, refs, "en").sum(0)))
    assert whole == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score)


def test_paired_bootstrap_is_zero_for_one_system_and_favours_the_references():
    from bench.paired import paired, sentence_stats

    refs = [f"sentence number {i} is about the {w} here" for i, w in enumerate(["cat", "dog", "sun", "rain", "tea", "bus"] * 5)]
    noisy = [r.replace("about", "of").replace("here", "there") if i % 2 else r for i, r in enumerate(refs)]
    a, b = sentence_stats(noisy, refs, "en"), sentence_stats(refs, refs, "en")
    same = paired([a, a], [a, a], samples=200)
    assert all(r["diff"] == r["low"] == r["high"] == 0.0 for r in same)
    better = paired([a], [b], samples=200)
    assert better[0]["b"] == pytest.approx(100.0) and 0 < better[0]["low"] <= better[0]["diff"] <= better[0]["high"]
    assert better[0]["b_higher"] == 1.0 and better[-1]["diff"] == better[0]["diff"]


def test_paired_script_compares_a_model_with_itself_as_no_difference(tiny_checkpoint, capsys):
    from bench import paired

    assert paired.main(["--a", str(tiny_checkpoint), "--b", str(tiny_checkpoint), "--samples", "50"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [r[3] for r in rows] == ["+0.00", "+0.00"] and "mean over 1 pairs" in rows[-1][0]
