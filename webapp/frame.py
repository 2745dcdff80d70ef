"""The frame around every page: page config, styles, navigation and the shared sidebar.

``app.py`` draws the frame and runs the chosen page inside it. Each page file also calls
:func:`ensure` first, because the pages live in ``pages/`` beside ``app.py``: until some session
has called ``st.navigation``, Streamlit (1.67) also routes every script run through its legacy
``pages/`` router (``PagesManager.uses_pages_directory``), which runs a page file by itself,
without ``app.py``. That is the first run of a freshly started server (for example one opened
at ``/compare``), and every ``AppTest.run()``, which resets that flag before each run. In such a
run the page draws the frame itself; its ``st.navigation`` call registers the real pages and
switches the legacy router off for the rest of the process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from models.paths import ICON, STYLE

# (file relative to app.py, title, icon); the first is the default page.
PAGES = [
    ("pages/translate.py", "Translate", ":material/translate:"),
    ("pages/compare.py", "Compare", ":material/compare:"),
    ("pages/checkpoints.py", "Checkpoints", ":material/inventory_2:"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:"),
    ("pages/heads.py", "Heads", ":material/grid_view:"),
    ("pages/about.py", "About", ":material/info:"),
]

TRANSLATE_VIEW = "translate_view"  # the Translate page's view picker, kept in the address
_inside = ContextVar("attnviz_inside_frame", default=False)


@functools.cache
def _styles() -> str:
    """assets/style.css, read once per process (the frame is drawn on every rerun)."""
    return STYLE.read_text(encoding="utf-8")


def draw():
    """Draw the frame and return the page ``st.navigation`` chose (not yet run)."""
    st.set_page_config(page_title="Attention Lens", page_icon=str(ICON), layout="wide")
    st.html(f"<style>{_styles()}</style>")
    page = st.navigation([st.Page(path, title=title, icon=icon, default=n == 0) for n, (path, title, icon) in enumerate(PAGES)])
    # Imported after st.navigation: on a fresh server's first run the legacy router has already
    # sent its own menu, which this replaces; importing torch first kept that menu up for seconds.
    import torch

    from webapp import registry, state, views

    registry.configure_threads()
    state.restore_from_url(views.SHARED_SENTENCE, TRANSLATE_VIEW)
    state.keep_valid_choice()
    with st.sidebar:
        entries = state.entries()
        if entries:
            labels = {e.id: e.label for e in entries}
            st.selectbox(
                "Model",
                list(labels),
                format_func=labels.get,
                key=state.MODEL_KEY,
                help="Your uploads from the Checkpoints page come first, then the bundled models. The app starts on the bundled model with the best stored test BLEU.",
            )
        else:
            st.caption("No models yet: upload one on the Checkpoints page.")
        cuda = torch.cuda.is_available()
        st.radio("Device", ["auto", "cpu", "cuda"] if cuda else ["auto", "cpu"], key=state.DEVICE_KEY, horizontal=True)
        used = state.device()
        name = torch.cuda.get_device_name(used) if used.type == "cuda" else "CPU"
        st.caption(
            f"Running on **{used.type}** ({name})." + ("" if cuda else " CUDA is not available on this machine, so it is not offered.")
        )
    if notice := state.missing_model_notice():  # above the page, where a phone (its sidebar folded away) shows it too
        st.container(key="url_notice").warning(state.plain(notice), icon=":material/link_off:")
    return page


@contextmanager
def inside() -> Iterator[None]:
    """Mark the page run inside this block as drawn in the frame (app.py wraps ``page.run()``)."""
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def ensure() -> None:
    """Draw the frame unless app.py already did in this run (see the module docstring)."""
    if _inside.get():
        return
    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode: no session, no widgets to keep apart
        draw()
        return
    # st.navigation makes the entrypoint's hash the active one for whatever is drawn next, and
    # widget ids include it. Under app.py that is right for the frame and the page then runs
    # under its own hash; here the page is already running, so confine the entrypoint's hash to
    # the frame: the page's widgets then get the same ids as under app.py, and keep their values.
    with ctx.run_with_active_hash(ctx.pages_manager.main_script_hash):
        draw()
