"""Translate: one sentence through the sidebar's model, its attention shown five ways."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from viz.diagnostics import attention_summary, coverage_figure, entropy_figure, stat_names
from viz.export import file_stem
from viz.flow import flow_figure
from viz.heads import grid_figure, head_view_figure
from viz.heatmap import heatmap_figure, token_names
from viz.highlight import highlight_html
from viz.steps import animation_figure, step_figure
from viz.translation import translation_html
from webapp import corpus, heads, inference, registry, state, views
from webapp.text import plain

ROW_CAPTIONS = {  # what a heatmap row is, by attention map
    "cross": "Each row is one token the model wrote: the weights it used while writing that token, computed before "
    "the token was chosen (a row sums to 1).",
    "encoder_self": "Each row is one source token (a query): the weights it gave every source token (the keys) in this "
    "layer (a row sums to 1).",
    "decoder_self": "Each row is one token the model wrote (a query): the weights it gave the tokens written before it, "
    "`<s>` first (a row sums to 1; later tokens are masked).",
}
REFERENCE_CAPTIONS = {  # the same, when the rows are the reference translation fed to the model (teacher forcing)
    "cross": "Each row is one token of the reference translation, fed to the model: the weights it used at that step, computed "
    "before it read that token (a row sums to 1).",
    "decoder_self": "Each row is one token of the reference translation, fed to the model (a query): the weights it gave the "
    "reference tokens before it, `<s>` first (a row sums to 1; later tokens are masked).",
}
VIEWS = ["Heatmap", "Highlight", "Flow", "Step through", "Diagnostics", "Heads"]

picked = state.current()
if picked is None:
    st.stop()
entry, translator = picked
hard = translator.model.config.mode == "hard"

st.title("Translate")
st.caption(f"**{state.plain(entry.label)}**: {state.plain(registry.describe(translator))}")
examples = state.attempt("Loading the example sentences", corpus.test_examples, translator.direction) or []
views.open_on_an_example(examples)  # the first thing seen is a heatmap, with no typing
text = views.sentence_input(examples, translator.src_lang, "translate")

row = st.container(horizontal=True, gap="medium")  # side by side; wraps on a phone, with no empty slots
beam = views.beam_picker(row, "translate")
hard_inference, seed = "argmax", None
if hard:
    hard_inference = row.segmented_control(
        "Hard attention picks",
        ["argmax", "sample"],
        default="argmax",
        required=True,
        key="translate_hard",
        help="Each step attends to exactly one source token: the most likely one (argmax) or one drawn from the attention distribution (sample).",
    ) or "argmax"
    if hard_inference == "sample":
        seed = row.number_input("Sampling seed", 0, 10_000, 0, key="translate_seed", help="Change it to draw another sample.", width=160)

if not text.strip():
    st.info("Type a sentence above and press Enter, or pick an example.")
    st.stop()
result = state.attempt("Translating", inference.translate, entry, translator, text, beam, hard_inference, seed)
if result is None:
    st.stop()
translated = result  # before the attention picker's selection

views.input_notes(result)
hypothesis = hypothesis_picked = views.hypothesis_picker(result, f"translate_hypothesis_{inference.model_key(entry, translator)}")
training = translator.meta.get("training")
pairs = training.get("pairs") if isinstance(training, dict) else None
extra = pairs.get("extra") if isinstance(pairs, dict) else None  # an upload's record may hold anything
st.caption(
    "A small model trained on a few thousand graded (HSK) sentences"
    + (f" and {extra:,} everyday ones from Tatoeba" if isinstance(extra, int) else "")
    + ": wrong translations are expected. "
    f"On a test-split example, *{views.ROWS_REFERENCE}* rows show its attention on a correct translation. "
    "The warmer a token below, the less sure the model was of it."
)
st.html(translation_html(result, hypothesis))
views.token_probabilities(result, hypothesis, "translate_probs")
example = corpus.find(examples, text)
# which attention every view draws: map, layer, head (webapp/heads.py); only where there is a choice
choice = heads.picker(result, "translate", heads.align_layer(translator))
result, hypothesis = heads.apply(result, hypothesis, choice)
if not choice.default:
    st.caption(f"Every view below draws **{state.plain(result.cells)}**.")

view = views.view_picker(VIEWS, frame.TRANSLATE_VIEW)
state.keep_in_url(**{state.URL_MODEL: entry.id, state.URL_SENTENCE: text if len(text) <= state.MAX_URL_SENTENCE else None, state.URL_VIEW: view})
if view == "Heatmap":
    # the heatmap first, its options under it (drawn first: they choose what it shows), so that it is in the first screen
    chart_slot, options, hard_slot = st.container(), st.container(), st.container()
    with state.guarded("Drawing the heatmap"):
        # Links and the posterior align source with target: offered on cross-attention only (the
        # posterior where the family has one). The encoder reads only the source, so which rows
        # the decoder writes changes nothing there.
        cross = choice.map == "cross"
        with options:
            if choice.map == "encoder_self":
                rows = views.Rows(translated, hypothesis_picked)
            else:
                rows = views.reference_rows(entry, translator, text, translated, hypothesis_picked, example, "translate", links=cross)
            fed = rows.result is not translated  # the reference translation was fed to the model (teacher forcing)
            posterior = cross and translator.model.has_posterior and views.posterior_cells("translate")
        if posterior:
            rows = rows._replace(result=inference.posterior(entry, translator, rows.result, rows.hypothesis, text), hypothesis=0)
        elif not choice.default:
            rows = views.Rows(*heads.apply(rows.result, rows.hypothesis, choice), rows.reference_links, rows.aligner_links)
        with chart_slot:
            if not posterior:
                kind = choice.map if not choice.default else "cross"
                captions = REFERENCE_CAPTIONS if fed else ROW_CAPTIONS
                st.caption(captions.get(kind, captions["cross"]) + " Hover a cell for the weight.")
            views.heatmap_with_exports(rows, "translate_heatmap", entry.label, text)
        if hard and rows.result is translated:
            with hard_slot:  # under the heatmap's options, which are about the heatmap above them
                views.hard_choice(translated, hypothesis_picked, entry.label, text, "translate_hard_distribution")
elif view == "Highlight":
    with state.guarded("Highlighting"):
        hyp = result.hypotheses[hypothesis]
        names = token_names(result.cells)  # source and target, or (self-attention) key and query
        by = st.segmented_control(
            "Choose", ["target", "source"], format_func=lambda side: f"a {names[1] if side == 'target' else names[0]} token", default="target", required=True, key="highlight_by"
        )
        side, tokens, label = (
            ("source", result.source_tokens, f"{names[0].capitalize()} token ({names[1]} tokens are shaded by how much they attended to it)")
            if by == "source"
            else ("target", hyp.tokens, f"{names[1].capitalize()} token ({names[0]} tokens are shaded by its attention weights)")
        )
        i = st.selectbox(label, range(len(tokens)), format_func=lambda i: f"{i + 1}. {tokens[i]}", key=f"highlight_{side}")
        st.html(highlight_html(result, hypothesis, **{f"{side}_index": i}, names=names))
        views.export_buttons(result, hypothesis, None, "highlight", entry.label, text, kind="highlight")
elif view == "Flow":
    with state.guarded("Drawing the flow"):
        threshold = st.slider("Hide links lighter than", 0.0, 1.0, 0.05, 0.01, key="flow_threshold")
        views.chart(views.figure(flow_figure, result, hypothesis, threshold, views.chart_width(), token_names(result.cells)), "flow_chart", file_stem(entry.label, text, kind="flow"))
        views.export_buttons(result, hypothesis, None, "flow", entry.label, text, kind="flow")
elif view == "Step through" and choice.map == "encoder_self":
    st.info("The encoder reads the whole sentence at once: its self-attention has no decoding steps to go through. "
            "Heatmap, Highlight and Flow draw it.")
elif view == "Step through":
    with state.guarded("Stepping through"):
        tokens = result.hypotheses[hypothesis].tokens
        left, right = st.columns(2)
        with left:
            st.subheader("Step by step")
            st.caption("Pick a step: the bars are the attention the model used to write that token.")
            step = st.select_slider(
                "Decoding step", range(len(tokens)), format_func=lambda j: f"{j + 1}. {plain(tokens[j])}", key="step_slider"
            ) if len(tokens) > 1 else 0
            views.chart(views.figure(step_figure, result, step, hypothesis, f"{token_names(result.cells)[0]} token", views.chart_width(2)), "step_chart", file_stem(entry.label, text, kind=f"step-{step + 1}"))
        with right:
            st.subheader("Attention over time")
            st.caption("Press ▶ Play under the chart to watch the attention move from step to step.")
            views.chart(views.figure(animation_figure, result, hypothesis, views.chart_width(2)), "animation_chart", file_stem(entry.label, text, kind="steps"))
        views.export_buttons(result, hypothesis, None, "steps", entry.label, text, kind="steps")
elif view == "Diagnostics":
    with state.guarded("Computing diagnostics"):
        causal = choice.map == "decoder_self"  # a query sees only the tokens before it
        summary = attention_summary(result, hypothesis, causal)
        names = token_names(result.cells)  # source and target, or (self-attention) key and query
        shown = stat_names(names, causal)
        stats = [(n, summary[k]) for k, n in shown.items()]
        for part in (stats[:3], stats[3:]):  # two rows of three: six columns cut a token such as "prepare"
            for col, (name, value) in zip(st.columns(3), part):
                col.metric(name, plain(views.number(value)))  # st.metric reads its value as Markdown; a token is the user's text
        left, right = st.columns(2)  # side by side: each chart gets half the width for its token labels
        with left:
            views.chart(views.figure(entropy_figure, result, hypothesis, names, views.chart_width(2), causal), "entropy_chart", file_stem(entry.label, text, kind="entropy"))
        with right:
            views.chart(views.figure(coverage_figure, result, hypothesis, names, views.chart_width(2)), "coverage_chart", file_stem(entry.label, text, kind="coverage"))
        views.export_buttons(result, hypothesis, None, "diagnostics", entry.label, text, kind="diagnostics", diagnostics=summary)
        if len(result.hypotheses) > 1 and st.toggle(f"Every finished beam hypothesis ({len(result.hypotheses)}), each with its heatmap", key="diagnostics_beams"):
            for n, hyp in enumerate(result.hypotheses):
                st.markdown(f"**{n + 1}.** {state.plain(hyp.text)} · rank score {hyp.rank_score:.3f} · log-prob {hyp.score:.2f}")
                views.chart(views.figure(heatmap_figure, result, n, None, None, "", views.chart_width()), f"beam_heatmap_{n}")
elif view == "Heads":
    with state.guarded("Drawing every head"):
        name = choice.map
        L, H = heads.shape_of(translated, name)
        st.caption(
            f"Every head of every layer ({L} × {H}), on one colour scale; hover a cell for its tokens and weight. "
            + ("Pick a map, layer and head above the views to draw it large below (outlined in the grid)."
               if heads.worth_picking(translated) else "This model has one layer with one head, drawn below.")
        )
        picked_cell = (choice.layer, choice.head) if choice.head >= 0 else heads.alignment_cell(translator) if choice.default else None
        if L * H > 1:  # one head: the grid would repeat the map drawn large below
            views.chart(views.figure(grid_figure, translated, name, hypothesis_picked, views.chart_width(), picked_cell), "heads_grid")
        if choice.default:
            if H == 1:
                where = "its one head" if L == 1 else f"layer {heads.align_layer(translator) + 1}"
            elif picked_cell:
                where = f"layer {picked_cell[0] + 1}, head {picked_cell[1] + 1}"
            else:
                where = f"the mean of layer {heads.align_layer(translator) + 1}'s heads"
            st.subheader(f"Cross-attention: the alignment reading ({where})")
        else:
            st.subheader(state.plain(result.cells.capitalize()))
        if st.toggle("Lines between the tokens (head view)", key="heads_lines"):
            threshold = st.slider("Hide lines lighter than", 0.0, 1.0, 0.05, 0.01, key="heads_lines_threshold")
            st.caption("Left: each row's token (a query); right: the tokens it attends to (the keys). The darker a line, the larger the weight.")
            views.chart(views.figure(head_view_figure, result, hypothesis, threshold), "heads_lines_chart")
        else:
            views.chart(views.figure(heatmap_figure, result, hypothesis, None, None, "", views.chart_width()), "heads_heatmap")

st.caption(
    "This page's address keeps the model, the sentence and the view: a reload or a shared link opens them again. "
    f"Uploaded models, other settings and sentences longer than {state.MAX_URL_SENTENCE} characters are not kept."
)
