"""Browser round trip of the app: from pressing Enter to the heatmap(s) drawn in Chromium.

    python bench/app.py [--sentences 7] [--checkpoints DIR] [--heads] [--shots /tmp/shots]

Starts ``streamlit run app.py`` with the bundled models (assets/checkpoints, or tiny random
ones when that folder is empty), warms up, then for each test-split sentence types it, presses
Enter and waits until the heatmap of the new sentence is drawn (its column labels are the new
tokens): one model on Translate (with ``--heads`` also its Heads view, until the layer × head
grid is redrawn too), up to seven on Compare; each page as it opens (beam search), then with
greedy decoding. Prints medians; not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import add_report_args, machine, markdown_table, report
from models.checkpoint import load_checkpoint
from models.tokenize import tokenizer_for
from models.translator import resolve_device
from viz.tokens import truncate
from webapp import corpus, registry
from webapp.harness import app_server, browser_page, go_to, open_app, type_sentence, wait_idle
from webapp.heads import shape_of

COMPARE_MODELS = 7
WAIT_MS = 120_000
DRAWN_JS = """([keys, labels]) => keys.every(key => {
    const root = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!root || !root.querySelector('.heatmaplayer image')) return false;
    const ticks = [...root.querySelectorAll('.xtick text')].map(t => t.textContent.replace(/\u200b/g, ''));
    return ticks.length === labels.length && ticks.every((t, i) => t === labels[i] || t === labels[i] + '?');
})"""


def server_threads() -> str:
    """The app server's torch threads per operation (it reads ATTNVIZ_TORCH_THREADS from this environment)."""
    return f"torch threads {os.environ.get(registry.THREADS_ENV) or 1} ({registry.THREADS_ENV})"


def tiny_checkpoints() -> Path:
    from bench.tiny import make_translator
    from models.checkpoint import save_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="bench-checkpoints-"))
    for scorer in ("dot", "scaled_dot", "general", "cosine", "additive"):
        for mode in ("soft", "hard"):
            save_checkpoint(make_translator(scorer, mode), folder / f"en-zh-{scorer}-{mode}.safetensors")
    return folder


def labels(sentence: str) -> list[str]:
    """The heatmap's column labels for an English sentence (as the browser shows them)."""
    return [truncate(t) for t in tokenizer_for("en").tokenize(sentence)] + ["</s>"]


# The layer × head grid is redrawn: its Plotly data is a new object (marked before Enter) and
# every cell's image is there.
GRID_MARK_JS = "() => { const gd = document.querySelector('.st-key-heads_grid .js-plotly-plot'); window.__gridData = gd && gd.data; }"
GRID_DRAWN_JS = """(cells) => {
    const gd = document.querySelector('.st-key-heads_grid .js-plotly-plot');
    return !!gd && gd.data !== window.__gridData && gd.data.length === cells
        && gd.querySelectorAll('.heatmaplayer image').length === cells;
}"""


def round_trip(page, page_key: str, chart_keys: list[str], sentence: str, grid_cells: int = 0) -> float:
    """Seconds from typing ``sentence`` (Enter) to the charts ``chart_keys`` drawn with its
    tokens, and, with ``grid_cells``, the layer × head grid redrawn with that many heads."""
    if grid_cells:
        page.evaluate(GRID_MARK_JS)
    start = time.perf_counter()
    type_sentence(page, page_key, sentence)
    page.wait_for_function(DRAWN_JS, arg=[chart_keys, labels(sentence)], timeout=WAIT_MS)
    if grid_cells:
        page.wait_for_function(GRID_DRAWN_JS, arg=grid_cells, timeout=WAIT_MS)
    return time.perf_counter() - start


def choose_compare_models(page, wanted: list[str]) -> None:
    """Add models to Compare's multiselect through the widget, as a user would."""
    box = page.locator(".st-key-compare_models_en_zh input")
    for label in wanted:
        box.fill(label)
        box.press("Enter")
        wait_idle(page, WAIT_MS)
    page.keyboard.press("Escape")


def measure(page, page_key: str, chart_keys: list[str], sentences: list[str], grid_cells: int = 0) -> list[float]:
    round_trip(page, page_key, chart_keys, sentences[0], grid_cells)  # warm-up: model loads, first draw
    return [round_trip(page, page_key, chart_keys, s, grid_cells) for s in sentences[1:]]


def screenshots(page, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for title in ("Translate", "Compare", "Checkpoints", "Evaluate", "About"):
        go_to(page, title, WAIT_MS)
        time.sleep(2)  # let charts and tables paint
        page.screenshot(path=str(folder / f"{title.lower()}.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=7, help="timed sentences per page (after one warm-up)")
    parser.add_argument("--checkpoints", type=Path, help="bundled-model folder (default: assets/checkpoints, else tiny models)")
    parser.add_argument("--shots", type=Path, help="also save a screenshot of every page here")
    parser.add_argument("--heads", action="store_true", help="also time the Heads view: Enter to the layer × head grid and the large heatmap drawn")
    add_report_args(parser)
    args = parser.parse_args()

    folder = args.checkpoints or (registry.DEFAULT_DIR if registry.bundled_entries(registry.DEFAULT_DIR) else tiny_checkpoints())
    entries = [e for e in registry.bundled_entries(folder) if e.label.startswith("en-zh-")]
    chosen = registry.default_compare(entries)
    chosen += [e.id for e in entries if e.id not in chosen][: COMPARE_MODELS - len(chosen)]
    by_id = {e.id: e.label for e in entries}
    sentences = [e.source for e in corpus.test_examples("en-zh") if "placeholder" not in e.source][: args.sentences + 1]

    rows = []
    with app_server(folder) as url, browser_page(1400, 2400) as (page, problems):
        open_app(page, url, WAIT_MS)
        rows.append(("Translate (opens on beam search)", 1, measure(page, "translate", ["translate_heatmap"], sentences)))
        page.locator(".st-key-translate_decoding button").filter(has_text="Greedy").first.click()
        wait_idle(page, WAIT_MS)
        rows.append(("Translate, greedy", 1, measure(page, "translate", ["translate_heatmap"], sentences)))  # not cached: another decoding
        default = registry.best_bundled(registry.bundled_entries(folder))
        if args.heads and default is not None:
            page.locator(".st-key-translate_view button").filter(has_text="Heads").first.click()
            wait_idle(page, WAIT_MS)
            layers, heads = shape_of(load_checkpoint(default.path).translate(sentences[0]), "cross")
            cells = layers * heads
            rows.append((f"Translate, Heads view (grid of {cells})", 1, measure(page, "translate", ["heads_heatmap"], sentences, cells)))
        go_to(page, "Compare", WAIT_MS)
        default = len(registry.default_compare(entries))
        choose_compare_models(page, [by_id[i] for i in chosen[default:]])
        compare_keys = [f"compare_heatmap_{n}" for n in range(len(chosen))]
        rows.append(("Compare (opens on beam search)", len(chosen), measure(page, "compare", compare_keys, sentences)))
        page.locator(".st-key-compare_decoding button").filter(has_text="Greedy").first.click()
        wait_idle(page, WAIT_MS)
        rows.append(("Compare, greedy", len(chosen), measure(page, "compare", compare_keys, sentences)))
        if args.shots:
            screenshots(page, args.shots)
        if problems:
            print("browser console errors:", *problems, sep="\n  ")

    head = ["page", "models", "sentences", "median s", "min s", "max s"]
    table = [[name, str(models), str(len(times)), f"{statistics.median(times):.3f}", f"{min(times):.3f}", f"{max(times):.3f}"] for name, models, times in rows]
    where = folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder
    report("bench/app.py", sys.argv[1:], [f"Machine: {machine(resolve_device('auto'))}", f"Checkpoints: {where}; app server: {server_threads()}", markdown_table(head, table)], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
