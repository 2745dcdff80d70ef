"""Page pieces the pages share: sentence input, notes, charts with exports, tables, progress bars.

Figures and HTML come from ``viz``; this module only places them and their widgets.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pandas.io.formats.style import Styler

from models.alignments import Reference
from models.nets.rnn import PRIOR_POWER
from models.result import DecodeResult, Selection, select
from models.search import ranking_text
from models.tokenize import HAN_LANGUAGES, in_another_script
from models.translator import MAX_BEAM, REPORTED_BEAM, Translator
from viz.export import attention_csv, attention_json, figure_image, file_stem, image_title, json_text, matrix_csv
from viz.heatmap import PHONE_PX, expected_width, heatmap_figure
from viz.style import PLOTLY_CONFIG
from viz.tokens import plotly_text, words

from . import inference, tables
from .corpus import Example, find
from .registry import ModelEntry
from .text import plain, plain_frame

LANGUAGES = {"en": "English", "zh": "Chinese"}
MAX_FIGURES = 128
IMAGE_EXPORT = importlib.util.find_spec("kaleido") is not None
ROWS_OWN, ROWS_REFERENCE = "Model's own translation", "Reference translation (teacher-forced)"
CELLS_ATTENTION, CELLS_POSTERIOR = "Attention", "Alignment posterior"
SHARED_SENTENCE = "_sentence"  # the sentence Translate and Compare share (widget keys are per page)
# The sentence box keeps at most this many characters: far more than the translator reads
# (models.translator.MAX_SOURCE_TOKENS tokens, noted on the page), little enough that a huge paste
# costs the server nothing. Longer text is cut, with a note; the box then shows what was kept.
MAX_INPUT_CHARS = 10_000
SHARED_CUT_FROM = "_sentence_cut_from"  # the length of the text the shared sentence was cut from
SHARED_LANGUAGE = "_sentence_language"  # the language the shared sentence is in (the source of the model it was typed for)
SENTENCES_BY_LANGUAGE = "_sentences_by_language"  # the last sentence in each language, back when a model of it is chosen again


def language(code: str) -> str:
    return LANGUAGES.get(code, code)


def open_on_an_example(examples: list[Example]) -> None:
    """A new session starts with an example in the sentence box (the picker's first: a curated
    one), so a page opens on a translation rather than an empty box."""
    if SHARED_SENTENCE not in st.session_state and examples:
        st.session_state[SHARED_SENTENCE] = _first_example(examples)


def _first_example(examples: list[Example]) -> str:
    """The sentence a page opens on: the first curated example (one with a note), else the first."""
    return min(examples, key=lambda e: not e.note).source


def sentence_input(examples: list[Example], src_lang: str, page: str) -> str:
    """An example picker (HSK test split) above a text box; picking fills the box. The
    sentence is shared for the session, so Compare starts with what Translate showed. Text
    longer than ``MAX_INPUT_CHARS`` is cut to it, and a note under the box says so."""
    # One example picker per language: the browser keeps a picker's last label across reruns, so
    # a picker whose options changed under it (another language's examples) showed, and sent
    # back, an example of the language left.
    text_key, example_key = f"{page}_sentence", f"{page}_example_{src_lang}"
    switched_from = _follow_the_language(examples, src_lang)

    def typed() -> None:
        text = st.session_state[text_key]
        if len(text) > MAX_INPUT_CHARS:
            st.session_state[SHARED_CUT_FROM] = len(text)
            text = st.session_state[text_key] = text[:MAX_INPUT_CHARS]
        else:
            st.session_state.pop(SHARED_CUT_FROM, None)
        st.session_state[SHARED_SENTENCE] = text

    def picked() -> None:
        i = st.session_state[example_key]
        if isinstance(i, int) and 0 <= i < len(examples):
            st.session_state[SHARED_SENTENCE] = st.session_state[text_key] = examples[i].source
            st.session_state.pop(SHARED_CUT_FROM, None)

    shared = st.session_state.get(SHARED_SENTENCE, "")
    if st.session_state.get(text_key) != shared:
        st.session_state[text_key] = shared
    # the picker shows the example the sentence is, wherever it was picked or typed, else nothing
    example = find(examples, shared)
    shown = None if example is None else examples.index(example)
    if st.session_state.get(example_key) != shown:
        st.session_state[example_key] = shown
    if examples:
        st.selectbox(
            "Example from the test split (never seen in training; has reference alignments)",
            sorted(range(len(examples)), key=lambda i: not examples[i].note),
            index=None,
            format_func=lambda i: f"{examples[i].source}" + (f"  ·  {examples[i].note}" if examples[i].note else ""),
            placeholder="Pick an example…",
            key=example_key,
            on_change=picked,
        )
    text = st.text_input(
        f"Sentence in {plain(language(src_lang))}",
        key=text_key,
        placeholder="Type a sentence and press Enter",
        on_change=typed,
    )
    # No max_chars on the box: the browser would cut a paste there without a word.
    cut_from = st.session_state.get(SHARED_CUT_FROM)
    if len(text) > MAX_INPUT_CHARS:  # not typed here (typed() cuts): cut all the same
        cut_from, text = len(text), text[:MAX_INPUT_CHARS]
    if cut_from:
        st.warning(f"The text has {cut_from:,} characters; only the first {MAX_INPUT_CHARS:,} are kept.")
    if switched_from:
        left = plain(language(switched_from))
        st.caption(f"This model reads {plain(language(src_lang))}: the {left} sentence comes back when a model that reads {left} is chosen again.")
    return text


def _follow_the_language(examples: list[Example], src_lang: str) -> str | None:
    """When the chosen model reads another language than the shared sentence is in, keep that
    sentence under its language and bring back the last one in ``src_lang`` (else an example),
    so a model never reads text in the wrong language and nothing typed is lost. Returns the
    language left, if any."""
    before = st.session_state.get(SHARED_LANGUAGE)
    st.session_state[SHARED_LANGUAGE] = src_lang
    if before is None or before == src_lang:
        return None
    kept = st.session_state.setdefault(SENTENCES_BY_LANGUAGE, {})
    kept[before] = st.session_state.get(SHARED_SENTENCE, "")
    back = kept.get(src_lang) or (_first_example(examples) if examples else "")
    st.session_state[SHARED_SENTENCE] = back
    st.session_state.pop(SHARED_CUT_FROM, None)
    return before


def view_picker(names: list[str], key: str) -> str:
    """Which of a page's views to draw (the first by default); only that one is drawn.

    Not st.tabs: react-aria's tab panel walks its content for a focusable element on every
    change inside it, forcing style recalculations while a chart draws (about a quarter of
    the browser's time from Enter to the Translate heatmap)."""
    if key in st.session_state and st.session_state[key] not in names:  # e.g. an unknown view in the address
        del st.session_state[key]
    return st.segmented_control("View", names, default=names[0], required=True, key=key, label_visibility="collapsed")


DECODINGS = ["Beam search", "Greedy"]


def beam_picker(row, key: str) -> int:
    """The Decoding control in ``row`` (a container) and, for beam search, its width; returns
    the beam size (1: greedy). Beam search with REPORTED_BEAM beams by default: it translates
    better than greedy decoding for nearly every bundled model (their cards' "BLEU (beam 5)"),
    and the first translation a user sees should be the model's best."""
    decoding = row.segmented_control("Decoding", DECODINGS, default=DECODINGS[0], required=True, key=f"{key}_decoding", persist_state="session")
    if decoding != DECODINGS[0]:
        return 1
    return row.slider("Beam size k", 2, MAX_BEAM, REPORTED_BEAM, key=f"{key}_beam", persist_state="session", width=240)


def input_notes(result: DecodeResult) -> None:
    """Say when the input was cut, when it is not written in the script of the language the model
    reads, and which words the model does not know."""
    if result.truncated_from:
        st.warning(
            f"The input has {result.truncated_from} tokens; only the first {len(result.source_tokens) - 1} were translated."
        )
    src = result.direction.split("-")[0]
    if in_another_script(result.source_tokens[:-1], src):
        written = "is not written in Chinese characters" if src.lower() in HAN_LANGUAGES else "is written in Chinese characters"
        st.warning(f"This model reads {plain(language(src))}, but the sentence {written}: most of its words are unknown to the model. "
                   "Pick a model that reads it in the sidebar.")
    unknown = list(dict.fromkeys(t for t, k in zip(result.source_tokens, result.source_known) if not k))  # each once, in order
    if unknown:
        st.caption("Not in the model's vocabulary (read as an unknown word, marked *?* in the figures): " + ", ".join(plain(t) for t in unknown))


def hypothesis_label(result: DecodeResult, i: int) -> str:
    """A beam hypothesis as the picker lists it: rank, text, the score it is ranked by, its log-prob."""
    h = result.hypotheses[i]
    return f"{i + 1}. {h.text}  (rank score {h.rank_score:.3f} · log-prob {h.score:.2f} · {len(h.tokens)} tokens)"


def hypothesis_picker(result: DecodeResult, key: str) -> int:
    """Which beam hypothesis the views show (0 = best); nothing to pick for one. The widget is
    keyed by ``key`` and by the hypotheses themselves: the browser keeps a picker's last label,
    so a picker reused for another model or sentence showed the previous result's text. The
    help text spells out the ranking the search used (``result.strategy.ranking``)."""
    n = len(result.hypotheses)
    if n == 1:
        return 0
    alpha, beta = result.strategy.ranking
    digest = hashlib.blake2b("\x1f".join(hypothesis_label(result, i) for i in range(n)).encode(), digest_size=6).hexdigest()
    return st.selectbox(
        f"Hypothesis (beam search finished {n})",
        range(n),
        format_func=lambda i: hypothesis_label(result, i),
        key=f"{key}_{digest}",
        help=f"Hypotheses are ranked by the rank score, {ranking_text(alpha, beta)} (the end token counted): the "
        f"log-probability divided by the length to the power {alpha:g}, so that longer translations "
        "are not ranked down for having more words. The log-prob alone would favour short ones."
        + (" The coverage penalty (Wu et al. 2016) lowers translations that left source words unattended." if beta else ""),
    )


class Progress:
    """``st.progress`` for long work, redrawn only when its whole percentage changes: each redraw
    is a message to the browser that costs the working thread time, and a bar moved once per
    sentence would send hundreds."""

    def __init__(self) -> None:
        self._bar = st.progress(0.0, text="Starting…")
        self._shown = 0  # "Starting…" until the first whole percent

    def update(self, fraction: float, text: str) -> None:
        """Show ``fraction`` (0 to 1) done, with ``text``, if the percentage differs from the one shown."""
        fraction = min(max(fraction, 0.0), 1.0)
        if int(100 * fraction) != self._shown:
            self._shown = int(100 * fraction)
            self._bar.progress(fraction, text=text)

    def empty(self) -> None:
        self._bar.empty()


def table(data: pd.DataFrame | Styler, key: str, every_row: bool = False, names: bool = False) -> None:
    """``st.dataframe`` with a missing value shown as a dash: Streamlit draws an empty cell as
    "None" whatever a Styler's ``na_rep`` says, unless the dataframe is given a placeholder.
    ``every_row``: as tall as its rows (a table of models), not ten rows and a scroll bar.
    ``names``: its index holds model names, given room to show them whole (a wide table cut them)."""
    config = {"_index": st.column_config.TextColumn(width="medium")} if names else None
    st.dataframe(data, key=key, placeholder=tables.MISSING, height="content" if every_row else "auto", column_config=config)


def steps_table(columns: dict[str, list], key: str) -> None:
    """One row per decoding step, numbered from 1 as the other views number them, probabilities
    (the columns named "Probability…") with three decimals; as tall as its rows, so the last
    step ("</s>") is not hidden behind a scroll bar."""
    frame = pd.DataFrame(columns, index=pd.RangeIndex(1, len(next(iter(columns.values()))) + 1, name="Step"))
    table(frame.style.format("{:.3f}", subset=[c for c in columns if c.startswith("Probability")]), key, every_row=True)


def token_probabilities(result: DecodeResult, hypothesis: int, key: str) -> None:
    """The probability of each token written, in a table behind a toggle (hover is out of reach on touch screens)."""
    if st.toggle("Show token probabilities", key=key):
        hyp = result.hypotheses[hypothesis]
        steps_table({"Token": list(hyp.tokens), "Probability": [float(p) for p in hyp.token_probs]}, f"{key}_table")


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _figure(name: str, _build: Callable[..., go.Figure], result: DecodeResult, args: tuple) -> go.Figure:
    return _build(result, *args)


def figure(build: Callable[..., go.Figure], result: DecodeResult, *args) -> go.Figure:
    """``build(result, *args)``, kept for the process while the result and arguments are the
    same (compared by content), so reruns that change nothing build nothing. The figure is
    shared: draw it, never change it."""
    return _figure(f"{build.__module__}.{build.__qualname__}", build, result, args)


def chart(fig: go.Figure, key: str, filename: str | None = None) -> None:
    """Draw ``fig`` full width with its own look (``viz.style.LOOK``). theme=None: Streamlit's
    theme puts a new template into the figure when it hands plotly.js the figure a second time,
    right after mounting the chart, and plotly.js then draws the whole chart again. The chart's
    camera button saves a PNG drawn by the browser (the user's fonts: Chinese shows wherever
    the page does), named ``filename`` when given. A phone gets no toolbar: it would cover the
    title, and the Download menu beside the chart saves the figure (SVG)."""
    config = PLOTLY_CONFIG if filename is None else PLOTLY_CONFIG | {"toImageButtonOptions": PLOTLY_CONFIG["toImageButtonOptions"] | {"filename": filename}}
    if chart_width() <= PHONE_PX:
        config = config | {"displayModeBar": False}
    st.plotly_chart(fig, key=key, config=config, width="stretch", theme=None)


PNG_HELP = "For a PNG, use the camera button at the chart's top right: your browser draws it with your fonts."


def download_row(key: str, stem: str, files: list[tuple[str, str, str, Callable[[], str | bytes]]], fig: go.Figure | None = None, title: str = "") -> None:
    """Download buttons in a row: ``files`` = (label, extension, MIME type, maker) named
    ``stem.extension``; an SVG of ``fig`` (titled ``title`` when it has none) when a server-side
    renderer (kaleido) is installed. Every file is made only when its button is clicked, so a
    session holds no export bytes, and the browser never checks a file that a newer run has
    already replaced (which logged 404 errors when sentences came quickly)."""
    buttons = [(label, ext, mime, make, ":material/download:", PNG_HELP) for label, ext, mime, make in files]
    if IMAGE_EXPORT and fig is not None:
        # SVG only: it keeps text as text, which the viewer draws with its own fonts. A PNG made on
        # the server needs CJK fonts there (none after a plain pip install: Chinese came out as boxes).
        buttons.append(("SVG", "svg", "image/svg+xml", lambda: image_file(titled(fig, title), "svg"), ":material/image:",
                        "Rendered on the server when clicked (a few seconds). " + PNG_HELP))
    with st.container(horizontal=True, key=f"{key}_exports"):
        for label, ext, mime, make, icon, help_text in buttons:
            st.download_button(label, make, f"{stem}.{ext}", mime, key=f"{key}_{ext}", on_click="ignore", icon=icon, help=help_text)


def difference_exports(a: DecodeResult, b: DecodeResult, model_a: str, model_b: str, sentence: str, fig: go.Figure, key: str) -> None:
    """CSV and JSON of the difference map (A − B; both on A's rows), named by both models and the sentence."""
    ha, hb = a.best, b.best
    diff = np.asarray(ha.attention, dtype=float) - np.asarray(hb.attention, dtype=float)
    data = {"model_a": model_a, "model_b": model_b, "sentence": sentence, "source_tokens": list(a.source_tokens),
            "target_tokens": list(ha.tokens), "difference": diff.round(6).tolist(),
            "attention_a": np.asarray(ha.attention, dtype=float).round(6).tolist(),
            "attention_b": np.asarray(hb.attention, dtype=float).round(6).tolist()}
    download_row(key, file_stem(model_a, "minus", model_b, sentence, kind="difference"), [
        ("Difference CSV", "csv", "text/csv", lambda: matrix_csv(ha.tokens, a.source_tokens, diff)),
        ("Difference JSON", "json", "application/json", lambda: json_text(data)),
    ], fig)


def number(value: object) -> str:
    """A statistic as shown: floats to 3 decimals, never "-0.000" (a tiny negative rounding error);
    a token in quotes, so that a "?" or a "." is not read as a missing value."""
    if isinstance(value, float):
        text = f"{value:.3f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return f"“{value}”" if isinstance(value, str) else str(value)


def hard_choice(result: DecodeResult, hypothesis: int, model: str, sentence: str, key: str) -> None:
    """Hard attention: the distribution α_t each step picked its one source token from, beside the
    one-hot choice above, and the probability of each picked position."""
    hyp = result.hypotheses[hypothesis]
    if "cross_distribution" not in hyp.maps:
        return
    dist = select(result, Selection("cross_distribution"))
    h = dist.hypotheses[0 if len(dist.hypotheses) == 1 else hypothesis]
    picked = [int(row.argmax()) for row in hyp.attention]
    probs = [float(h.attention[t][i]) for t, i in enumerate(picked)]
    st.subheader("The distribution each step picked from")
    st.caption(
        "Above: the one source token each step attended to (one-hot). Below: the softmax α_t it was picked from "
        "(argmax takes its largest cell; sampling draws from it). The table gives the source token picked at each step and its probability in α_t."
    )
    title = chart_title(model, sentence)
    fig = figure(heatmap_figure, dist, 0 if len(dist.hypotheses) == 1 else hypothesis, None, None, title, chart_width())
    chart(fig, key, file_stem(model, sentence, kind="distribution"))
    steps_table({"Token": list(hyp.tokens), "Picked": [result.source_tokens[i] for i in picked], "Probability": probs}, f"{key}_picks")  # short: a phone shows every column
    export_buttons(dist, 0 if len(dist.hypotheses) == 1 else hypothesis, fig, key, model, sentence, kind="distribution")


def titled(fig: go.Figure, title: str) -> go.Figure:
    """``fig``, or a copy titled ``title`` when it has no title of its own (for an exported image)."""
    if not title or (fig.layout.title and fig.layout.title.text):
        return fig
    return go.Figure(fig).update_layout(title={"text": plotly_text(title)})


def export_buttons(
    result: DecodeResult, hypothesis: int, fig: go.Figure | None, key: str, model: str = "", sentence: str = "", kind: str = "", **extra
) -> None:
    """CSV and JSON of the attention shown (tokens included; the JSON names the model), named by
    ``kind`` (default: what the cells hold), the model and the sentence; an SVG of ``fig`` when
    the server can render one. ``extra``: more fields for the JSON (e.g. a view's statistics)."""
    stem = file_stem(model, sentence or result.translation, kind=kind or result.cells)
    what = result.cells.capitalize()
    download_row(key, stem, [
        (f"{what} CSV", "csv", "text/csv", lambda: attention_csv(result, hypothesis)),
        (f"{what} JSON", "json", "application/json", lambda: attention_json(result, hypothesis, model=model or None, **extra)),
    ], fig, image_title(model, sentence) if model else "")


class ImageExportError(RuntimeError):
    """The server could not render a figure as an image."""


def image_file(fig: go.Figure, fmt: str) -> bytes:
    """``fig`` as PNG or SVG bytes for a deferred download. A failed rendering raises instead
    of giving an empty file: Streamlit then says under the button that the file could not be
    made (and logs why), and the chart's camera button still saves an SVG."""
    data = figure_image(fig, fmt)
    if not data:
        raise ImageExportError(f"the server could not render the {fmt.upper()} image")
    return data


class Rows(NamedTuple):
    """What a heatmap draws: a result and its hypothesis, and the links to outline (or None)."""

    result: DecodeResult
    hypothesis: int
    reference_links: Reference | None = None
    aligner_links: set | None = None


def reference_rows(
    entry: ModelEntry, translator: Translator, text: str, result: DecodeResult, hypothesis: int, example: Example | None, key: str,
    links: bool = True,
) -> Rows:
    """Choose what the heatmap rows are and which word alignments to outline on them.

    Reference and aligner links index the reference translation's tokens, so they can be drawn
    on the model's own output only when it spells the reference; otherwise the user can feed
    the model the reference (teacher forcing) and see its attention on those rows. Without
    ``links`` (a self-attention map: no source→target alignment to outline) only the rows are chosen.
    """
    if example is None:
        if links:
            st.caption("No reference alignment: this sentence is not from the test split. Pick an example to compare with one.")
        return Rows(result, hypothesis)
    rows = st.segmented_control("Rows", [ROWS_OWN, ROWS_REFERENCE], default=ROWS_OWN, required=True, key=f"{key}_rows", persist_state="session")
    reference = inference.reference_words(translator, example.target)
    if rows == ROWS_REFERENCE:
        result, hypothesis = inference.forced(entry, translator, text, reference), 0
        if result.mode == "hard":
            st.caption("A hard-attention model fed the reference: each row is the distribution it picks its one source token from.")
    if not links:
        return Rows(result, hypothesis)
    fits = words(result.hypotheses[hypothesis]) == reference
    left, right = st.columns(2)
    overlay = left.toggle(
        "Show gold links (outlined cells)",  # short: a toggle's label is one line, and a longer one was cut on a phone
        value=True,
        disabled=not fits,
        key=f"{key}_links",
        help="The gold word alignment of the test sentence (docs/gold-alignments.md), outlined dark where a link is sure and light where it "
        "is only possible. It indexes the reference translation, so it can only be drawn on rows that spell the reference.",
    )
    aligner = right.toggle(
        "Show eflomal's links (crosses)",
        value=False,
        disabled=not fits or not example.aligner_links,
        key=f"{key}_aligner_links",
        help="The statistical aligner eflomal's links for this sentence (grow-diag-final-and), the baseline "
        "attention is measured against. Like the reference, they index the reference translation.",
    )
    if not fits:
        st.caption(f"The model's translation differs from the reference ({plain(example.target)}); choose *{ROWS_REFERENCE}* to see the links.")
    return Rows(result, hypothesis, example.links if overlay and fits else None, set(example.aligner_links) if aligner and fits else None)


def posterior_cells(key: str) -> bool:
    """Let the user read the heatmap cells as attention (what the model used) or as the
    alignment posterior given each word written (``inference.posterior``); True for the latter."""
    cells = st.segmented_control(
        "Cells show",
        [CELLS_ATTENTION, CELLS_POSTERIOR],
        default=CELLS_ATTENTION,
        required=True,
        key=f"{key}_cells",
        persist_state="session",
        help="Attention is computed before the token is chosen, so it cannot know which token comes out. The posterior "
        "asks afterwards: given the token written, which source token explains it? It reweights the attention α by "
        f"how well each source state h_i alone predicts that token y: p(i | y) ∝ α_i^{PRIOR_POWER:g} · p(y | h_i).",
    )
    if cells != CELLS_POSTERIOR:
        return False
    st.caption(
        "Alignment posterior: each row shows how likely each source token is to explain the token written, combining "
        "where the model looked with what each source token alone would make it write (a row sums to 1). This is an "
        "alignment read from the model, not the attention it used."
    )
    return True


def chart_width(columns: int = 1) -> int:
    """``viz.heatmap.expected_width`` for this browser: heatmaps size their margins from it and
    leave out cell values that would not fit."""
    return expected_width(st.context.headers.get("User-Agent", ""), columns)


TITLE_CHARS_PHONE = 38  # widths of a chart title that fit a phone (viz.export.text_width: a Chinese character is two)


def chart_title(model: str, sentence: str) -> str:
    """A chart's title naming the model and the sentence (so does a PNG of it), the sentence cut
    to fit a phone's width there; "" without a model."""
    if not model:
        return ""
    if chart_width() > PHONE_PX:
        return image_title(model, sentence)
    return image_title(model, sentence, max(TITLE_CHARS_PHONE - len(model) - 3, 10))


def heatmap_with_exports(rows: Rows, key: str, model: str = "", sentence: str = "") -> go.Figure:
    """The heatmap, titled by the model and the sentence when given (so is a PNG of it), and its downloads."""
    title = chart_title(model, sentence)
    fig = figure(heatmap_figure, rows.result, rows.hypothesis, rows.reference_links, rows.aligner_links, title, chart_width())
    chart(fig, key, file_stem(model, sentence, kind=rows.result.cells))
    export_buttons(rows.result, rows.hypothesis, fig, key, model, sentence)
    return fig


def model_card(entry: ModelEntry, translator: Translator, key: str) -> None:
    """What the model is, how it was trained, and the metrics stored with it."""
    left, right = st.columns(2)
    left.table(plain_frame(tables.card(entry, translator).set_index("Field")))
    train = tables.training(translator.meta)
    if train.empty:
        right.caption("No training summary stored in this checkpoint.")
    else:
        right.table(plain_frame(train.set_index("Setting")))
    stored = translator.meta.get("metrics") or {}
    if stored:
        table(tables.styled(tables.metrics(stored)), f"{key}_metrics")
    else:
        st.caption("No metrics stored in this checkpoint.")
    curve = tables.history(translator.meta)
    if curve is not None and len(curve) < 2:  # one epoch: a line chart would be empty, with made-up ticks
        st.caption("Training history (one epoch, so no curve):")
        table(curve, f"{key}_history")
    elif curve is not None:
        losses = [c for c in curve if "loss" in c.lower()]
        for col, part, y in zip(st.columns(2), (curve[losses], curve.drop(columns=losses)), ("loss", "")):
            if not part.empty:
                col.line_chart(part, height=220, x_label="epoch", y_label=y or ", ".join(part.columns))
