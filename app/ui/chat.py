"""The Ask page's chat flow: questions wait their turn, Stop keeps what was written.

A question becomes a ``Turn`` in the session's conversation the moment it is sent,
before any answer is written, so nothing the person typed is lost by a click:

* While an answer is written the chat box is closed ("press Stop to ask something
  else"); a question that still arrives (typed as the box closed) waits behind it.
* Stop ends the answer and keeps its text so far, marked as stopped.
* Leaving the page mid-answer ends that run (Streamlit runs one page at a time); the
  question stays in the conversation, and its answer is written again on coming back.

Each change of a conversation is saved on the server (``app.conversations``): the
question as soon as it is sent, the answer once written. A reload, a new tab or the
list in the sidebar (``app.ui.history``) reopens it; a question whose answer was cut
off by a reload comes back as stopped, with the text written so far.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

import streamlit as st

from app.ui import present, resources
from models.errors import DocentError
from models.queue import queue_listener

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.api import Docent
    from app.conversations import SavedConversation
    from rag.answer import Answer

CONVERSATIONS = "conversations"
# The page address's parameter naming the open conversation, and the one this session
# holds already (so only a reload or a new tab reopens it from the server).
ADDRESS = "conversation"
RESUMED = "conversation-resumed"
STOP_KEY = "stop-answer"
TurnState = Literal["waiting", "done", "stopped", "failed"]
_ENDED = ("done", "stopped", "failed")


@dataclass
class Turn:
    """One question of a conversation and what became of it.

    Attributes:
        question: As asked.
        state: waiting (not answered yet, or its answer was interrupted), done, stopped
            (by Stop, with the text written so far) or failed (with the error).
        answer: The finished answer.
        partial: The text streamed so far (kept when stopped).
        error: Why it failed.
    """

    question: str
    state: TurnState = "waiting"
    answer: Answer | None = None
    partial: str = ""
    error: DocentError | None = None


@dataclass
class Conversation:
    """The questions asked in one collection since the last "New conversation".

    Attributes:
        collection: The collection asked.
        turns: Its questions, oldest first.
        saved_id: Its id on the server once saved (None before its first question, or
            when saving is off).
        title: Its title as saved.
        key: Names its widgets, unique per conversation (a reopened one keeps none of
            another's feedback or buttons).
    """

    collection: str
    turns: list[Turn] = field(default_factory=list)
    saved_id: str | None = None
    title: str = ""
    key: str = field(default_factory=lambda: secrets.token_hex(4))

    def waiting(self) -> Turn | None:
        """The first question still to be answered, if any."""
        return next((turn for turn in self.turns if turn.state == "waiting"), None)

    def answers(self, before: Turn | None = None) -> list[Answer]:
        """The finished answers, in order, up to ``before`` (what a follow-up builds on)."""
        found: list[Answer] = []
        for turn in self.turns:
            if turn is before:
                break
            if turn.answer is not None:
                found.append(turn.answer)
        return found


def conversation(collection: str) -> Conversation:
    """The session's conversation in ``collection`` (a new one when there is none)."""
    every: dict[str, Conversation] = st.session_state.setdefault(CONVERSATIONS, {})
    return every.setdefault(collection, Conversation(collection))


def start_new(collection: str) -> Conversation:
    """Put the conversation in ``collection`` aside (it stays saved); return a new one."""
    every: dict[str, Conversation] = st.session_state.setdefault(CONVERSATIONS, {})
    every[collection] = Conversation(collection)
    return every[collection]


def reopened(saved: SavedConversation) -> Conversation:
    """A saved conversation made the session's one in its collection.

    A question still waiting when it was saved was cut off (a reload, a closed tab):
    it comes back as stopped, with what was written, rather than asked again unbidden.
    """
    head = saved.summary
    talk = Conversation(head.collection, saved_id=head.id, title=head.title)
    for kept in saved.turns:
        state = cast("TurnState", kept.state) if kept.state in _ENDED else "stopped"
        error = DocentError(kept.error) if kept.error else None
        talk.turns.append(Turn(kept.question, state, kept.answer, kept.partial, error))
    every: dict[str, Conversation] = st.session_state.setdefault(CONVERSATIONS, {})
    every[head.collection] = talk
    return talk


def save(docent: Docent, talk: Conversation) -> None:
    """Save the conversation's turns as they stand (nothing when saving is off)."""
    from app.conversations import ConversationError, SavedTurn

    turns = [
        SavedTurn(t.question, t.state, t.answer, t.partial, t.error.message if t.error else "")
        for t in talk.turns
    ]
    user = resources.current_user()
    try:
        talk.saved_id = docent.conversations.save(talk.collection, turns, talk.saved_id, user=user)
    except ConversationError:  # deleted meanwhile (another tab): keep it as a new one
        talk.saved_id = docent.conversations.save(talk.collection, turns, user=user)
    if talk.saved_id is not None:
        if not talk.title:
            talk.title = " ".join(talk.turns[0].question.split())
        st.session_state[RESUMED] = st.query_params[ADDRESS] = talk.saved_id


def chat_box(docent: Docent, talk: Conversation) -> str | None:
    """The chat box, closed while an answer is written; a sent question joins the line."""
    busy = talk.waiting() is not None
    placeholder = (
        "Writing the answer… press Stop to ask something else"
        if busy
        else "Ask a question about your documents"
    )
    question = st.chat_input(placeholder, disabled=busy, key="question")
    if question and question.strip():
        talk.turns.append(Turn(question.strip()))
        save(docent, talk)  # the question outlives a reload from now on
        if not busy:
            st.rerun()  # draw the box closed before the answer is written
    return question


def stop_pressed(docent: Docent, talk: Conversation, turn: Turn) -> bool:
    """Draw Stop for the answer being written; True when it was pressed (turn stopped)."""
    if st.button("Stop", icon=":material/stop_circle:", key=STOP_KEY, help="Stop this answer"):
        turn.state = "stopped"
        save(docent, talk)
        return True
    return False


def answer_turn(docent: Docent, talk: Conversation, turn: Turn) -> None:
    """Stream the answer of ``turn`` into the page and record how it ended.

    An interruption (Stop, another page, a closed tab) leaves the turn waiting with its
    text so far; Stop marks it stopped in the run that follows.
    """
    from rag.condense import Turn as Previous

    history = [Previous(a.question, a.query, a.text) for a in talk.answers(before=turn)]
    waiting = st.empty()
    waiting.caption("Searching your documents…")
    shown = st.empty()
    stream = None
    turn.partial = ""
    try:
        stream = docent.stream_answer(
            talk.collection, turn.question, history, user=resources.current_user()
        )
        with queue_listener(lambda ahead: _queued(waiting, ahead)):
            for part in stream:
                if not isinstance(part, str):
                    turn.answer, turn.state = part, "done"
                    save(docent, talk)
                    return
                turn.partial += part
                waiting.empty()
                shown.markdown(present.escape(turn.partial) + " ▌")
    except DocentError as error:
        waiting.empty()
        turn.error, turn.state = error, "failed"
        save(docent, talk)
    finally:
        # A click elsewhere stops this run mid-answer: close the stream now, so the
        # model is released at once rather than when the generator is collected.
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _queued(waiting: DeltaGenerator, ahead: int) -> None:
    """Show the place in the model's line while the answer waits for its turn."""
    if ahead:
        waiting.caption(f"Busy: {ahead} question(s) ahead of yours…")
    else:
        waiting.caption("Writing the answer…")


def show_turn(
    docent: Docent,
    talk: Conversation,
    index: int,
    show_answer: Callable[[Answer, str], None],
    feedback: Callable[[Answer, str], None],
) -> None:
    """A finished, stopped or failed turn: the question, what became of it, its tools.

    Under every answer: copy it (with its sources), write it again, and say whether it
    helped; under a stopped or failed question: ask it again.
    """
    turn = talk.turns[index]
    key = f"{talk.key}-{index}"
    with st.chat_message("user"):
        st.markdown(present.escape(turn.question))
    with st.chat_message("assistant"):
        if turn.answer is not None:
            show_answer(turn.answer, key)
        elif turn.state == "failed" and turn.error is not None:
            resources.show_error(turn.error)
        elif turn.state == "stopped":
            if turn.partial:
                st.markdown(present.escape(turn.partial))
            st.caption("Stopped before the answer was finished. Ask again to get a full answer.")
        with st.container(horizontal=True, key=f"tools-{key}"):
            if turn.answer is not None:
                copy_button(turn.answer, f"copy-{key}")
            again = "Regenerate" if turn.answer is not None else "Ask again"
            st.button(
                again,
                icon=":material/refresh:",
                key=f"again-{key}",
                disabled=talk.waiting() is not None,
                help="Answer this question again, from the documents as they are now",
                on_click=_ask_again,
                args=(docent, talk, turn),
            )
            if turn.answer is not None:
                feedback(turn.answer, key)


def _ask_again(docent: Docent, talk: Conversation, turn: Turn) -> None:
    turn.state, turn.answer, turn.partial, turn.error = "waiting", None, "", None
    save(docent, talk)


# Copies the answer with its sources; navigator.clipboard exists only on https or
# localhost, so on a plain-http intranet address the older copy command is used.
_COPY_SCRIPT = """<script>(() => {
  const button = document.currentScript.previousElementSibling;
  const text = %s;
  button.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); }
    catch (_) {
      const area = document.createElement("textarea");
      area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed";
      area.style.opacity = "0"; document.body.appendChild(area); area.select();
      document.execCommand("copy"); area.remove();
    }
    button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy answer"; }, 2000);
  });
})();</script>"""
_COPY_STYLE = (
    "font: inherit; font-size: 0.875rem; color: #31333f; background: #fff; cursor: pointer;"
    " border: 1px solid rgba(49, 51, 63, 0.35); border-radius: 0.5rem; padding: 0.25rem 0.75rem;"
    " min-height: 2.5rem"
)


def copy_button(answer: Answer, key: str) -> None:
    """A button that copies the answer as Markdown with its citations listed under it."""
    from app.conversations import answer_markdown

    # Inside a script, "<" could end it early: JSON with <, >, & as \u escapes cannot.
    text = json.dumps(answer_markdown(answer))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    button = (
        f'<button type="button" class="docent-copy" data-key="{key}" style="{_COPY_STYLE}"'
        ' title="Copy the answer with its sources">Copy answer</button>'
    )
    st.html(button + _COPY_SCRIPT % text, width="content", unsafe_allow_javascript=True)
