"""Before and after in one run: bench/decode.py against this checkout and another, alternating.

    python bench/revisions.py --other ../old-checkout [--rounds 3] [decode.py options ...]

Each round runs this checkout's bench/decode.py --json once with this checkout's ``models`` and
once with the other checkout's (PYTHONPATH), in alternating order, so both see the same phases
of a noisy machine; prints the median of each figure and the ratio after / before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import machine, markdown_table

ROOT = Path(__file__).resolve().parent.parent


def run(tree: Path, sources: Path, args: list[str]) -> dict:
    env = os.environ | {"PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    cmd = [sys.executable, str(ROOT / "bench" / "decode.py"), "--json", "--sources", str(sources), *args]
    out = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--other", type=Path, required=True, help="the checkout to compare with (the 'before')")
    p.add_argument("--rounds", type=int, default=3)
    args, rest = p.parse_known_args()
    from models.corpus import HSK

    sources = Path(tempfile.mkdtemp()) / "sources.json"  # the same sentences for both checkouts
    sources.write_text(json.dumps({d: [p.src for p in HSK.splits(d)["test"]] for d in HSK.directions()}), encoding="utf-8")
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        order = [("before", args.other), ("after", ROOT)] if r % 2 == 0 else [("after", ROOT), ("before", args.other)]
        for name, tree in order:
            runs[name].append(run(tree.resolve(), sources, rest))
    rows = []
    for model, figures in runs["after"][0].items():
        for key in figures:
            if key == "models":
                continue
            before = statistics.median(x[model][key] for x in runs["before"])
            after = statistics.median(x[model][key] for x in runs["after"])
            rows.append([model, key, f"{before:,.2f}", f"{after:,.2f}", f"{after / before:.2f}"])
    import torch

    print(f"Machine: {machine(torch.device('cpu'))}\n")
    print(markdown_table(["model", "figure", "before", "after", "after / before"], rows))
    print(f"\nCommand: python bench/revisions.py --other {args.other} --rounds {args.rounds} {' '.join(rest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
