"""Support code for the Streamlit pages: model registry, corpus examples, cached inference, state.

Nothing here draws figures (that is ``viz``) or defines pages (that is ``pages/``); ``frame`` draws
the page config, navigation and sidebar around every page.
"""
