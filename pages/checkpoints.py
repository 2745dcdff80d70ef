"""Checkpoints: upload a model for this session, and read the card of every model."""

from webapp import frame

# First, before this page's own imports (torch, Plotly: seconds on a fresh process): draws the
# frame and its menu when Streamlit runs this file without app.py (webapp/frame.py).
frame.ensure()

import streamlit as st

from webapp import registry, state, views

st.title("Checkpoints")
st.markdown(
    "Upload a model trained with `python -m models train`: a `.safetensors` file. The file is checked before "
    "anything is built, nothing in it is executed, and a model too large for this server is refused from its header. "
    f"It stays in this browser session only, next to the bundled models; a session keeps at most {registry.MAX_UPLOADS}."
)
st.file_uploader(
    "Checkpoint file",
    type=["safetensors", "pt", "pth"],  # .pt accepted here only to be refused with a reason (state.PICKLE_REFUSED)
    key=state.UPLOADER_KEY,
    on_change=state.handle_upload,
)
notice = state.upload_notice()
if notice and notice[0] == "error":
    st.error(notice[1])
elif notice and (new := state.entry(notice[1])) is not None:
    st.success(f"Loaded **{state.plain(new.label)}**. It is now in the model pickers of every page for this session.")
    if st.button("Translate with it", key="use_upload", on_click=state.choose_model, args=(new.id,), icon=":material/translate:"):
        st.switch_page("pages/translate.py")

uploaded = state.uploads().entries()
if uploaded:
    st.header("Uploaded this session")
for n, e in enumerate(uploaded):
    with st.expander(state.plain(e.label), expanded=True):
        with state.guarded(f"Showing {e.label}"):
            views.model_card(e, state.load(e), f"upload_{n}")
        st.button("Remove from this session", key=f"remove_{n}", on_click=state.remove_upload, args=(e.id,), icon=":material/delete:")

st.header("Bundled models")
bundled = registry.bundled_entries()
if not bundled:
    st.info(f"No bundled models in {state.plain(registry.checkpoint_dir())} yet.")
for n, e in enumerate(bundled):
    box = st.expander(state.plain(e.label), key=f"bundled_card_{n}", on_change="rerun")
    if box.open:
        with box, state.guarded(f"Showing {e.label}"):
            views.model_card(e, state.load(e), f"bundled_{n}")
