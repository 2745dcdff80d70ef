"""Evaluate: corpus-level results of the loaded models on the HSK test split."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from models.corpus import opposite
from models.model_aligner import READINGS, check_models, english_first
from models.translator import MAX_BEAM
from viz.compare import aer_figure, bar_figure
from viz.export import file_stem
from webapp import corpus, evaluation, state, tables, views

st.title("Evaluate")
st.markdown(
    "Corpus-level results on the HSK test split: **BLEU** of the translations, **AER** (alignment error rate) of "
    "attention read as a word alignment against the gold alignments (sure and possible links; each target word linked to the source "
    "token it attends to most, while the model is fed the reference translation), the same for the **alignment "
    "posterior** given each word, beside eflomal (a statistical word aligner) and a diagonal guess, mean attention "
    "**entropy** per step, and decoding speed."
)
entries = state.entries()
if not entries:
    st.info("No models yet: upload one on the Checkpoints page.")
    st.stop()
by_id = {e.id: e for e in entries}
chosen = st.multiselect(
    "Models", list(by_id), default=list(by_id), format_func=lambda i: by_id[i].label, key="evaluate_models", persist_state="session"
)
loaded = [(by_id[i], state.attempt(f"Loading {by_id[i].label}", state.load, by_id[i])) for i in chosen]
loaded = [(e, t) for e, t in loaded if t is not None]
if not chosen:
    st.info("Choose at least one model above.")
if not loaded:
    st.stop()

st.subheader("Stored in the checkpoints")
st.caption("Measured when each model was trained (test split, on the training machine): greedy decoding, except the beam-5 column (ranked by each model's own length exponent).")
stored = {e.label: (t.meta.get("metrics") or {}).get("test") for e, t in loaded}
if any(stored.values()):
    views.table(tables.styled(tables.metrics({k: v for k, v in stored.items() if v})), "evaluate_stored", every_row=True, names=True)
else:
    st.caption("None of these checkpoints stores test metrics.")

st.subheader("Measured here")
splits = {t.direction: state.attempt("Loading the test split", corpus.test_examples, t.direction) or [] for _, t in loaded}
total = max(len(x) for x in splits.values())
if total == 0:
    st.info("These models translate directions the HSK test split does not cover.")
    st.stop()
left, right = st.columns(2)
sentences = left.slider("Test sentences", min(10, total), total, total, 1, key="evaluate_sentences", help="Fewer is quicker; all of them matches the stored numbers.")
beam = right.slider("Beam size (1 = greedy)", 1, MAX_BEAM, 1, key="evaluate_beam")
missing = [(e, t) for e, t in loaded if evaluation.cached(e, t, sentences, beam) is None]
if missing and st.button(f"Evaluate {len(missing)} model{'s' * (len(missing) != 1)} on {state.device()}", key="evaluate_run", type="primary", icon=":material/play_arrow:"):
    bar, ok = views.Progress(), True
    for n, (e, t) in enumerate(missing):
        examples = splits[t.direction]
        if not examples:
            st.warning(f"{state.plain(e.label)}: no HSK test split for {state.plain(t.direction)}.")
            ok = False  # keep the warning on screen
            continue

        def tick(done: int, total: int, n: int = n, label: str = e.label) -> None:
            bar.update((n + done / total) / len(missing), f"{state.plain(label)}: {done}/{total} sentences")

        ok = state.attempt(f"Evaluating {e.label}", evaluation.run, e, t, examples[:sentences], beam, tick) is not None and ok
    bar.empty()
    if ok:
        st.rerun()  # draw the page again without the button: nothing is left to compute

measured = {e.label: r for e, t in loaded if (r := evaluation.cached(e, t, sentences, beam)) is not None}
if not measured:
    st.caption("Nothing measured yet for this setting: press the button to run the models on the test split.")
else:
    table = tables.metrics(measured)
    counts = sorted({int(m.get("sentences", sentences)) for m in measured.values()})
    st.caption(
        f"Measured on {' / '.join(str(n) for n in counts)} test sentence{'s' * (counts != [1])}"
        + (" (fewer than all: the numbers differ from the stored ones and are less certain)." if sentences < total else ".")
    )
    views.table(tables.styled(table), "evaluate_measured", every_row=True, names=True)
    spread = tables.intervals(measured)
    if not spread.empty:
        st.caption("95% bootstrap intervals over the sentences: the fewer the sentences, the wider they are.")
        views.table(spread, "evaluate_intervals", every_row=True, names=True)
    metric = st.segmented_control(
        "Chart", [tables.METRICS[k] for k in tables.CHART_METRICS if tables.METRICS[k] in table], default=tables.METRICS["bleu"], required=True, key="evaluate_chart_metric"
    )
    if metric:
        values = table[[metric]].dropna()  # a model without the figure (a Transformer has no posterior) gets no empty row
        if len(values) < len(table):
            st.caption(f"No {metric} for {', '.join(state.plain(str(n)) for n in table.index.difference(values.index))}.")
        if not values.empty:
            views.chart(bar_figure(values, metric), "evaluate_metric_chart")
    aer = tables.aer_frame({e.label: (t.direction, measured[e.label]) for e, t in loaded if e.label in measured})
    if not aer.empty:
        st.subheader("Alignment error rate (lower is better)")
        st.caption(
            "Each model's attention and its alignment posterior, read as word alignments, beside eflomal's best "
            "symmetrisation and the diagonal guess on the same sentences and references."
        )
        views.chart(aer_figure(aer), "evaluate_aer")

st.subheader("A model as a word aligner")
st.caption(
    "Download where a model links the words of each test pair, read while it is fed the reference translation. "
    "Each line is one test pair (in split order); each link is an English word's index, a dash and a Chinese "
    "character's index, counting from 0: 3-5 links English word 3 with Chinese character 5."
)
st.caption(
    "Reading both ways averages the model's weights with those of a model translating the other way and keeps the links "
    "both directions support: fewer, surer links, where a word may link to several words or to none."
)
readers = {e.label: t for e, t in loaded if splits.get(t.direction)}
if readers:
    one_way = "— (this model alone)"
    left, middle, right = st.columns(3)
    name = left.selectbox("Model to align with", list(readers), key="evaluate_align_model")
    tr = readers[name]
    partners = {e.label: t for e, t in loaded if t.direction == opposite(tr.direction)}
    partner = middle.selectbox("Read both ways with", [one_way, *partners], key="evaluate_align_reverse", help="A model of the opposite direction.")
    reading = right.segmented_control(
        "Reading", READINGS, default="attention", required=True, key="evaluate_align_reading",
        format_func={"attention": "Attention", "shift": "Shifted", "posterior": "Posterior"}.get,
        help="Attention: the row used to write each word; shifted: the next row; posterior: the alignment posterior (not for Transformer models).",
    )
    reverse = [partners[partner]] if partner in partners else []
    try:
        check_models([tr], reverse, reading, None)
    except ValueError as err:
        st.info(state.plain(str(err)))
    else:
        stem = file_stem(name, *([partner] if reverse else []), reading, kind="links")
        st.download_button(
            "Word links (test split)", lambda: evaluation.alignment_file(tr, splits[tr.direction], reading, reverse),
            f"{stem}.{english_first(tr.direction)}.txt", "text/plain", key="evaluate_align_download", on_click="ignore",
            icon=":material/download:",
            help="Pharaoh format, as word aligners write it and `python -m models align` does. Made when clicked: a few seconds per model.",
        )
