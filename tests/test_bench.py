"""The benchmark scripts run: a tiny model through bench/decode.py end to end (the figures
themselves are for the machine that prints them, never asserted)."""

from bench import decode


def test_decode_benchmark_prints_its_table_for_a_tiny_model(tiny_checkpoint, capsys):
    args = ["--checkpoint", str(tiny_checkpoint), "--sentences", "3", "--beam", "2", "--batch", "2", "--repeats", "1", "--compare-sentences", "2"]
    assert decode.main(args) == 0
    out = capsys.readouterr().out
    assert "| tiny | " in out and "Compare: 1 models" in out


def test_load_benchmark_attacks_name_hostile_files_that_exist():
    from bench.hostile import HOSTILE
    from bench.load import ATTACKS, PLANTED

    assert [case for case, _ in ATTACKS if case not in HOSTILE and case != PLANTED] == []
