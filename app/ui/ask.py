"""The Ask page: a chat with streamed answers, citation chips and the source panel."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import streamlit as st

from app.conversations import where
from app.provenance import as_units
from app.ui import chat, feedback, history, present, resources, sources

if TYPE_CHECKING:
    from app.api import Docent
    from rag.answer import Answer

# A quote is shown in a neutral line (``_said``): a green tick would read as "correct".
_ALERTS = {"warning": st.warning, "info": st.info}
_ICONS = {"warning": ":material/warning:", "info": ":material/search_off:"}


def page() -> None:
    """Render the Ask page (the chat flow itself is ``app.ui.chat``)."""
    st.title("Ask your documents")
    docent = resources.docent()
    history.resume_from_address(docent)  # before the picker: it may change the collection
    infos = docent.collections(user=resources.current_user())
    top = st.container(horizontal=True, vertical_alignment="bottom", key="ask-top")
    collection = resources.collection_picker(docent, infos, top)
    talk = chat.conversation(collection)
    if top.button("New conversation", icon=":material/add_comment:", key="new-conversation"):
        talk = chat.start_new(collection)
        st.query_params.pop(history.ADDRESS, None)
    history.sidebar(docent, talk)
    if not any(info.name == collection and info.documents for info in infos):
        st.info(_nothing_to_ask(docent, collection), icon=":material/folder_off:")
        return
    chat.chat_box(docent, talk)
    shown = sources.viewing(collection)
    if shown is not None:  # a panel over the page, where the reader is
        sources.viewer(docent, shown)
    _conversation(docent, collection, talk)


def _nothing_to_ask(docent: Docent, collection: str) -> str:
    """What to do about a collection with nothing in it this person may read."""
    name = present.escape(collection)
    if docent.may_add(collection, user=resources.current_user()):
        return f"No documents in {name} yet: add some on the Library page."
    return f"No documents you may read in {name} yet: ask your administrator for access."


def _conversation(docent: Docent, collection: str, talk: chat.Conversation) -> None:
    """The turns so far, then the answer being written (with Stop), one at a time."""
    pending = talk.waiting()
    for index, turn in enumerate(talk.turns):
        if turn is pending:
            break
        chat.show_turn(
            docent,
            talk,
            index,
            functools.partial(show_answer, docent, collection),
            functools.partial(feedback.control, docent, collection),
        )
    if pending is None:
        if not talk.turns:
            st.info(
                "Ask about anything in the documents of this collection.", icon=":material/help:"
            )
        return
    with st.chat_message("user"):
        st.markdown(present.escape(pending.question))
    with st.chat_message("assistant"):
        if chat.stop_pressed(docent, talk, pending):
            st.rerun()
        chat.answer_turn(docent, talk, pending)
    st.rerun()


def show_answer(docent: Docent, collection: str, answer: Answer, key: str) -> None:
    """An answer: its text, its trust state, citation chips, or the closest passages."""
    verdict = present.verdict(answer)
    if as_units(answer):
        if lead := present.lead_markdown(answer):
            st.markdown(lead)
        _said(verdict)
        for index, sentence in enumerate(answer.sentences):
            cited = sentence.citation
            with st.container(horizontal=True, key=f"said-{key}-{index}"):
                st.markdown(present.quote_markdown(sentence.text))
                sources.chip(collection, answer, cited, key, marker=True)
            with st.container(horizontal=True, key=f"quote-{key}-{index}"):
                sources.chip(collection, answer, cited, key, marker=False)
                path = docent.document_file(collection, cited.source, user=resources.current_user())
                if path is not None:  # the page in one click, beside its quote
                    sources.page_button(path, cited, f"page-now-{key}-{cited.number}")
        _timings(answer)
        return
    st.markdown(present.answer_markdown(answer.text))
    _said(verdict)
    if answer.citations:
        with st.container(horizontal=True, key=f"chips-{key}"):
            for citation in answer.citations:
                sources.chip(collection, answer, citation, key, marker=False)
    elif answer.evidence:
        with st.expander("Closest passages", expanded=answer.status == "unverified"):
            for source in answer.evidence:
                place = where(source.title, source.source, source.page)
                st.markdown(f"**\\[{source.number}\\] {present.escape(place)}**")
                st.markdown(present.evidence_passage(source))
    _timings(answer)


def _said(verdict: present.Verdict) -> None:
    """The verdict: where an answer is quoted from in plain words, or an alert."""
    message = present.escape(verdict.message)
    if verdict.tone == "neutral":
        st.caption(f":material/format_quote: {message}")
    else:
        _ALERTS[verdict.tone](message, icon=_ICONS[verdict.tone])


def _timings(answer: Answer) -> None:
    timings = answer.timings
    if "first_token" in timings:
        st.caption(
            f"{present.escape(answer.model)} · first word after {timings['first_token']:.1f} s "
            f"· {timings.get('total', 0):.1f} s in all"
        )
    elif as_units(answer):
        st.caption(f"Found in your documents in {timings.get('total', 0):.1f} s")
