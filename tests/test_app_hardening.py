"""The running app under strange text, hostile uploads and several sessions.

AppTest drives the pages in-process; the ``browser`` test drives a real server with Chromium to
check that text which looks like HTML or script is shown, never interpreted.
"""

from __future__ import annotations

import gc
import io
import os
import re
import tomllib
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import FunctionType, MethodType, ModuleType

import pytest
import torch
from google.protobuf.json_format import MessageToDict
from plotly.basedatatypes import BaseFigure
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.testing.v1 import AppTest

import webapp.registry as registry
from bench.hostile import EVIL, EVIL_FILE_NAME, HOSTILE, hostile_file, marker_path, planted_checkpoint, planted_refusals
from bench.tiny import make_translator
from models.checkpoint import MAX_FILE_BYTES, save_checkpoint
from models.translator import MAX_SOURCE_TOKENS
from tests.test_bad_input import ODD_TEXTS

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
TIMEOUT_S = 180
VIEWS = ["Heatmap", "Highlight", "Flow", "Step through", "Diagnostics"]
LONG_TEXTS = {"5,000 characters": ("the cat sat on the mat . " * 200)[:5000], "500 words": " ".join(["tea"] * 500)}
INJECTIONS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "**bold** $x^2$"]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint_dir: Path) -> AppTest:
    monkeypatch.setenv(registry.CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()


def unescaped(markdown: str) -> str:
    """What a Markdown string escaped by ``webapp.text.plain`` shows."""
    return re.sub(r"\\(.)", r"\1", markdown)


def translate(at: AppTest, text: str) -> AppTest:
    """Type ``text`` on Translate; like the browser, the box would keep at most its max_chars (it sets none)."""
    box = at.switch_page("pages/translate.py").run().text_input(key="translate_sentence")
    return box.input(text[: box.proto.max_chars or None]).run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at = at.switch_page("pages/checkpoints.py").run()
    return at.file_uploader(key="checkpoint_upload").set_value((name, data, "application/octet-stream")).run()


def uploaded_options(at: AppTest) -> list[str]:
    return [o for o in at.selectbox(key="model").options if o.endswith("(uploaded)")]


def file_data_and_figures(at: AppTest) -> list[str]:
    """What the session state holds that is file data or a figure: file objects, bytes of 4 KiB
    or more, Plotly figures. Models, results and tables are the session's to keep; an uploaded
    file is let go once read, figures live in a process-wide cache, downloads in Streamlit's
    media store."""
    found, seen = [], set()
    todo = [(repr(k), at.session_state[k]) for k in at.session_state]
    while todo:
        where, obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (str, torch.Tensor, type, ModuleType, FunctionType, MethodType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (io.IOBase, BaseFigure)) or (isinstance(obj, (bytes, bytearray, memoryview)) and len(obj) >= 4096):
            found.append(f"{where}: {type(obj).__name__}")
        elif isinstance(obj, dict):
            todo += [(f"{where}[{k!r}]", v) for k, v in obj.items()]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += [(f"{where}[{n}]", v) for n, v in enumerate(obj)]
        elif hasattr(obj, "__dict__"):
            todo += [(f"{where}.{k}", v) for k, v in vars(obj).items()]
    return found


def every_view(at: AppTest) -> Iterator[AppTest]:
    """Rerun ``at`` with each Translate view in turn, yielding it after each run."""
    for view in VIEWS:
        at.session_state["translate_view"] = view
        yield at.run()


@pytest.mark.parametrize("case", list(ODD_TEXTS) + list(LONG_TEXTS))
def test_odd_text_gives_every_view_without_an_exception(app: AppTest, case: str) -> None:
    at = translate(app, (ODD_TEXTS | LONG_TEXTS)[case])
    for run in every_view(at):
        assert not run.exception, [e.value for e in run.exception]
        assert not run.error, [e.value for e in run.error]
    if case in LONG_TEXTS:
        assert f"only the first {MAX_SOURCE_TOKENS}" in at.warning[0].value


@pytest.mark.parametrize(("text", "message"), [("  \t ", "Type a sentence"), ("\u200b\u200d\u202e", "no readable tokens")])
def test_blank_or_invisible_text_gets_a_message(app: AppTest, text: str, message: str) -> None:
    at = translate(app, text)
    assert not at.exception
    assert any(message in m.value for m in [*at.info, *at.error])
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("text", INJECTIONS[:2])
def test_html_in_the_input_reaches_the_page_only_escaped(app: AppTest, text: str) -> None:
    bodies = [h.proto.body for run in every_view(translate(app, text)) for h in run.html]
    assert any("&lt;" in body for body in bodies)
    assert not any(tag in body.lower() for body in bodies for tag in ("<img", "<script", "onerror="))


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_upload_shows_the_loader_message_and_the_app_keeps_serving(app: AppTest, case: str, tmp_path: Path) -> None:
    data, reason = hostile_file(case, tmp_path)
    at = upload(app, f"{case}.safetensors", data)
    assert not at.exception
    assert any(reason in unescaped(e.value) for e in at.error), [e.value for e in at.error]
    assert not marker_path(tmp_path).exists(), "unpickling ran code"
    assert uploaded_options(at) == []
    at = translate(at, "I love you .")
    assert not at.exception and not at.error
    assert at.get("plotly_chart")


def test_the_upload_limit_is_set_and_within_what_the_loader_accepts() -> None:
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = settings["server"]["maxUploadSize"]
    assert 0 < limit_mb * 2**20 <= MAX_FILE_BYTES


def test_a_session_keeps_at_most_max_uploads_models(app: AppTest, tmp_path: Path) -> None:
    at = app
    for seed in range(registry.MAX_UPLOADS + 1):
        path = save_checkpoint(make_translator(seed=seed + 10), tmp_path / f"m{seed}.safetensors")
        at = upload(at, path.name, path.read_bytes())
    assert len(uploaded_options(at)) == registry.MAX_UPLOADS
    assert f"already holds {registry.MAX_UPLOADS}" in at.error[0].value


def test_uploads_belong_to_their_session(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint_dir: Path, tiny_checkpoint: Path) -> None:
    monkeypatch.setenv(registry.CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    first, second = (AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run() for _ in range(2))
    first = upload(first, "mine.safetensors", tiny_checkpoint.read_bytes())
    assert len(uploaded_options(first)) == 1
    assert uploaded_options(second.run()) == []


def test_bundled_models_are_loaded_once_for_all_sessions(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint_dir: Path) -> None:
    monkeypatch.setenv(registry.CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    registry._load_file.clear()
    loads: list[str] = []
    real = registry.load_checkpoint
    monkeypatch.setattr(registry, "load_checkpoint", lambda path, **kw: loads.append(Path(path).name) or real(path, **kw))
    for _ in range(3):
        translate(AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run(), "I love you .")
    assert loads and len(loads) == len(set(loads))


def test_an_uploaded_file_is_let_go_once_it_is_read(monkeypatch: pytest.MonkeyPatch, app: AppTest, tmp_path: Path) -> None:
    """Streamlit keeps an uploaded file in its uploaded-file store until the session ends: once
    read (refused or loaded), the file leaves it, and the session keeps the model, no bytes."""
    stored: list[str] = []
    released: list[str] = []
    add, remove = MemoryUploadedFileManager.add_file, MemoryUploadedFileManager.remove_file

    def adding(self, session_id: str, file) -> None:
        stored.append(file.file_id)
        add(self, session_id, file)

    def removing(self, session_id: str, file_id: str) -> None:
        released.append(file_id)
        remove(self, session_id, file_id)

    monkeypatch.setattr(MemoryUploadedFileManager, "add_file", adding)
    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file", removing)
    path = save_checkpoint(make_translator("dot", "soft", seed=4), tmp_path / "mine.safetensors")
    at = upload(app, "broken.safetensors", b"\x00" * 64)
    assert "broken.safetensors" in unescaped(at.error[0].value)
    at = upload(at, path.name, path.read_bytes())
    assert uploaded_options(at) == ["mine (uploaded)"] and at.success
    assert stored and set(released) == set(stored)
    at.button(key="use_upload").click().run()  # leaves Checkpoints: the uploader's value goes too
    assert file_data_and_figures(at) == []
    assert not translate(at, "I love you .").exception
    assert file_data_and_figures(at) == []


def test_a_session_keeps_no_figures_or_download_data_in_its_state(app: AppTest) -> None:
    at = translate(app, "I love you .")
    for run in every_view(at):
        assert not run.exception
    at = at.switch_page("pages/compare.py").run()
    at.session_state["compare_heatmap_0_download"] = True
    at = at.run()
    assert not at.exception and at.get("plotly_chart") and at.download_button
    assert file_data_and_figures(at) == []


def test_an_uploaded_model_is_freed_with_its_session(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint_dir: Path, tmp_path: Path) -> None:
    """Nothing outside the session (caches, figures) keeps an uploaded model alive."""
    monkeypatch.setenv(registry.CHECKPOINTS_ENV, str(tiny_checkpoint_dir))
    path = save_checkpoint(make_translator("dot", "soft", seed=3), tmp_path / "mine.safetensors")
    at = upload(AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run(), path.name, path.read_bytes())
    at.button(key="use_upload").click().run()
    for run in every_view(translate(at, "I love you .")):
        assert not run.exception
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    (model,) = [weakref.ref(translator.model) for _, translator in at.session_state["_uploads"].models.values()]
    del at, run
    gc.collect()
    assert model() is None


def _chromium_or_skip() -> None:
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("ATTNVIZ_REQUIRE_BROWSER"):
            pytest.fail("ATTNVIZ_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")


def injected(page) -> list[str]:
    """What an interpreted injection would leave in the page: elements, scripts, exception boxes."""
    found = [f"{n} injected <img>" for n in [page.locator('img[src="x"], img[onerror]').count()] if n]
    if page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('alert(1)'))"):
        found.append("injected <script>")
    return found + page.locator('[data-testid="stException"]').all_inner_texts()


@pytest.mark.browser
def test_the_injection_checks_catch_an_interpreted_injection() -> None:
    _chromium_or_skip()
    from webapp.harness import browser_page

    dialogs: list[str] = []
    with browser_page() as (page, _problems):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.set_content("<p>x</p>" + INJECTIONS[0] + INJECTIONS[1])
        page.wait_for_timeout(500)
        assert len(injected(page)) == 2 and dialogs


@pytest.mark.browser
def test_text_that_looks_like_html_is_never_interpreted_in_the_browser(tiny_checkpoint_dir: Path) -> None:
    _chromium_or_skip()
    from webapp.harness import app_server, browser_page, open_app, type_sentence, wait_idle

    dialogs: list[str] = []
    with app_server(tiny_checkpoint_dir) as url, browser_page() as (page, _problems):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        open_app(page, url)
        for text in INJECTIONS:
            type_sentence(page, "translate", text)
            wait_idle(page)
            for view in ("Heatmap", "Highlight"):  # the views that put tokens into HTML
                page.locator(".st-key-translate_view button").filter(has_text=view).click()
                wait_idle(page)
                assert injected(page) == []
            assert page.locator(".st-key-translate_sentence input").input_value() == text
        assert dialogs == []


def test_every_download_is_made_only_when_clicked(app: AppTest) -> None:
    """Deferred downloads: no export bytes in the session, and the browser never checks (and
    404s on) a file that a newer run has already replaced."""
    at = translate(app, "I love you .")
    at = at.switch_page("pages/compare.py").run()
    at.session_state["compare_heatmap_0_download"] = True
    for run in (translate(app, "I love you ."), at.run()):
        assert run.download_button
        for button in run.download_button:
            assert button.proto.deferred_file_id and not button.proto.url, button.key


# Proto fields Streamlit renders as Markdown: bodies of markdown, captions, alerts and headings;
# labels and help of widgets, expanders, metrics and buttons; progress text. st.html, charts,
# dataframes, options and values are text (or escaped HTML) and may hold the strings as written.
MARKDOWN_FIELDS = {"body", "label", "help", "text"}
NOT_MARKDOWN = {"Html", "PlotlyChart", "Arrow", "Table", "Code", "Text"}
MARKUP = ("](", "![", "<img")  # an EVIL string's link, image or HTML, not backslash-escaped
AUTOLINK = re.compile(r"(?i)https?://|www\.|[-.+\w]@")  # what GFM links by itself, escaped or not (remark-gfm)


def _strings(data: object, key: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(v, k)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v, key)
    elif isinstance(data, str) and key in MARKDOWN_FIELDS:
        yield data


def markdown_strings(at: AppTest) -> list[str]:
    """Every string on the page that Streamlit renders as Markdown, st.table cells included."""
    found: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and type(proto).__name__ not in NOT_MARKDOWN:
            found.extend(_strings(MessageToDict(proto)))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for table in at.table:
        frame = table.value
        found += [str(v) for v in [*frame.to_numpy().ravel(), *frame.index, *frame.columns]]
    return found


def interpreted(at: AppTest) -> list[str]:
    """Markdown strings holding a planted string that would render as an image, a link or HTML:
    what is left of it once backslash-escaped characters (shown as themselves) are set aside."""
    return [
        s for s in markdown_strings(at)
        if "evil" in s and (any(x in re.sub(r"\\.", "·", s) for x in MARKUP) or AUTOLINK.search(unescaped(s)))
    ]


def test_checkpoint_and_file_name_strings_reach_every_page_as_text(app: AppTest, tmp_path: Path) -> None:
    """EVIL planted in the model's name, training values, metric names, languages, target tokens,
    the uploaded file's name and the loader's error messages: on every page, no Markdown element
    holds one in a form that would render an image, a link or HTML."""
    good = planted_checkpoint(tmp_path)
    reached: dict[str, int] = {}

    def check(name: str, at: AppTest) -> AppTest:
        assert not at.exception, (name, [e.value for e in at.exception])
        assert interpreted(at) == [], name
        reached[name] = sum("evil" in s for s in markdown_strings(at))
        return at

    for what, data in planted_refusals(good).items():
        at = check(f"refused {what}", upload(app, EVIL_FILE_NAME, data))
        assert any("evil" in e.value for e in at.error), what
    at = check("Checkpoints with the card", upload(app, EVIL_FILE_NAME, good))
    assert at.success and uploaded_options(at)
    at.button(key="use_upload").click().run()
    at = translate(at, " ".join(EVIL))
    at.session_state["translate_decoding"] = "Beam search"
    for view in VIEWS:
        at.session_state["translate_view"] = view
        check(f"Translate {view}", at.run())
    at.session_state["compare_models_en_zh"] = [e.id for e in at.session_state["_uploads"].entries()] + ["bundled/en-zh-dot-soft.safetensors"]
    check("Compare", at.switch_page("pages/compare.py").run())
    check("Evaluate", at.switch_page("pages/evaluate.py").run())
    assert reached["Checkpoints with the card"] >= 5 and reached["Translate Heatmap"] >= 2, reached  # the strings did reach the pages


def test_the_markdown_check_catches_an_unescaped_string(app: AppTest) -> None:
    at = app.switch_page("pages/checkpoints.py").run()
    at.session_state["_upload_notice"] = ("error", EVIL[0])
    assert interpreted(at.run()) == [EVIL[0]]


def foreign(page, requests: list[str]) -> list[str]:
    """What a planted string interpreted in the browser would leave: images or links pointing at
    evil.example, and requests the browser made to it."""
    found = [f"{n} <img> from evil.example" for n in [page.locator('img[src*="evil"]').count()] if n]
    found += [f"{n} link to evil.example" for n in [page.locator('a[href*="evil"]').count()] if n]
    return found + [f"request: {r}" for r in requests if "evil" in r]


@pytest.mark.browser
def test_planted_markdown_is_never_a_link_or_image_in_the_browser(tiny_checkpoint_dir: Path, tmp_path: Path) -> None:
    _chromium_or_skip()
    from webapp.harness import app_server, browser_page, go_to, open_app, type_sentence, wait_idle

    good = tmp_path / EVIL_FILE_NAME
    good.write_bytes(planted_checkpoint(tmp_path))
    refused = tmp_path / f"refused {EVIL_FILE_NAME}"
    refused.write_bytes(planted_refusals(good.read_bytes())["format version"])
    requests: list[str] = []
    with app_server(tiny_checkpoint_dir) as url, browser_page() as (page, _problems):
        page.on("request", lambda r: requests.append(r.url))
        open_app(page, url)
        go_to(page, "Checkpoints")
        uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        uploader.set_input_files(str(refused))
        page.locator('[data-testid="stAlertContentError"]').filter(has_text="evil.example").wait_for()
        assert foreign(page, requests) == []
        uploader.set_input_files(str(good))
        page.locator('[data-testid="stAlertContentSuccess"]').wait_for()
        wait_idle(page)
        page.locator('[data-testid="stTable"]').filter(has_text="evil.example").first.wait_for()  # the model card, as text
        assert foreign(page, requests) == []
        page.get_by_role("button", name="Translate with it").click()
        wait_idle(page)
        type_sentence(page, "translate", " ".join(EVIL))
        page.locator(".st-key-translate_heatmap .js-plotly-plot .heatmaplayer image").wait_for()
        for view in ("Heatmap", "Highlight", "Step through"):
            page.locator(".st-key-translate_view button").filter(has_text=view).click()
            wait_idle(page)
            assert foreign(page, requests) == [], view
        assert page.get_by_text("evil.example").count() >= 1  # shown, as text
