"""About: how attention works, the formulas behind each scorer, and what attention is not."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from models.nets.scorers import SCORERS
from models.search import LENGTH_ALPHA
from models.translator import REPORTED_BEAM

st.title("About")
st.markdown(
    "**Attention Lens** translates short English and Chinese sentences with small neural translators and shows "
    "where each one looked (its *attention*) while writing each word. Start on **Translate**: it opens on an example "
    "sentence with its translation and a heatmap, one row per word written and one column per source word, darker "
    "where the model looked more. Pick another example or type a sentence, then open **Compare** to see several "
    "models on it side by side. This page explains what the heatmaps show and how far to trust them."
)
st.markdown(
    """
The translators are sequence-to-sequence models: a bidirectional GRU **encoder** reads the source sentence
into one vector per token, $h_1, \\dots, h_S$ (the last is the end token `</s>`), and a GRU **decoder** writes
the translation one token at a time. Before writing token $t$ the decoder reads the token it wrote last,
$y_{t-1}$, into its state $s_t$; with that state it scores every source position, turns the scores into
weights, and reads a **context** vector from the encoder states.
Those weights are what every page of this app draws. The bundled Transformers swap the GRUs for layers of
multi-head attention (section 6); their cross-attention plays the same part.
"""
)
st.subheader("1. Score every source token")
st.markdown("A scorer compares the decoder state with each encoder state. The five scorers here:")
for name, cls in SCORERS.items():
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.markdown(f"**{name.replace('_', ' ')}**")
    with right:
        st.latex(cls.formula)
st.caption("$W$, $U$ and $v$ are learned; $d$ is the state size; cosine learns its temperature $\\tau$.")

st.subheader("2. Soft attention: a weighted average")
# one formula per line: side by side they ran off a phone's screen
st.latex(r"\begin{gathered} \alpha_{ti} = \frac{\exp(e_{ti})}{\sum_{k=1}^{S} \exp(e_{tk})} \\ c_t = \sum_{i=1}^{S} \alpha_{ti}\, h_i \end{gathered}")
st.markdown("Each row of the heatmap is one $\\alpha_t$: it sums to 1 over the source tokens.")
st.markdown(
    "**Greedy decoding or beam search.** Greedy decoding writes the most likely token at each step. Beam search keeps "
    "the $k$ most likely partial translations, and ranks the finished ones by their log-probability divided by "
    f"length$^\\lambda$, so that short ones are not favoured (the length exponent $\\lambda = {LENGTH_ALPHA}$ unless a model keeps "
    "its own, chosen on the dev split; its card on Checkpoints says which; `--length-alpha` on the command line). It usually translates better, and Translate and "
    f"Compare open on it with {REPORTED_BEAM} beams. In both, a heatmap row is the attention of the step that wrote that token in the translation shown. "
    "With beam search, the hypothesis picker shows the other finished translations, each with its own attention."
)

st.subheader("3. Hard attention: one token at a time")
st.latex(r"\begin{gathered} a_t \sim \operatorname{Categorical}(\alpha_t) \\ \text{or}\ a_t = \arg\max_i \alpha_{ti} \\ c_t = h_{a_t} \end{gathered}")
st.markdown(
    "Hard models look at exactly one source token per step, so their heatmap rows are one-hot. Choosing a token is not "
    "differentiable; training uses the straight-through Gumbel-softmax (a one-hot sample forward, the relaxed sample's "
    "gradient backward). At inference Translate lets you take the argmax or draw a sample."
)

st.subheader("4. Attention is not alignment")
st.markdown(
    """
It is tempting to read the heatmap as "which word translates which". Sometimes it does, often it does not:
the decoder may attend to a word *before* or *after* it writes the translation of it, park weight on the final
token or on `</s>`, or spread it thinly while the recurrent state carries the meaning. Several scorers can give
the same translation with different attention. One reason is built in: at each step the model attends *before*
it chooses the word, with a state that has read only the words before it, so its attention is a guess at where
the next word will come from, and nothing in the translation loss asks that guess to match a word alignment.

**What guided training changes.** Models marked *guided* were trained with an extra loss (Garg et al., 2019)
that pulls each attention row toward the links a statistical word aligner, eflomal, found for that word in the
training sentences. Their attention is sharper, parks less weight on the full stop and `</s>`, and matches the
reference alignments far better (Evaluate has the numbers). It is still a guess made before the word is written,
so on new sentences it errs most where the word order changes. The guided *dot* model had a second extra loss:
predict each word from the source words eflomal links it to, in place of what attention picked, which teaches it
which source word explains which target word (what the alignment posterior below reads).

**Distilled models.** The guided Transformers were also trained on more sentences than the corpus has: the
translations an ensemble of several trained models wrote for the training sentences, beside the human ones
(sequence-level distillation, Kim & Rush 2016). Part of their lead over the other models comes from that, not
from guided attention; each model card says what its model was trained on.

**The alignment posterior** (Translate → Heatmap → *Cells show*) asks afterwards: given the word the model
wrote, which source word explains it? It reweights the attention by how well each source word alone predicts
that word. It is read from the same model and is usually the better alignment, but it is not what the model
used while translating. Treat every figure as a view of what the model read, and check claims against references:
"""
)
# short labels: a page link is one line, and longer ones were cut at a phone's right edge
st.page_link("pages/translate.py", label="Translate: gold and eflomal links on the heatmap", icon=":material/translate:")
st.page_link("pages/compare.py", label="Compare: scorers side by side", icon=":material/compare:")
st.page_link("pages/evaluate.py", label="Evaluate: AER against eflomal", icon=":material/analytics:")
st.page_link("pages/checkpoints.py", label="Checkpoints: how each was trained", icon=":material/inventory_2:")
st.page_link("pages/heads.py", label="Heads: every head as an aligner", icon=":material/grid_view:")

st.subheader("5. Three ways to classify attention")
# a list, not a table: a four-column table ran off a phone's screen
st.markdown(
    """
- **What is read.** *Soft*: a weighted average of every source state; *hard*: exactly one source state per step.
  Every model here is soft except the GRU models marked *hard* (their rows are one-hot).
- **How the score is made.** *Additive* (Bahdanau), $v^\\top \\tanh(W s + U h)$, or *multiplicative* (Luong),
  $s^\\top W h$ or a scaled dot product. The GRU *additive* models are additive; the GRU *dot*, *scaled dot*,
  *general* and *cosine* models and every Transformer (scaled dot product) are multiplicative.
- **Who attends to whom.** *Cross*: the decoder reads the source; *self*: a sequence reads itself. Every model has
  cross-attention (the GRU has only this); the Transformers also have encoder and (masked) decoder self-attention,
  under Translate → *Attention map*.
"""
)

st.subheader("6. Multi-head attention (the Transformer)")
st.markdown(
    "A Transformer layer attends several times in parallel. Each **head** projects queries, keys and values "
    "to a smaller space of size $d_k = d / h$ and takes a scaled dot product; the heads' outputs are joined and "
    "projected back:"
)
# each formula over two lines: on one, they ran off a phone's screen
st.latex(r"\begin{gathered} \operatorname{Attention}(Q, K, V) = \\ \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V \end{gathered}")
st.latex(r"\begin{gathered} \operatorname{head}_i = \operatorname{Attention}(Q W_i^Q,\ K W_i^K,\ V W_i^V), \\ i = 1, \dots, h \end{gathered}")
st.latex(r"\begin{gathered} \operatorname{MultiHead}(Q, K, V) = \\ \operatorname{Concat}(\operatorname{head}_1, \dots, \operatorname{head}_h)\, W^O \end{gathered}")
st.markdown(
    "In **cross-attention** $Q$ comes from the decoder and $K = V$ from the encoder's output; in **self-attention** "
    "all three come from the same sequence. The mask $M$ is $-\\infty$ at padding and, in the decoder's "
    "self-attention, at every later position (query $t$ sees keys $0..t$), else 0. Each head has its own weights "
    "$\\operatorname{softmax}(\\cdot)$ of shape (queries × keys): Translate → *Heads* draws every one of them, and "
    "the **rollout** (Abnar & Zuidema 2020) follows the encoder's self-attention through the layers, adding the "
    "residual connection as the identity:"
)
st.latex(r"\tilde A_l = \operatorname{norm}(\bar A_l + I), \qquad R_l = \tilde A_l R_{l-1}")
