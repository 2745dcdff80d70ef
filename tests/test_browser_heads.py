"""The layer × head grid in a real browser (Streamlit server + Debian's Chromium): every cell of
a tiny Transformer's grid is drawn, with no exception box and no console error."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.checkpoint import save_checkpoint
from tests.test_browser import REQUIRED, WAIT_MS
from tests.test_heads import make_transformer
from webapp.harness import CHROMIUM, app_server, browser_page, exceptions, open_app, type_sentence, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not REQUIRED, reason=f"needs Debian's chromium at {CHROMIUM} (CI installs it)"),
]
GRID = ".st-key-heads_grid .js-plotly-plot .main-svg"


def open_grid(page) -> None:
    """Translate a sentence and switch to the Heads view; wait for the grid's own SVG cells."""
    type_sentence(page, "translate", "I love you .")
    page.locator(".st-key-translate_view button").filter(has_text="Heads").first.click()
    page.wait_for_function(
        "sel => document.querySelectorAll(sel + ' .heatmaplayer image').length === 4", arg=GRID, timeout=WAIT_MS
    )
    wait_idle(page, WAIT_MS)


def test_the_grid_draws_every_head(tmp_path: Path):
    folder = tmp_path / "checkpoints"
    save_checkpoint(make_transformer(), folder / "en-zh-transformer.safetensors")
    with app_server(folder) as url, browser_page() as (page, problems):
        open_app(page, url, WAIT_MS)
        open_grid(page)
        titles = page.locator(f"{GRID} .annotation-text").all_text_contents()
        assert {"L1 H1", "L1 H2", "L2 H1", "L2 H2"} <= {t.strip() for t in titles}
        large = page.locator(".st-key-heads_heatmap .js-plotly-plot .heatmaplayer image")
        large.first.wait_for(timeout=WAIT_MS)  # Plotly draws the chart after the script run: wait for it, not the run
        assert large.count() == 1
        assert exceptions(page) == [] and problems == []
