"""End to end in a real browser: Streamlit server + Debian's Chromium via Python playwright.

Bundled models are the real ones in assets/checkpoints when there are any, else tiny random
ones. Every step also checks that no Streamlit exception box and no browser console error
appeared.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.tiny import make_translator
from models.checkpoint import save_checkpoint
from webapp import registry
from webapp.harness import CHROMIUM, app_server, browser_page, exceptions, go_to, open_app, type_sentence, wait_heatmap, wait_idle

REQUIRED = os.environ.get("ATTNVIZ_REQUIRE_BROWSER") == "1"  # set by .ci/run: a missing browser fails, never skips
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not REQUIRED, reason=f"needs Debian's chromium at {CHROMIUM} (CI installs it)"),
]
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    if registry.bundled_entries(registry.DEFAULT_DIR):
        return registry.DEFAULT_DIR
    folder = tmp_path_factory.mktemp("checkpoints")
    for scorer, mode in [("dot", "soft"), ("general", "soft"), ("additive", "soft"), ("additive", "hard")]:
        save_checkpoint(make_translator(scorer, mode), folder / f"en-zh-{scorer}-{mode}.safetensors")
    return folder


@pytest.fixture(scope="module")
def url(checkpoints):
    with app_server(checkpoints) as base:
        yield base


@pytest.fixture
def page(url):
    with browser_page() as (pg, problems):
        open_app(pg, url, WAIT_MS)
        yield pg
        assert exceptions(pg) == []
        assert problems == []


def test_translate_compare_and_an_uploaded_model_draw_their_charts(page, checkpoints, tmp_path):
    type_sentence(page, "translate", "I love you.")
    wait_heatmap(page, "translate_heatmap", "love", WAIT_MS)

    go_to(page, "Compare", WAIT_MS)
    compared = len(registry.default_compare(registry.bundled_entries(checkpoints)))
    assert compared >= 2
    for n in range(compared):
        wait_heatmap(page, f"compare_heatmap_{n}", "love", WAIT_MS)

    go_to(page, "Checkpoints", WAIT_MS)
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    uploader.set_input_files(str(broken))
    page.locator('[data-testid="stAlertContentError"]').filter(has_text="broken.safetensors").wait_for(timeout=WAIT_MS)

    mine = save_checkpoint(make_translator("cosine", "soft", seed=3), tmp_path / "mine.safetensors")
    uploader.set_input_files(str(mine))
    page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="mine (uploaded)").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Translate with it").click()
    page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(has_text="mine (uploaded)").filter(
        has_text="cosine"
    ).wait_for(timeout=WAIT_MS)
    wait_heatmap(page, "translate_heatmap", "love", WAIT_MS)


PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
CELL_TEXT_JS = "sel => document.querySelectorAll(sel + ' .js-plotly-plot .heatmaplayer text').length"


def test_a_phone_gets_heatmaps_without_cell_values_that_would_not_fit(url):
    """On a desktop the cells of a twelve-word sentence show their values; on a phone (its user
    agent says Mobile) the same heatmap leaves them out rather than print them over each other."""
    counts = []
    for width, height, agent in ((1400, 1000, None), (390, 844, PHONE)):
        with browser_page(width, height, user_agent=agent) as (pg, problems):
            pg.goto(url, timeout=WAIT_MS)  # (open_app waits for the sidebar, which a phone keeps folded)
            pg.wait_for_selector(".st-key-translate_sentence input", timeout=WAIT_MS)
            wait_idle(pg, WAIT_MS)
            type_sentence(pg, "translate", "I like to drink green tea with my friends every day.")
            wait_heatmap(pg, "translate_heatmap", "day", WAIT_MS)
            counts.append(pg.evaluate(CELL_TEXT_JS, ".st-key-translate_heatmap"))
            assert exceptions(pg) == [] and problems == []
    desktop, phone = counts
    assert desktop > 0 and phone == 0


# Counts plotly.js's full draws (plotly_beforeplot) of every chart after its first one.
COUNT_REDRAWS_JS = """
window.redraws = 0;
const watched = new WeakSet();
new MutationObserver(() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        if (watched.has(gd) || !gd.on) continue;  // gd.on: Plotly has started its first draw
        watched.add(gd);
        gd.on('plotly_beforeplot', () => { window.redraws += 1; });
    }
}).observe(document, {subtree: true, childList: true});
"""


def test_a_new_heatmap_is_drawn_once(url):
    """Streamlit hands plotly.js every new figure a second time right after mounting it; that
    must not draw it again (viz.style.LOOK, webapp.views.chart)."""
    with browser_page() as (pg, problems):
        pg.add_init_script(COUNT_REDRAWS_JS)
        open_app(pg, url, WAIT_MS)
        # Plotly draws a chart again when a web font it used was still loading: load them all first.
        pg.evaluate("async () => { await Promise.allSettled([...document.fonts].map(f => f.load())); }")
        for sentence, token in [("I love you.", "love"), ("The cat sat on the mat.", "cat")]:
            pg.evaluate("window.redraws = 0")
            type_sentence(pg, "translate", sentence)
            wait_heatmap(pg, "translate_heatmap", token, WAIT_MS)
            wait_idle(pg, WAIT_MS)
            pg.wait_for_timeout(1000)
            assert pg.evaluate("window.redraws") == 0
        assert exceptions(pg) == []
        assert problems == []


@pytest.mark.parametrize("title", ["Evaluate", "About", "Translate"])
def test_every_other_page_opens_cleanly(page, title):
    go_to(page, title, WAIT_MS)
    assert page.locator("h1").filter(has_text=title).count() == 1


def test_a_fresh_server_opened_at_a_page_url_draws_that_page_in_the_app_frame(checkpoints):
    """Until some session has called st.navigation, Streamlit also routes through its legacy
    router for the pages/ folder, which runs a page file without app.py (webapp/frame.py)."""
    with app_server(checkpoints) as base, browser_page() as (pg, problems):
        pg.goto(f"{base}/about", timeout=WAIT_MS)
        pg.locator("h1").filter(has_text="About").wait_for(timeout=WAIT_MS)
        wait_idle(pg, WAIT_MS)
        nav = pg.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert [n.split()[-1] for n in nav] == ["Translate", "Compare", "Checkpoints", "Evaluate", "Heads", "About"]
        assert pg.locator(".st-key-model").count() == 1
        assert exceptions(pg) == []
        # Opened at a page URL, the frontend first asks /about/_stcore/... (404s; so it does without a pages/ folder).
        assert [p for p in problems if "status of 404" not in p] == []
