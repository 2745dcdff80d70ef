"""Run the app in a real Streamlit server and drive it with Chromium (Python playwright).

Shared by tests/test_browser.py and bench/app.py. Chromium is Debian's (/usr/bin/chromium);
playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
START_TIMEOUT_S = 60
# A chart is drawn when Plotly has put its SVG into the page; a heatmap when its cells are in.
DRAWN = ".js-plotly-plot .main-svg"
HEATMAP_DRAWN = ".js-plotly-plot .main-svg .heatmaplayer image"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(checkpoints: Path, root: Path = ROOT) -> Iterator[str]:
    """``streamlit run app.py`` of the checkout ``root`` (this one by default) on a free port
    with ``checkpoints`` as the bundled models; yields the base URL and always stops the server."""
    port = free_port()
    env = os.environ | {"ATTNVIZ_CHECKPOINTS": str(checkpoints)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not become healthy in time") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def browser_page(width: int = 1400, height: int = 1000, timeout_ms: int = 120_000, user_agent: str | None = None):
    """A Chromium page (actions wait up to ``timeout_ms``, ``user_agent`` in place of Chromium's
    own); yields (page, problems), problems collecting console errors and uncaught page errors
    as strings."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, user_agent=user_agent)
            page.set_default_timeout(timeout_ms)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            yield page, problems
        finally:
            browser.close()


def open_app(page, url: str, timeout_ms: int = 120_000) -> None:
    """Load the app and wait until the first script run has drawn the page."""
    page.goto(url, timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until no script run is in progress (the status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def go_to(page, title: str, timeout_ms: int = 120_000) -> None:
    """Switch page with the sidebar navigation (keeps the session, unlike a new URL)."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def type_sentence(page, page_key: str, text: str) -> None:
    """Type ``text`` into the page's sentence box and press Enter."""
    box = page.locator(f".st-key-{page_key}_sentence input")
    box.fill(text)
    box.press("Enter")


def wait_heatmap(page, key: str, token: str | None = None, timeout_ms: int = 60_000) -> None:
    """Wait until the heatmap of chart ``key`` is drawn, and (if given) shows ``token`` among
    its column labels, so a previous sentence's heatmap does not count. (Plotly puts
    zero-width spaces around styled label parts; they are ignored.)"""
    page.wait_for_function(
        """([sel, token]) => {
            const root = document.querySelector(sel);
            if (!root || !root.querySelector('.heatmaplayer image')) return false;
            if (token === null) return true;
            return [...root.querySelectorAll('.xtick text')].some(t => t.textContent.replace(/\u200b/g, '') === token);
        }""",
        arg=[f".st-key-{key} .js-plotly-plot", token],
        timeout=timeout_ms,
    )


def exceptions(page) -> list[str]:
    """Texts of Streamlit exception boxes on the page."""
    return page.locator('[data-testid="stException"]').all_inner_texts()
