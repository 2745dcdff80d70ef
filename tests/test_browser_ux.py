"""Issue 16 in a real browser: the first page shows a heatmap with no typing, on a desktop and a
phone, and its address can be reloaded to the same translation."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, WAIT_MS, checkpoints, pytestmark, url  # noqa: F401 (fixtures and marks)
from webapp.harness import HEATMAP_DRAWN, browser_page, exceptions, wait_idle

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
