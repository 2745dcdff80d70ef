"""Browser: the Evaluate page over the whole test split, from pressing its button to the results drawn.

    python bench/evaluate_page.py [--checkpoints DIR] [--rounds 2] [--other ../old-checkout]

Each round starts ``streamlit run app.py`` afresh (results are kept for the process, so a
second run in one server would be a cache hit), opens the app, switches to Evaluate (which
loads every bundled model: timed as "open"), presses "Evaluate N models" with every model
chosen, all test sentences and greedy decoding, and waits until the measured table and the
AER chart below it are drawn (timed as "evaluate"). With ``--other``, the same in that checkout's app
(same checkpoint folder, same widget keys), alternating which goes first, so that both see
the same load on the machine. Prints a table of medians; not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bench.app import server_threads, tiny_checkpoints
from bench.common import ROOT, add_report_args, machine, markdown_table, report
from models.translator import resolve_device
from webapp import registry
from webapp.harness import app_server, browser_page, go_to, open_app, wait_idle

WAIT_MS = 900_000
DONE = ".st-key-evaluate_aer .js-plotly-plot .main-svg"  # the AER chart, drawn after the measured table above it


def one_round(root: Path, folder: Path) -> tuple[float, float]:
    """(seconds to open Evaluate, seconds from the button to the results) in a fresh server of ``root``'s app."""
    with app_server(folder, root) as url, browser_page(1400, 1000, WAIT_MS) as (page, problems):
        open_app(page, url, WAIT_MS)
        start = time.perf_counter()
        go_to(page, "Evaluate", WAIT_MS)
        page.locator(".st-key-evaluate_run button").wait_for(timeout=WAIT_MS)
        opened = time.perf_counter() - start
        start = time.perf_counter()
        page.locator(".st-key-evaluate_run button").click()
        page.wait_for_selector(DONE, timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        evaluated = time.perf_counter() - start
        if problems:
            print(f"{root}: browser console errors:", *problems, sep="\n  ")
    return opened, evaluated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=Path, help="bundled-model folder (default: assets/checkpoints, else tiny models)")
    parser.add_argument("--rounds", type=int, default=2, help="fresh servers per app")
    parser.add_argument("--other", type=Path, help="another checkout whose app is timed too, alternating (the 'before')")
    add_report_args(parser)
    args = parser.parse_args()

    folder = args.checkpoints or (registry.DEFAULT_DIR if registry.bundled_entries(registry.DEFAULT_DIR) else tiny_checkpoints())
    models = len(registry.bundled_entries(folder))
    apps = {"this checkout": ROOT} | ({f"other ({args.other})": args.other} if args.other else {})
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for r in range(args.rounds):
        order = list(apps) if r % 2 == 0 else list(reversed(apps))
        for name in order:
            times[name].append(one_round(apps[name], folder))
            print(f"round {r + 1}, {name}: open {times[name][-1][0]:.2f} s, evaluate {times[name][-1][1]:.2f} s", file=sys.stderr)

    head = ["app", "models", "rounds", "open Evaluate, median s", "Evaluate (button → results), median s", "all rounds s"]
    rows = []
    for name, ts in times.items():
        opened, evaluated = zip(*ts)
        rows.append([name, str(models), str(len(ts)), f"{statistics.median(opened):.2f}", f"{statistics.median(evaluated):.2f}", ", ".join(f"{e:.2f}" for e in evaluated)])
    parts = [f"Machine: {machine(resolve_device('auto'))}", f"Checkpoints: {folder}; app server: {server_threads()}", markdown_table(head, rows)]
    if args.other:
        (mine_open, mine), (other_open, other) = ([statistics.median(x) for x in zip(*times[n])] for n in apps)
        parts.append(f"This checkout / other: open Evaluate {mine_open / other_open:.2f}, Evaluate {mine / other:.2f}")
    report("bench/evaluate_page.py", sys.argv[1:], parts, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
