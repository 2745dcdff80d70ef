"""Where the app's models come from: bundled checkpoint files and this session's uploads.

A model is named by a ``ModelEntry``; ``load`` turns an entry into a ``Translator`` on a
device. Bundled files are loaded once per process (``st.cache_resource``, bounded); uploads
live in the session that uploaded them (``UploadStore``, at most ``MAX_UPLOADS``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
import torch
from safetensors import safe_open

from models.checkpoint import load_checkpoint
from models.nets.scorers import SCORERS
from models.paths import CHECKPOINTS
from models.translator import Translator

from .text import printable

CHECKPOINTS_ENV = "ATTNVIZ_CHECKPOINTS"
THREADS_ENV = "ATTNVIZ_TORCH_THREADS"
DEFAULT_DIR = CHECKPOINTS
SUFFIXES = (".safetensors",)
MAX_LABEL_CHARS = 80  # of a label made from an uploaded file's name
MAX_UPLOADS = 5
MAX_LOADED = 32  # bundled models kept in memory per process (all devices together)
SCORER_ORDER = tuple(SCORERS)  # simplest first, as the registry lists them
_NAME_RE = re.compile(r"^(?P<direction>[a-z]+-[a-z]+)-(?P<scorer>[a-z_]+)-(?P<mode>soft|hard)(?P<rest>(-[\w]+)*)$")


@dataclass(frozen=True)
class ModelEntry:
    """One model the user can pick. ``id`` is stable for the session; ``fingerprint`` changes
    whenever the weights change, so caches keyed by it never serve stale results."""

    id: str
    label: str
    origin: str  # "bundled" | "uploaded"
    fingerprint: str
    path: Path | None = None


@st.cache_resource
def configure_threads() -> int:
    """Set torch's threads per operation for this process, once: ATTNVIZ_TORCH_THREADS, default 1.

    Decoding one sentence is many small operations that a second thread barely speeds up, and
    every session runs its script in a thread of its own: with two threads per operation, two
    busy sessions (or the server's own work) make each operation wait for a descheduled thread,
    and latency grows by orders of magnitude (see README, Speed). One thread per operation lets
    sessions run side by side, one per core.
    """
    raw = os.environ.get(THREADS_ENV) or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive whole number, not {raw!r}")
    torch.set_num_threads(int(raw))
    return int(raw)


def checkpoint_dir() -> Path:
    """The bundled-checkpoint folder: $ATTNVIZ_CHECKPOINTS, else assets/checkpoints."""
    return Path(os.environ.get(CHECKPOINTS_ENV) or DEFAULT_DIR)


def _sort_key(stem: str) -> tuple:
    m = _NAME_RE.match(stem)
    if not m:
        return (1, stem)
    scorer = SCORER_ORDER.index(m["scorer"]) if m["scorer"] in SCORER_ORDER else len(SCORER_ORDER)
    return (0, m["direction"], m["mode"] != "soft", m["rest"], scorer, stem)


def bundled_entries(folder: Path | None = None) -> list[ModelEntry]:
    """Checkpoint files in ``folder`` (default ``checkpoint_dir()``): en-zh before zh-en, soft
    before hard, plain before guided, scorers from simplest to additive."""
    folder = folder or checkpoint_dir()
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()), key=lambda p: _sort_key(p.stem))
    return [
        ModelEntry(id=f"bundled/{p.name}", label=p.stem, origin="bundled", fingerprint=f"{p.name}@{p.stat().st_mtime_ns}", path=p)
        for p in files
    ]


@st.cache_data(max_entries=256, show_spinner=False)
def _stored_test(path: str, fingerprint: str) -> dict:
    """The test metrics a bundled file stores (its header only: no weights are read)."""
    try:
        with safe_open(path, "pt") as f:
            meta = json.loads((f.metadata() or {}).get("meta") or "{}")
        test = (meta.get("metrics") or {}).get("test") or {}
        return {k: float(test[k]) for k in ("bleu", "aer") if isinstance(test.get(k), (int, float))}
    except Exception:  # an unreadable header ranks last; loading it later says why
        return {}


def rank_key(metrics: dict) -> tuple:
    """Sort key of a model by stored test metrics, best first: higher BLEU, then lower AER;
    a model without them last."""
    return (-metrics.get("bleu", float("-inf")), metrics.get("aer", float("inf")))


def best_bundled(entries: list[ModelEntry]) -> ModelEntry | None:
    """The bundled model with the best stored test BLEU (lower AER breaks ties), or the first
    bundled one when none stores metrics; None when there is no bundled model."""
    bundled = [e for e in entries if e.origin == "bundled" and e.path is not None]
    if not bundled:
        return None
    return min(bundled, key=lambda e: rank_key(_stored_test(str(e.path), e.fingerprint)))  # min is stable: ties keep file order


def default_compare(entries: list[ModelEntry], direction: str = "en-zh", mode: str = "soft") -> list[str]:
    """Ids of the five ``direction`` ``mode`` scorers when they are there (each unguided, else
    guided; else what is), then the direction's Transformer (the guided one first: it translates
    better here), so that GRU scorers and Transformer heads open side by side."""
    by_label = {e.label: e.id for e in entries}
    grus = [next(by_label[x] for x in names if x in by_label)
            for names in ((f"{direction}-{s}-{mode}", f"{direction}-{s}-{mode}-guided") for s in SCORER_ORDER)
            if any(x in by_label for x in names)]
    transformers = [by_label[x] for x in (f"{direction}-transformer-guided", f"{direction}-transformer") if x in by_label]
    return grus + transformers[:1]


def describe(translator: Translator) -> str:
    """A short line: direction and the network (scorer and attention mode for a GRU)."""
    c = translator.model.config
    what = f"{c.scorer} · {c.mode} attention" if c.family == "rnn" else c.label
    return f"{translator.src_lang}→{translator.tgt_lang} · {what}"


@st.cache_resource(max_entries=MAX_LOADED, show_spinner="Loading model…")
def _load_file(path: str, fingerprint: str, device: str) -> Translator:
    """One bundled file on one device; ``fingerprint`` only keys the cache."""
    return load_checkpoint(path, device=device)


class UploadLimitError(ValueError):
    """The session already holds ``MAX_UPLOADS`` uploaded models."""


@dataclass
class UploadStore:
    """This session's uploaded models, in upload order; identical bytes are added once."""

    models: dict[str, tuple[ModelEntry, Translator]] = field(default_factory=dict)

    def add(self, name: str, data: bytes, device: torch.device | str = "cpu") -> ModelEntry:
        """Validate and load an upload (raises CheckpointError, or UploadLimitError when full)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"upload/{digest[:16]}"
        if key in self.models:
            return self.models[key][0]
        if len(self.models) >= MAX_UPLOADS:
            raise UploadLimitError(
                f"This session already holds {MAX_UPLOADS} uploaded models, the most it keeps. Remove one below to upload another."
            )
        stem = printable(Path(printable(name, 1000)).stem, MAX_LABEL_CHARS).strip() or "upload"
        translator = load_checkpoint(data, device=device, name=stem)
        taken = {e.label for e in self.entries()}
        label, n = f"{stem} (uploaded)", 1
        while label in taken:  # the same file name uploaded again with other bytes
            n += 1
            label = f"{stem} (uploaded {n})"
        entry = ModelEntry(id=key, label=label, origin="uploaded", fingerprint=f"sha256:{digest}")
        self.models[key] = (entry, translator)
        return entry

    def remove(self, key: str) -> None:
        self.models.pop(key, None)

    def entries(self) -> list[ModelEntry]:
        return [e for e, _ in self.models.values()]

    def translator(self, key: str) -> Translator:
        return self.models[key][1]


def load(entry: ModelEntry, device: torch.device, uploads: UploadStore) -> Translator:
    """The translator behind ``entry`` on ``device`` (uploads are moved there in place)."""
    if entry.origin == "uploaded":
        return uploads.translator(entry.id).to(device)
    return _load_file(str(entry.path), entry.fingerprint, str(device))


def soft_hard_pairs(entries: list[ModelEntry], direction: str) -> dict[str, tuple[ModelEntry, ModelEntry]]:
    """Scorers that have both a soft and a hard bundled model in ``direction`` (by file name)."""
    named = {(m["scorer"], m["mode"]): e for e in entries if e.origin == "bundled" and (m := _NAME_RE.match(e.label)) and m["direction"] == direction and not m["rest"]}
    return {s: (named[s, "soft"], named[s, "hard"]) for s in SCORER_ORDER if (s, "soft") in named and (s, "hard") in named}
