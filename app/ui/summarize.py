"""The Summarize page: pick a document, choose length and focus, follow the map-reduce."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

import streamlit as st

from app.ui import present, resources
from models.errors import DocentError

if TYPE_CHECKING:
    from app.api import Docent
    from rag.summarize import Summary
    from rag.types import Length

SUMMARY = "summary"
LENGTHS: tuple[str, ...] = ("short", "medium", "detailed")


def page() -> None:
    """Render the Summarize page."""
    st.title("Summarize a document")
    docent = resources.docent()
    collection = resources.collection_picker(docent)
    try:
        records = docent.documents(collection, user=resources.current_user())
    except DocentError:
        records = []  # a collection typed in this session exists once something is added
    if not records:
        st.info(
            f"No documents in `{present.escape(collection)}` yet: add some on the Library page.",
            icon=":material/folder_off:",
        )
        return
    query = st.text_input("Find a document", placeholder="Search by file name or title")
    rows = present.document_rows(records, query)
    if not rows:
        st.warning("No document matches this search.", icon=":material/search_off:")
        return
    titles = {str(row["file"]): f"{row['title'] or row['file']} ({row['file']})" for row in rows}
    source = st.selectbox("Document", list(titles), format_func=titles.__getitem__)
    length = st.segmented_control("Length", LENGTHS, default="medium", key="summary-length")
    focus = st.text_input("Focus (optional)", placeholder="e.g. deadlines and costs")
    with st.container(horizontal=True):
        started = st.button("Summarize", type="primary", icon=":material/summarize:")
        stopped = st.button("Stop", icon=":material/stop_circle:", help="Stop the summary")
    if stopped:
        st.info("Summary stopped.", icon=":material/stop_circle:")
    if started:
        _summarize(docent, collection, source, _length(length), focus)
    summary: Summary | None = st.session_state.get(SUMMARY)
    if summary is not None:
        show_summary(summary)


def _length(value: str | None) -> Length:
    from rag.types import Length

    return next((v for v in get_args(Length) if v == value), "medium")


def _summarize(docent: Docent, collection: str, source: str, length: Length, focus: str) -> None:
    """Run the summary with a progress bar; each step is a point where Stop takes effect."""
    bar = st.progress(0.0, text="Reading the document…")

    def progress(done: int, total: int, step: str) -> None:
        # Each update is also where Streamlit stops this run when Stop is pressed.
        bar.progress(min(done / max(total, 1), 1.0), text=present.escape(step))

    try:
        summary = docent.summarize(
            collection,
            source,
            length=length,
            focus=focus,
            progress=progress,
            user=resources.current_user(),
        )
    except DocentError as error:
        bar.empty()
        resources.show_error(error)
        return
    bar.empty()
    st.session_state[SUMMARY] = summary


def show_summary(summary: Summary) -> None:
    """The summary, its page references and a Markdown download."""
    with st.container(border=True, key="summary"):
        st.subheader(present.escape(f"Summary of {summary.title or summary.source}"))
        focus = f", focus: {summary.focus}" if summary.focus else ""
        st.caption(present.escape(f"{summary.source}, {summary.length}{focus}"))
        st.markdown(present.safe_markdown(summary.text))
        st.caption(present.escape(summary.made()))
        st.download_button(
            "Download as Markdown",
            data=present.neutralize_links(present.summary_markdown(summary)),
            file_name=present.summary_file_name(summary),
            mime="text/markdown",
            on_click="ignore",
            icon=":material/download:",
        )
