"""Issue 16 in a real browser: the first page shows a heatmap with no typing, on a desktop and a
phone, and its address can be reloaded to the same translation."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, WAIT_MS, checkpoints, pytestmark, url  # noqa: F401 (fixtures and marks)
from webapp.harness import HEATMAP_DRAWN, browser_page, exceptions, go_to, open_app, wait_idle

FIRST_HEATMAP = f".st-key-translate_heatmap {HEATMAP_DRAWN}"


@pytest.mark.parametrize("width, height, agent", [(1400, 1000, None), (390, 844, PHONE)], ids=["desktop", "phone"])
def test_the_first_page_shows_a_heatmap_without_typing_and_reloads_to_it(url, width, height, agent):  # noqa: F811
    with browser_page(width, height, user_agent=agent) as (pg, problems):
        pg.goto(url, timeout=WAIT_MS)
        pg.wait_for_selector(FIRST_HEATMAP, timeout=WAIT_MS)  # the chart's SVG, and nothing was typed
        wait_idle(pg, WAIT_MS)
        sentence = pg.locator(".st-key-translate_sentence input").input_value()
        assert sentence
        # the heatmap is within the first screen on a desktop (its options come after it)
        if agent is None:
            assert pg.locator(".st-key-translate_heatmap .js-plotly-plot").bounding_box()["y"] < height
        assert "model=" in pg.url and "s=" in pg.url and "view=Heatmap" in pg.url
        shared = pg.url
        assert exceptions(pg) == [] and problems == []
    with browser_page(width, height, user_agent=agent) as (pg, problems):
        pg.goto(shared.replace("view=Heatmap", "view=Flow"), timeout=WAIT_MS)
        pg.wait_for_selector(".st-key-flow_chart .js-plotly-plot .main-svg", timeout=WAIT_MS)
        wait_idle(pg, WAIT_MS)
        assert pg.locator(".st-key-translate_sentence input").input_value() == sentence
        assert exceptions(pg) == [] and problems == []


# Per chart of Compare's side-by-side view: the top of the chart, of its controls, the chart's width
# and the width of its heatmap's cells (plotly's drag layer covers the plot area).
PANELS_JS = """() => [...document.querySelectorAll('[class*="st-key-compare_heatmap_"] .js-plotly-plot')].map(gd => {
    const key = [...gd.closest('[class*="st-key-compare_heatmap_"]').classList].find(c => c.startsWith('st-key-compare_heatmap_')).slice(7);
    const controls = document.querySelector(`.st-key-${key}_controls`).getBoundingClientRect();
    const chart = gd.getBoundingClientRect(), cells = gd.querySelector('.nsewdrag').getBoundingClientRect();
    return {key, top: chart.top, controls: controls.top, width: chart.width, cells: cells.width};
})"""


def test_compare_lines_up_each_row_and_gives_the_heatmaps_the_column_width(url):  # noqa: F811
    """Two heatmaps to a row on a desktop: a Transformer's head picker beside its Download button,
    not above its chart, so a row's charts and controls start at one height; the colour bar
    under the cells, so they get most of the column."""
    with browser_page(1400, 1000) as (pg, problems):
        open_app(pg, url, WAIT_MS)
        go_to(pg, "Compare", WAIT_MS)
        pg.wait_for_selector(f".st-key-compare_heatmap_1 {HEATMAP_DRAWN}", timeout=WAIT_MS)
        wait_idle(pg, WAIT_MS)
        panels = pg.evaluate(PANELS_JS)
        values = pg.evaluate("() => document.querySelectorAll('[class*=st-key-compare_heatmap_] .heatmaplayer text').length")
        assert len(panels) >= 2 and exceptions(pg) == [] and problems == []
    for left, right in zip(panels[::2], panels[1::2]):
        assert abs(left["top"] - right["top"]) < 2 and abs(left["controls"] - right["controls"]) < 2, (left, right)
    assert all(p["cells"] > 0.7 * p["width"] for p in panels), panels
    assert values == 0  # no cell values: in a narrower window they ran into each other
