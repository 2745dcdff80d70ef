"""Strings from checkpoints, file names and users, made safe to show as text.

Streamlit reads Markdown in labels, captions, alerts, expander titles, progress text and the
cells of ``st.table``: a model name like ``![x](http://evil.example/a.png)`` would make every
visitor's browser fetch an image from a foreign server, and ``[click](http://…)`` would put a
link in the app's own error box. ``plain`` escapes every Markdown and HTML character, and puts
an invisible word joiner (U+2060) into what GitHub-flavoured Markdown would turn into a link by
itself (``http://``, ``www.``, an e-mail address: it finds those in the text after escapes are
read), so such a string shows as written; it is the one way such strings reach those elements.
Dataframes, selectbox options and Plotly figures (``viz.tokens.plotly_text``) show text as it is
and take strings unchanged.
"""

from __future__ import annotations

import re

import pandas as pd

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and each escaped one
# shows as itself: links, images, emphasis, code, HTML, autolinks (``http\:`` and ``www\.`` are
# no longer URLs), LaTeX (``$``), Streamlit's ``:material/…:`` icons and ``:red[…]`` colours.
_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")
# Where GFM's autolink literals start (its regexes run on the text after escapes are read):
# between a scheme's ":" and "//", after "www" before ".", and before an e-mail address's "@".
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?i:(?<=www))(?=\.)|(?=@)")
WORD_JOINER = "\u2060"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # control characters and line breaks
MAX_SHOWN = 500  # characters of one string shown; the rest is cut with an ellipsis


def printable(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as one line: control characters and line breaks become spaces, cut to ``limit``."""
    line = _CONTROL.sub(" ", str(text))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def plain(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` for a Streamlit element that reads Markdown, shown literally (one line)."""
    return _MARKDOWN.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, printable(text, limit)))


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its string cells, index and column labels through ``plain``, for
    ``st.table`` (which renders Markdown in them)."""
    def shown(value: object) -> object:
        return plain(value) if isinstance(value, str) else value

    out = frame.map(shown)
    out.index = out.index.map(shown)
    out.columns = out.columns.map(shown)
    if out.index.name:
        out.index.name = plain(out.index.name)
    return out
