"""The Ask page: a chat with streamed answers, citation chips and the source panel."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app import originals, present
from app.ui import feedback, resources
from models.errors import DocentError
from models.queue import queue_listener

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.api import Docent
    from rag.answer import Answer, Citation

CONVERSATIONS = "conversations"
_ALERTS = {"success": st.success, "warning": st.warning, "info": st.info}
_ICONS = {
    "success": ":material/verified:",
    "warning": ":material/warning:",
    "info": ":material/search_off:",
}


def page() -> None:
    """Render the Ask page."""
    st.title("Ask your documents")
    question = st.chat_input("Ask a question about your documents")
    docent = resources.docent()
    infos = docent.collections(user=resources.current_user())
    collection = resources.collection_picker(docent, infos)
    st.caption(
        f"Searching :blue-badge[{present.escape(collection)}] "
        f"with :gray-badge[{present.escape(docent.chat.name)}]"
    )
    if not any(info.name == collection and info.documents for info in infos):
        st.info(
            f"No documents in {present.escape(collection)} yet: add some on the Library page.",
            icon=":material/folder_off:",
        )
        return
    conversations: dict[str, list[Answer]] = st.session_state.setdefault(CONVERSATIONS, {})
    if st.sidebar.button("New conversation", icon=":material/add_comment:"):
        conversations.pop(collection, None)
    history = conversations.setdefault(collection, [])
    for index, answer in enumerate(history):
        _exchange(docent, collection, answer, f"{collection}-{index}")
    if question:
        latest = _ask(docent, collection, question, history)
        if latest is not None:
            history.append(latest)
            st.rerun()
    elif not history:
        st.info("Ask about anything in the documents of this collection.", icon=":material/help:")


def _exchange(docent: Docent, collection: str, answer: Answer, key: str) -> None:
    with st.chat_message("user"):
        st.markdown(present.escape(answer.question))
    with st.chat_message("assistant"):
        show_answer(docent, collection, answer, key)
        feedback.control(docent, collection, answer, key)


def _ask(docent: Docent, collection: str, question: str, history: list[Answer]) -> Answer | None:
    """Stream an answer into the page; return it (None when it failed, the error shown)."""
    from rag.condense import Turn

    with st.chat_message("user"):
        st.markdown(present.escape(question))
    turns = [Turn(a.question, a.query, a.text) for a in history]
    with st.chat_message("assistant"):
        waiting = st.empty()
        waiting.caption("Searching your documents…")
        shown = st.empty()
        text = ""
        stream = None
        try:
            stream = docent.stream_answer(
                collection, question, turns, user=resources.current_user()
            )
            with queue_listener(lambda ahead: _queued(waiting, ahead)):
                for part in stream:
                    if not isinstance(part, str):
                        return part
                    text += part
                    waiting.empty()
                    shown.markdown(present.escape(text) + " ▌")
        except DocentError as error:
            waiting.empty()
            resources.show_error(error)
        finally:
            # A click elsewhere stops this run mid-answer: close the stream now, so the
            # model is released at once rather than when the generator is collected.
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    return None


def _queued(waiting: DeltaGenerator, ahead: int) -> None:
    """Show the place in the model's line while the answer waits for its turn."""
    if ahead:
        waiting.caption(f"Busy: {ahead} question(s) ahead of yours…")
    else:
        waiting.caption("Writing the answer…")


def show_answer(docent: Docent, collection: str, answer: Answer, key: str) -> None:
    """An answer: its text, its trust state, citation chips, or the closest passages."""
    verdict = present.verdict(answer)
    if answer.status == "answered" and answer.made_by == "quotes":
        _ALERTS[verdict.tone](verdict.message, icon=_ICONS[verdict.tone])
        if answer.fallback:
            st.caption(present.escape(f"Why quotes: {answer.fallback}"))
        for index, sentence in enumerate(answer.sentences):
            st.markdown(present.quote_markdown(answer, index))
            with st.container(horizontal=True, key=f"quote-{key}-{index}"):
                cited = sentence.citation
                _source_panel(docent, collection, answer, cited, key)
                path = docent.document_file(collection, cited.source, user=resources.current_user())
                if path is not None:  # the page in one click, beside its quote
                    _page_button(path, cited, f"page-now-{key}-{cited.number}")
        _timings(answer)
        return
    st.markdown(present.answer_markdown(answer.text))
    _ALERTS[verdict.tone](verdict.message, icon=_ICONS[verdict.tone])
    if answer.citations:
        with st.container(horizontal=True, key=f"chips-{key}"):
            for citation in answer.citations:
                _source_panel(docent, collection, answer, citation, key)
    elif answer.evidence:
        with st.expander("Closest passages", expanded=answer.status == "unverified"):
            for source in answer.evidence:
                where = present.where(source.title, source.source, source.page)
                st.markdown(f"**\\[{source.number}\\] {present.escape(where)}**")
                st.markdown(present.evidence_passage(source))
    _timings(answer)


def _timings(answer: Answer) -> None:
    timings = answer.timings
    if "first_token" in timings:
        st.caption(
            f"{present.escape(answer.model)} · first word after {timings['first_token']:.1f} s "
            f"· {timings.get('total', 0):.1f} s in all"
        )
    elif answer.made_by == "quotes" and answer.status == "answered":
        st.caption(f"Quoted from your documents in {timings.get('total', 0):.1f} s")


def _source_panel(
    docent: Docent, collection: str, answer: Answer, citation: Citation, key: str
) -> None:
    with st.popover(present.escape(present.citation_label(citation))):
        where = present.where(citation.title, citation.source, citation.page)
        st.markdown(f"**{present.escape(where)}**")
        st.markdown(present.cited_passage(answer, citation))
        path = docent.document_file(collection, citation.source, user=resources.current_user())
        if path is None:
            st.caption("The original file is not available (moved, changed or not yours).")
            return
        page_hint = f" (go to page {citation.page})" if citation.page else ""
        st.download_button(
            f"Download the original{page_hint}",
            data=path.read_bytes,
            file_name=path.name,
            mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key=f"download-{key}-{citation.number}",
        )
        _page_button(path, citation, f"page-{key}-{citation.number}")


def _page_button(path: Path, citation: Citation, key: str) -> None:
    """The cited page alone as a PDF, for a PDF source."""
    if citation.page and path.suffix.lower() == ".pdf":
        st.download_button(
            f"Page {citation.page} alone (PDF)",
            data=lambda: originals.pdf_page(path, citation.page) or b"",
            file_name=f"{path.stem}-page-{citation.page}.pdf",
            mime="application/pdf",
            on_click="ignore",
            icon=":material/description:",
            key=key,
        )
