"""Issue 16 in a real browser: the first page shows a heatmap with no typing, on a desktop and a
phone, and its address can be reloaded to the same translation."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, WAIT_MS, checkpoints, pytestmark, url  # noqa: F401 (fixtures and marks)
from webapp.harness import HEATMAP_DRAWN, browser_page, exceptions, go_to, open_app, type_sentence, wait_heatmap, wait_idle

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


def test_a_new_sentence_or_a_chinese_model_leaves_no_stale_picker(url, checkpoints):  # noqa: F811
    """Found by a fresh user: the hypothesis picker kept showing the previous sentence's best
    translation; after switching to a zh→en model the example picker still showed the English
    example, and pressing Enter on a Chinese sentence sent that stale pick back (a TypeError
    instead of the page)."""
    from webapp import registry

    zh = next((e for e in registry.bundled_entries(checkpoints) if e.label.startswith("zh-en")), None)
    if zh is None:
        pytest.skip("no zh-en model among the checkpoints")
    hypothesis = '[class*="st-key-translate_hypothesis_"] input'  # a combobox: the shown label is its value
    with browser_page(1400, 1000) as (pg, problems):
        open_app(pg, url, WAIT_MS)
        pg.wait_for_selector(FIRST_HEATMAP, timeout=WAIT_MS)
        before = pg.locator(hypothesis).input_value()
        type_sentence(pg, "translate", "The weather is very nice today.")
        wait_heatmap(pg, "translate_heatmap", "weather", WAIT_MS)
        # the one picker left (the old one goes once the run is over) shows the new best translation
        pg.wait_for_function(
            "([sel, before]) => { const p = document.querySelectorAll(sel); return p.length === 1 && p[0].value !== before; }",
            arg=[hypothesis, before], timeout=WAIT_MS,
        )
        assert pg.locator(hypothesis).input_value().startswith("1. ")

        pg.locator(".st-key-model [data-testid='stSelectbox']").click()
        pg.locator('[role="option"]').filter(has_text=zh.label).first.click()
        wait_idle(pg, WAIT_MS)
        assert "There is" not in pg.locator(".st-key-translate_example_zh input").input_value()
        type_sentence(pg, "translate", "我明天去北京看朋友。")
        wait_heatmap(pg, "translate_heatmap", "北", WAIT_MS)
        wait_idle(pg, WAIT_MS)
        assert pg.locator(".st-key-translate_sentence input").input_value() == "我明天去北京看朋友。"
        assert exceptions(pg) == [] and problems == []
