"""Attention Lens: translate with seq2seq models and see where they looked.

Run with ``streamlit run app.py``. Pages live in ``app_pages/`` (not ``pages/``: Streamlit would treat that folder as a legacy multipage app); shared state and caches in
``webapp/``; figures in ``viz/``.
"""

from pathlib import Path

import streamlit as st
import torch

from webapp import state

st.set_page_config(page_title="Attention Lens", page_icon=str(Path(__file__).parent / "assets" / "icon.png"), layout="wide")
st.html(f"<style>{(Path(__file__).parent / 'assets' / 'style.css').read_text(encoding='utf-8')}</style>")

pages = st.navigation(
    [
        st.Page("app_pages/translate.py", title="Translate", icon=":material/translate:", default=True),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("app_pages/checkpoints.py", title="Checkpoints", icon=":material/inventory_2:"),
        st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page("app_pages/about.py", title="About", icon=":material/info:"),
    ]
)

state.keep_valid_choice()
with st.sidebar:
    entries = state.entries()
    if entries:
        labels = {e.id: e.label for e in entries}
        st.selectbox("Model", list(labels), format_func=labels.get, key=state.MODEL_KEY, help="Bundled models, then the ones you uploaded on Checkpoints.")
    else:
        st.caption("No models yet: upload one on the Checkpoints page.")
    cuda = torch.cuda.is_available()
    st.radio("Device", ["auto", "cpu", "cuda"] if cuda else ["auto", "cpu"], key=state.DEVICE_KEY, horizontal=True)
    used = state.device()
    name = torch.cuda.get_device_name(used) if used.type == "cuda" else "CPU"
    st.caption(f"Running on **{used.type}** ({name})." + ("" if cuda else " CUDA is not available on this machine, so it is not offered."))

pages.run()
