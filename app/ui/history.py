"""The saved conversations in the Ask page's sidebar, and what can be done with one.

The list shows the latest conversations (title and date), a search by title finds the
others, and a click reopens one. The open conversation can be renamed, exported as
Markdown with its sources, or deleted (after a second click that says so). The page's
address carries the open conversation's id, so a reload or a bookmark reopens it.
Everything here calls ``Docent.conversations``; the rules live there.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from app.ui import chat, present, resources
from models.errors import DocentError

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.api import Docent

SHOWN = 20
ADDRESS = chat.ADDRESS
_RESUMED = chat.RESUMED
_CONFIRM = "conversation-confirm-delete"


def resume_from_address(docent: Docent) -> None:
    """Reopen the conversation the page's address names, once per browser session.

    A reload or a new tab starts a new session: this brings back what was open.
    """
    wanted = st.query_params.get(ADDRESS)
    if not wanted or st.session_state.get(_RESUMED) == wanted:
        return
    st.session_state[_RESUMED] = wanted
    _open(docent, wanted)


def _open(docent: Docent, conversation: str) -> None:
    from app.conversations import ConversationError

    try:
        saved = docent.conversations.open(conversation, user=resources.current_user())
    except ConversationError:
        st.query_params.pop(ADDRESS, None)
        st.toast("That conversation is no longer saved.", icon=":material/history_toggle_off:")
        return
    chat.reopened(saved)
    resources.choose_collection(docent, saved.summary.collection)
    st.session_state[_RESUMED] = conversation
    st.query_params[ADDRESS] = conversation


def sidebar(docent: Docent, talk: chat.Conversation) -> None:
    """The open conversation's actions, then the saved ones, latest first, and a search."""
    bar = st.sidebar
    bar.subheader("Conversations")
    if not docent.conversations.saved:
        bar.caption("Conversations are not saved here: your administrator turned saving off.")
        return
    user = resources.current_user()
    _actions(docent, talk, bar)
    search = bar.text_input("Find a conversation", key="conversation-search", max_chars=100)
    found = docent.conversations.list(user=user, search=search.strip(), limit=SHOWN + 1)
    if not found:
        bar.caption("None found." if search.strip() else "Your conversations will be listed here.")
    zone = _zone()
    for summary in found[:SHOWN]:
        moment = summary.updated_at.astimezone(zone)
        bar.button(
            f"{present.escape(summary.title)}  \n{_when(moment)}",
            key=f"saved-{summary.id}",
            type="primary" if summary.id == talk.saved_id else "tertiary",
            width="stretch",
            on_click=_open,
            args=(docent, summary.id),
        )
    if len(found) > SHOWN:
        bar.caption(f"The latest {SHOWN} are shown: type a title to find the others.")


def _actions(docent: Docent, talk: chat.Conversation, where: DeltaGenerator) -> None:
    """Rename, export and delete for the open conversation (once it is saved)."""
    if talk.saved_id is None:
        return
    conversation = talk.saved_id
    user = resources.current_user()  # read now: the export is written outside this run
    with where.popover("This conversation", icon=":material/more_horiz:", width="stretch"):
        with st.form(f"rename-{conversation}", border=False):
            title = st.text_input("Title", value=talk.title, max_chars=120)
            if st.form_submit_button("Rename", icon=":material/edit:"):
                _rename(docent, talk, title)
        st.download_button(
            "Export as Markdown",
            data=lambda: docent.conversations.export_markdown(conversation, user=user),
            file_name=f"{_file_stem(talk.title)}.md",
            mime="text/markdown",
            on_click="ignore",
            icon=":material/download:",
            key=f"export-{conversation}",
        )
        if st.session_state.get(_CONFIRM) != conversation:
            st.button(
                "Delete", icon=":material/delete:", key=f"delete-{conversation}",
                on_click=lambda: st.session_state.update({_CONFIRM: conversation}),
            )  # fmt: skip
            return
        st.warning(f"Delete “{present.escape(talk.title)}”? This cannot be undone.")
        if st.button("Yes, delete it", type="primary", key=f"delete-yes-{conversation}"):
            _delete(docent, talk)


def _rename(docent: Docent, talk: chat.Conversation, title: str) -> None:
    assert talk.saved_id is not None
    try:
        talk.title = docent.conversations.rename(
            talk.saved_id, title, user=resources.current_user()
        )
    except DocentError as error:
        resources.show_error(error)
        return
    st.rerun()


def _delete(docent: Docent, talk: chat.Conversation) -> None:
    assert talk.saved_id is not None
    try:
        docent.conversations.delete(talk.saved_id, user=resources.current_user())
    except DocentError as error:
        resources.show_error(error)
        return
    st.session_state.pop(_CONFIRM, None)
    st.query_params.pop(ADDRESS, None)
    chat.start_new(talk.collection)
    st.toast("Conversation deleted.", icon=":material/delete:")
    st.rerun()


def _zone() -> ZoneInfo:
    """The reader's time zone as the browser reports it (UTC when it does not)."""
    try:
        return ZoneInfo(st.context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(moment: datetime) -> str:
    today = datetime.now(moment.tzinfo).date()
    if moment.date() == today:
        return f"today {moment:%H:%M}"
    return f"{moment:%d %b %Y %H:%M}"


def _file_stem(title: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_ " else " " for c in title).strip()
    return "-".join(stem.split())[:60] or "conversation"
