"""Heads: every cross-attention head of the sidebar's model measured on the HSK test split."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from models.heads import STATISTICS
from viz.heads import stats_figure
from webapp import corpus, heads, state, views

picked = state.current()
if picked is None:
    st.stop()
entry, translator = picked

st.title("Heads")
st.caption(f"**{state.plain(entry.label)}**: {state.plain(translator.model.config.label)}")
st.markdown(
    "Each head of each cross-attention layer, read on its own while the model is fed the reference translation of "
    "each test sentence: its **AER** as a word aligner (each target word linked to the source token the head attends "
    "to most, and the same read one decoder step later, *shift*), how much of its attention it parks on the end token "
    "`</s>` and on punctuation, its mean **entropy**, and its **confidence** (mean largest weight, Voita et al. 2019). "
    "Heads with low AER track word alignment; confident heads that sit on `</s>` or punctuation are often doing "
    "something else (or nothing)."
)
examples = state.attempt("Loading the test split", corpus.test_examples, translator.direction) or []
if not examples:
    st.info(f"The HSK test split does not cover this model's direction ({state.plain(translator.direction)}).")
    st.stop()
total = len(examples)
sentences = st.slider(
    "Test sentences", min(10, total), total, min(200, total), 1, key="heads_sentences", help="Fewer is quicker; each is teacher-forced once."
)
fresh = heads.cached(entry, translator, sentences) is None
if fresh and not st.button(
    f"Measure every head on {sentences} sentences", key="heads_run", type="primary", icon=":material/play_arrow:"
):
    st.caption("Nothing measured yet for this model and sentence count: press the button.")
    st.stop()
bar = views.Progress()


def tick(n: int, of: int) -> None:
    bar.update(n / of, f"{n}/{of} sentences")


stats = state.attempt("Measuring the heads", heads.statistics, entry, translator, examples, sentences, tick)
bar.empty()
if stats is None:
    st.stop()
if fresh:
    st.rerun()  # draw the page again without the button: nothing is left to measure

L, H = stats.values["aer"].shape
best = stats.best()
if best is not None:
    reading, layer, head, aer = best
    how = "read one step later (shift)" if reading == "aer_shift" else "read at its own step"
    st.success(f"Best aligner: **layer {layer + 1}, head {head + 1}**, {how}: AER {aer:.3f} on {stats.aligned} sentences.")
    align = heads.align_layer(translator)
    if L * H > 1:
        st.caption(
            f"The model's own alignment reading is layer {align + 1}, "
            + ("the mean of its heads." if getattr(translator.model.config, "align_head", -1) == -1 else f"head {translator.model.config.align_head + 1}.")
        )
else:
    st.caption("No reference alignments for these sentences: AER is left out.")
items = list(STATISTICS.items())
# two to a row, each row its own columns: a phone stacks them in reading order (AER beside shift stays together)
for start in range(0, len(items), 2):
    for (name, (title, lower)), col in zip(items[start : start + 2], st.columns(2)):
        outline = (best[1], best[2]) if best is not None and name == best[0] else None
        zrange = None if name == "entropy" else (0.0, 1.0)  # entropy: its own range (nats)
        with col:
            views.chart(stats_figure(stats.values[name], title + (" ↓" if name.startswith("aer") else ""), lower, outline, zrange), f"heads_{name}")
st.caption(
    "AER (↓): lower is better, darker cells align better; the best aligner is outlined. The other charts describe a head "
    "rather than grade it: darker cells are a more focused head (less attention on </s> or punctuation, lower entropy, "
    "higher confidence). A head dark in entropy and confidence but light in a share chart is focused on </s> or "
    "punctuation: a sink, not an aligner. Scales run from 0 to 1 (entropy: from its lowest to its highest value here)."
)
