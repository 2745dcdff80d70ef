"""Figure cost: building each figure on the server, and drawing a heatmap in Chromium.

    python bench/figures.py [--checkpoint PATH] [--sentences 40] [--width 1000]

Server: median milliseconds per figure builder (``viz``) over test-split translations of one
model. Browser: median milliseconds for plotly.js (the copy in the ``plotly`` package, the same
version Streamlit bundles) to draw a new heatmap, as Streamlit does on every new figure
(``Plotly.newPlot`` into a fresh element, to the next frame), with the margins the figure starts
with (``viz.heatmap.matrix_margins``) beside the same figures starting from small margins, which
Plotly's automargin must widen by drawing again. Both run alternately in the same page. Not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import plotly  # noqa: E402

from bench.common import CHECKPOINTS, add_report_args, machine, markdown_table, report  # noqa: E402
from models.checkpoint import load_checkpoint  # noqa: E402
from models.result import DecodeResult  # noqa: E402
from models.translator import resolve_device  # noqa: E402
from viz import animation_figure, coverage_figure, entropy_figure, flow_figure, heatmap_figure, step_figure  # noqa: E402
from webapp import corpus  # noqa: E402
from webapp.harness import browser_page  # noqa: E402

SMALL_MARGINS = {"l": 10, "r": 10, "t": 60, "b": 10}  # what figures started from before the estimate
BUILDERS: dict[str, Callable[[DecodeResult], object]] = {
    "heatmap": heatmap_figure,
    "flow": flow_figure,
    "step": lambda r: step_figure(r, 0),
    "animation": animation_figure,
    "entropy": entropy_figure,
    "coverage": coverage_figure,
}
DRAW_JS = """async (figs) => {
    const host = document.getElementById('host'), times = [];
    for (const f of figs) {
        host.innerHTML = '';
        const gd = document.createElement('div');
        host.appendChild(gd);
        const t0 = performance.now();
        await Plotly.newPlot(gd, f.data, f.layout);
        await new Promise(done => requestAnimationFrame(() => done()));
        times.push(performance.now() - t0);
        Plotly.purge(gd);
    }
    return times;
}"""


def build_times(results: list[DecodeResult]) -> dict[str, float]:
    """Median ms per builder over ``results``."""
    out = {}
    for name, build in BUILDERS.items():
        times = []
        for r in results:
            start = time.perf_counter()
            build(r)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times) * 1e3
    return out


PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def draw_times(results: list[DecodeResult], width: int, rounds: int) -> dict[str, list[float]]:
    """plotly.js draw times (ms) of each result's heatmap, with estimated and with small margins."""
    figs = {"estimated": [], "small": []}
    for r in results:
        spec = json.loads(heatmap_figure(r, width=width).to_json())
        spec["layout"]["width"] = width
        figs["estimated"].append(spec)
        figs["small"].append({**spec, "layout": {**spec["layout"], "margin": SMALL_MARGINS}})
    js = PLOTLY_JS.read_text()
    times: dict[str, list[float]] = {k: [] for k in figs}
    with browser_page(width + 200, 1200) as (page, problems):
        page.set_content("<html><body><div id=host></div></body></html>")
        page.add_script_tag(content=js)
        page.evaluate(DRAW_JS, figs["estimated"][:3])  # warm-up
        for n in range(rounds):
            for kind in sorted(figs, reverse=n % 2 == 1):  # alternate which goes first
                times[kind] += page.evaluate(DRAW_JS, figs[kind])
        if problems:
            raise RuntimeError(f"browser errors: {problems}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "en-zh-additive-soft.safetensors")
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--width", type=int, default=1000, help="heatmap width in pixels (the app's full-width chart)")
    parser.add_argument("--rounds", type=int, default=3)
    add_report_args(parser)
    args = parser.parse_args()

    translator = load_checkpoint(args.checkpoint)
    results = [translator.translate(e.source) for e in corpus.test_examples(translator.direction)[: args.sentences]]
    built = build_times(results)
    drawn = draw_times(results, args.width, args.rounds)
    small, estimated = (statistics.median(drawn[k]) for k in ("small", "estimated"))
    js_version = re.search(r'version:"([0-9.]+)"', PLOTLY_JS.read_text())
    server = markdown_table(["figure", "build, median ms"], [[name, f"{ms:.1f}"] for name, ms in built.items()])
    browser = markdown_table(
        ["heatmap starts with", "draw in Chromium, median ms", "ratio"],
        [["small margins (automargin widens them: two draws)", f"{small:.1f}", "1.00"], ["estimated margins (one draw)", f"{estimated:.1f}", f"{estimated / small:.2f}"]],
    )
    report(
        "bench/figures.py",
        sys.argv[1:],
        [
            f"Machine: {machine(resolve_device('cpu'))}",
            f"Model: {args.checkpoint.stem}, {len(results)} test sentences; plotly.js {js_version.group(1) if js_version else '?'}; "
            f"heatmaps {args.width} px wide, drawn {args.rounds} times each",
            server,
            browser,
        ],
        args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
