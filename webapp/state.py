"""Session state shared by the pages: the chosen model and device, uploads, and error display.

Widget keys that several files read are named here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st
import torch
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.typing import UploadedFile

from models.checkpoint import CheckpointError
from models.translator import Translator, resolve_device

from . import registry
from .registry import ModelEntry, UploadStore
from .text import plain

MODEL_KEY = "model"  # sidebar model picker: a ModelEntry id
DEVICE_KEY = "device"  # sidebar device picker: "auto" | "cpu" | "cuda"
UPLOADER_KEY = "checkpoint_upload"
_UPLOADS = "_uploads"
_UPLOAD_NOTICE = "_upload_notice"
_URL_MISSING = "_url_missing_model"  # (model id the address named, the id shown instead)
log = logging.getLogger("attnviz")
T = TypeVar("T")


def uploads() -> UploadStore:
    return st.session_state.setdefault(_UPLOADS, UploadStore())


def entries() -> list[ModelEntry]:
    """Every model this session can pick: its uploads first, then the bundled ones."""
    return uploads().entries() + registry.bundled_entries()


def entry(model_id: str | None) -> ModelEntry | None:
    return next((e for e in entries() if e.id == model_id), None)


def device() -> torch.device:
    return resolve_device(st.session_state.get(DEVICE_KEY, "auto"))


def load(e: ModelEntry) -> Translator:
    return registry.load(e, device(), uploads())


def current() -> tuple[ModelEntry, Translator] | None:
    """The sidebar's model, loaded on the chosen device; None (with a message) when there is
    no model or it fails to load."""
    e = entry(st.session_state.get(MODEL_KEY))
    if e is None:
        st.info("No model yet. Upload a checkpoint on the Checkpoints page, or train one with `python -m models train`.")
        st.page_link("pages/checkpoints.py", label="Go to Checkpoints", icon=":material/upload_file:")
        return None
    translator = attempt(f"Loading {e.label}", load, e)
    return None if translator is None else (e, translator)


URL_MODEL, URL_SENTENCE, URL_VIEW = "model", "s", "view"  # query parameters of a shareable address
_URL_READ = "_url_read"
MAX_URL_SENTENCE = 500  # longer sentences stay out of the address (a long paste would make an unwieldy link)


def restore_from_url(sentence_key: str, view_key: str) -> None:
    """Once per session, before any widget is drawn: take the model, the sentence and the view
    from the address's query parameters (``?model=…&s=…&view=…``), so that a reload or a shared
    link opens the same translation. Unknown models and views are ignored later by the pickers."""
    if st.session_state.get(_URL_READ):
        return
    st.session_state[_URL_READ] = True
    params = st.query_params
    if params.get(URL_MODEL) and params[URL_MODEL] in {e.id for e in entries()}:
        st.session_state[MODEL_KEY] = params[URL_MODEL]
    elif params.get(URL_MODEL):
        keep_valid_choice()
        st.session_state[_URL_MISSING] = (params[URL_MODEL], st.session_state.get(MODEL_KEY))
    if URL_SENTENCE in params:
        st.session_state[sentence_key] = params[URL_SENTENCE][:MAX_URL_SENTENCE]
    if params.get(URL_VIEW):
        st.session_state[view_key] = params[URL_VIEW]


def missing_model_notice() -> str | None:
    """While the sidebar still shows the model taken instead of one the address named that is
    not here (an upload, which stays with the session that made it; a renamed file), a line
    saying so; None otherwise."""
    missing = st.session_state.get(_URL_MISSING)
    if not missing or st.session_state.get(MODEL_KEY) != missing[1]:
        return None
    return f"The link named the model {missing[0]!r}, which this server does not have (uploads stay with the session that made them); the sidebar's model is shown instead."


def keep_in_url(**values: str | None) -> None:
    """Write the page's model, sentence and view into the address (only those that changed)."""
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def choose_model(model_id: str) -> None:
    """Callback: make ``model_id`` the sidebar's model (before the sidebar is drawn)."""
    st.session_state[MODEL_KEY] = model_id


def keep_valid_choice() -> None:
    """Before the sidebar is drawn: when no model is chosen or the chosen one is gone, take the
    best bundled model by its stored test metrics (``registry.best_bundled``), else the first."""
    every = entries()
    if every and st.session_state.get(MODEL_KEY) not in {e.id for e in every}:
        best = registry.best_bundled(every)
        st.session_state[MODEL_KEY] = (best or every[0]).id


UNREADABLE = "it is not a checkpoint saved by this project's trainer (`python -m models train`), or it was damaged on the way."


PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
PICKLE_REFUSED = (
    ".pt files (and other pickles) are refused without being read, because loading one means unpickling it, which can "
    "run code. Upload the .safetensors file that `python -m models train` writes."
)


def handle_upload() -> None:
    """Callback of the Checkpoints uploader: validate and keep the file, and leave a notice.

    The file's bytes are let go first (``release_upload``): the session keeps the model built
    from them, or nothing when the file is refused."""
    file = st.session_state.get(UPLOADER_KEY)
    if not isinstance(file, UploadedFile):  # None (removed in the widget), or released (release_upload)
        return
    name, data = file.name, file.getvalue()
    release_upload(file)
    if name.lower().endswith(PICKLE_SUFFIXES):
        st.session_state[_UPLOAD_NOTICE] = ("error", f"{plain(name)} was refused: {PICKLE_REFUSED}")
        return
    try:
        e = uploads().add(name, data, device())
    except CheckpointError as exc:
        st.session_state[_UPLOAD_NOTICE] = ("error", f"{plain(name)} could not be loaded: {UNREADABLE} Details: {plain(exc)}")
        return
    except registry.UploadLimitError as exc:
        st.session_state[_UPLOAD_NOTICE] = ("error", f"{plain(name)}: {plain(exc)}")
        return
    st.session_state[_UPLOAD_NOTICE] = ("success", e.id)


def release_upload(file: UploadedFile) -> None:
    """Let go of an uploaded file once its bytes have been read.

    Streamlit keeps an uploaded file in its uploaded-file store until the user removes it in
    the widget or the session ends: a checkpoint's bytes would stay beside the model built from
    them for the whole session (and a refused file's for nothing). The store forgets it here.
    The widget still shows the file's name; its value holds the bytes until the next rerun,
    from which on it reads as a ``DeletedFile`` (and once the page is left, as nothing).
    """
    ctx = get_script_run_ctx()
    if ctx is not None:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, file.file_id)


def upload_notice() -> tuple[str, str] | None:
    """("error", message) or ("success", model id) from the last upload, if any."""
    return st.session_state.get(_UPLOAD_NOTICE)


def remove_upload(model_id: str) -> None:
    """Callback: forget an uploaded model."""
    uploads().remove(model_id)
    st.session_state.pop(_UPLOAD_NOTICE, None)


@contextmanager
def guarded(action: str) -> Iterator[None]:
    """Run a block; an error becomes an ``st.error`` line instead of a traceback, and the rest
    of the page still draws. ValueErrors carry messages meant for the user; others are logged.
    ``action`` and the message are shown as text (they may hold a model's or a file's name)."""
    try:
        yield
    except ValueError as exc:
        st.error(f"{plain(action)}: {plain(exc)}")
    except Exception as exc:  # a model or figure failing must not take the page down
        log.exception("%s failed", action)
        st.error(f"{plain(action)} failed ({type(exc).__name__}: {plain(exc)}). The rest of the app still works.")


def attempt(action: str, fn: Callable[..., T], *args, **kwargs) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing the error as ``guarded`` does."""
    with guarded(action):
        return fn(*args, **kwargs)
    return None
