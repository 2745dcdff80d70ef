"""Attention Lens: translate with seq2seq models and see where they looked.

Run with ``streamlit run app.py``. Pages live in ``pages/``, one file each, and are declared
with ``st.navigation`` in ``webapp/frame.py``, which also draws the shared sidebar; shared state
and caches are in ``webapp/``, figures in ``viz/``.
"""

from webapp import frame

page = frame.draw()
with frame.inside():
    page.run()
