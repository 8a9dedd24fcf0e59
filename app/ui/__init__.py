"""The browser UI: a thin Streamlit layer over ``app.api.Docent`` (one module per page).

Formatting lives in ``app.ui.present`` (pure, tested without Streamlit); the process-wide
``Docent`` and the per-session state live in ``app.ui.resources``.
"""
