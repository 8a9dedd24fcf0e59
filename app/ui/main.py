"""The browser UI's entry point: ``streamlit run app/ui/main.py`` (``docent ui`` starts it)."""

from __future__ import annotations

import streamlit as st

from app.ui import ask, feedback, library, resources, signin, status, summarize, theme

# An emoji icon becomes an inline SVG; a `:material/...:` one is fetched from Google's CDN.
st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")
theme.apply()
# Nothing but the sign-in page until someone has signed in (it starts ``preload`` once
# it has painted, so the index client and models load while a password is typed).
user = signin.require_user(resources.gate())
signin.sidebar(user)
resources.preload()
pages = [
    st.Page(ask.page, title="Ask", icon=":material/chat:", url_path="ask", default=True),
    st.Page(summarize.page, title="Summarize", icon=":material/summarize:", url_path="summarize"),
    st.Page(library.page, title="Library", icon=":material/folder_open:", url_path="library"),
]
# The Status page speaks of models, paths and hashes, and Feedback of what readers said:
# they are the administrator's views.
if user.is_admin:
    pages += [
        st.Page(status.page, title="Status", icon=":material/monitor_heart:", url_path="status"),
        st.Page(feedback.page, title="Feedback", icon=":material/reviews:", url_path="feedback"),
    ]
st.navigation(pages).run()
