"""Compare: one sentence through 2 to 7 models side by side, on the same scales."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from viz.compare import difference_figure, metrics_frame
from viz.export import file_stem
from viz.heatmap import PHONE_PX, heatmap_figure
from viz.tokens import words
from viz.translation import translation_html
from webapp import corpus, heads, inference, registry, state, tables, views

MAX_MODELS = 7
VIEWS = ["Side by side", "Difference", "Soft vs hard"]
COLUMNS = 2

st.title("Compare")
entries = state.entries()
if len(entries) < 2:
    st.info("Comparing needs at least two models: upload more on the Checkpoints page.")
    st.stop()
by_id = {e.id: e for e in entries}
sidebar = state.current()  # the models offered first read the language of the sidebar's model
sidebar_direction = sidebar[1].direction if sidebar else "en-zh"
chosen = st.multiselect(
    f"Models (2 to {MAX_MODELS})",
    list(by_id),
    default=registry.default_compare(entries, sidebar_direction) or list(by_id)[:5],
    format_func=lambda i: by_id[i].label,
    max_selections=MAX_MODELS,
    key=f"compare_models_{sidebar_direction.replace('-', '_')}",  # one choice per direction: switching the sidebar's model to another direction switches it
    persist_state="session",
)
loaded = [(by_id[i], state.attempt(f"Loading {by_id[i].label}", state.load, by_id[i])) for i in chosen]
loaded = [(e, t) for e, t in loaded if t is not None]
if len(loaded) < 2:
    st.info("Pick at least two models.")
    st.stop()
src_lang = loaded[0][1].src_lang
skipped = [e.label for e, t in loaded if t.src_lang != src_lang]
if skipped:
    st.warning(f"Left out, as they read another language than {state.plain(views.language(src_lang))}: " + ", ".join(state.plain(s) for s in skipped))
loaded = [(e, t) for e, t in loaded if t.src_lang == src_lang]
direction = loaded[0][1].direction

examples = state.attempt("Loading the example sentences", corpus.test_examples, direction) or []
views.open_on_an_example(examples)  # the first thing seen is a heatmap, with no typing
text = views.sentence_input(examples, src_lang, "compare")
beam = views.beam_picker(st.container(horizontal=True, gap="medium"), "compare")
st.caption("Hard-attention models attend by argmax. Every heatmap uses the same 0 to 1 colour scale.")
if not text.strip():
    st.info("Type a sentence above and press Enter, or pick an example.")
    st.stop()
example = corpus.find(examples, text)
reference = inference.reference_words(loaded[0][1], example.target) if example else None
forced = False
if example is not None:
    forced = st.toggle(
        "Feed every model the reference translation (teacher forcing), so all rows are the same and the reference links show",
        key="compare_forced",
    )

own, shown = {}, {}
for e, t in loaded:
    r = state.attempt(e.label, inference.translate, e, t, text, beam)
    if r is not None:
        own[e.label] = r
        shown[e.label] = state.attempt(e.label, inference.forced, e, t, text, reference) if forced else r
shown = {k: v for k, v in shown.items() if v is not None}
if not shown:
    st.stop()
views.input_notes(next(iter(own.values())))


def heatmap(shown_result, width: int):
    """Without cell values (hover shows them): a column's real width depends on the window, and
    at about 1100 pixels the values of a ten-word sentence ran into each other."""
    links = example.links if reference is not None and words(shown_result.best) == reference else None
    return views.figure(heatmap_figure, shown_result, 0, links, None, "", width, False)


def panels(items: list[tuple[str, object, object, str]]) -> None:
    """``items`` = (label, own result, shown result, key): each model's name, its own translation,
    its controls (a Transformer's head picker, the downloads) and the heatmap of what is shown for
    it, COLUMNS to a row (one on a phone, where columns stack). A row is three bands of columns,
    so that its controls and its heatmaps each start at one height, whatever a translation's
    length or a panel's controls."""
    width = views.chart_width(COLUMNS)
    n = COLUMNS if width > PHONE_PX else 1
    for start in range(0, len(items), n):
        row = items[start : start + n]
        for (label, own_result, shown_result, key), top, controls, bottom in zip(row, st.columns(n), st.columns(n), st.columns(n)):
            with state.guarded(f"Drawing {label}"):
                top.markdown(f"**{state.plain(label)}**")
                top.html(translation_html(own_result))
                bar = controls.container(horizontal=True, vertical_alignment="bottom", key=f"{key}_controls")
                with bar:
                    shown_result = heads.apply(shown_result, 0, heads.cross_head_picker(shown_result, key))[0]  # a Transformer's head
                fig = heatmap(shown_result, width)
                downloads = bar.popover("Download", icon=":material/download:", key=f"{key}_download", on_change="rerun")
                if downloads.open:
                    with downloads:
                        views.export_buttons(shown_result, 0, fig, key, label, text)
                with bottom:
                    views.chart(fig, key, file_stem(label, text, kind=shown_result.cells))


view = views.view_picker(VIEWS, "compare_view")
if view == "Side by side":
    with state.guarded("Summarising"):
        st.caption("Each model's own translation:")
        views.table(tables.styled(metrics_frame(own)), "compare_metrics")
    items = list(shown.items())
    models = {e.label: (e, t) for e, t in loaded}
    without = [label for label, _ in items if not models[label][1].model.has_posterior]  # e.g. a Transformer
    if len(without) < len(items) and views.posterior_cells("compare"):
        if without:
            st.caption("Left out, as their family has no alignment posterior: " + ", ".join(state.plain(label) for label in without))
        items = [(label, state.attempt(label, inference.posterior, *models[label], r, 0, text)) for label, r in items if label not in without]
        items = [(label, r) for label, r in items if r is not None]
    panels([(label, own[label], r, f"compare_heatmap_{n}") for n, (label, r) in enumerate(items)])
elif view == "Difference":
    labels = list(shown)
    left, right = st.columns(2)
    a = left.selectbox("Model A", labels, index=0, key="compare_a")
    b = right.selectbox("Model B", labels, index=1, key="compare_b")
    with state.guarded("Drawing the difference"):
        ra, rb = shown[a], shown[b]
        if ra.target_tokens != rb.target_tokens:
            target = words(ra.best)
            ra, rb = (inference.forced(e, t, text, target) for label in (a, b) for e, t in loaded if e.label == label)
            st.caption("The two translations differ, so both models are fed A's translation (teacher forcing) to put them on the same rows.")
        width = views.chart_width()
        st.caption(f"A is **{state.plain(a)}**, B is **{state.plain(b)}**. Red: A looks more; blue: B looks more.")
        # a phone's chart has no room for the names in its title (they are in the line above)
        title = f"A − B: {a} minus {b}" if width > PHONE_PX else "A − B"
        fig = views.figure(difference_figure, ra, rb, title, 0, 0, width)
        views.chart(fig, "compare_difference", file_stem(a, "minus", b, text, kind="difference"))
        views.difference_exports(ra, rb, a, b, text, fig, "compare_difference")
elif view == "Soft vs hard":
    pairs = registry.soft_hard_pairs(entries, direction)
    if not pairs:
        st.info(f"No scorer has both a soft and a hard bundled model for {state.plain(direction)}.")
    else:
        st.caption("This view runs a pair of its own, the soft and the hard bundled model of the scorer chosen here; the models picked above are not used.")
        scorer = st.selectbox("Scorer", list(pairs), key="compare_scorer")
        with state.guarded("Running the soft and the hard model"):
            runs = []
            for e, mode in zip(pairs[scorer], ("soft", "hard")):
                t = state.load(e)
                r = inference.translate(e, t, text, beam)
                runs.append((e.label, r, inference.forced(e, t, text, reference) if forced else r, f"compare_{mode}"))
            panels(runs)
