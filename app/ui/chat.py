"""The Ask page's chat flow: questions wait their turn, Stop keeps what was written.

A question becomes a ``Turn`` in the session's conversation the moment it is sent,
before any answer is written, so nothing the person typed is lost by a click:

* While an answer is written the chat box is closed ("press Stop to ask something
  else"); a question that still arrives (typed as the box closed) waits behind it.
* Stop ends the answer and keeps its text so far, marked as stopped.
* Leaving the page mid-answer ends that run (Streamlit runs one page at a time); the
  question stays in the conversation, and its answer is written again on coming back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import streamlit as st

from app import present
from app.ui import resources
from models.errors import DocentError
from models.queue import queue_listener

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.api import Docent
    from rag.answer import Answer

CONVERSATIONS = "conversations"
STOP_KEY = "stop-answer"
TurnState = Literal["waiting", "done", "stopped", "failed"]


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
    """The questions asked in one collection since the last "New conversation"."""

    collection: str
    turns: list[Turn] = field(default_factory=list)

    def waiting(self) -> Turn | None:
        """The first question still to be answered, if any."""
        return next((turn for turn in self.turns if turn.state == "waiting"), None)

    def answers(self) -> list[Answer]:
        """The finished answers, in order (what a follow-up builds on)."""
        return [turn.answer for turn in self.turns if turn.answer is not None]


def conversation(collection: str) -> Conversation:
    """The session's conversation in ``collection`` (a new one when there is none)."""
    every: dict[str, Conversation] = st.session_state.setdefault(CONVERSATIONS, {})
    return every.setdefault(collection, Conversation(collection))


def start_new(collection: str) -> Conversation:
    """Forget the conversation in ``collection``; return the new, empty one."""
    every: dict[str, Conversation] = st.session_state.setdefault(CONVERSATIONS, {})
    every[collection] = Conversation(collection)
    return every[collection]


def chat_box(talk: Conversation) -> str | None:
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
        if not busy:
            st.rerun()  # draw the box closed before the answer is written
    return question


def stop_pressed(turn: Turn) -> bool:
    """Draw Stop for the answer being written; True when it was pressed (turn stopped)."""
    if st.button("Stop", icon=":material/stop_circle:", key=STOP_KEY, help="Stop this answer"):
        turn.state = "stopped"
        return True
    return False


def answer_turn(docent: Docent, talk: Conversation, turn: Turn) -> None:
    """Stream the answer of ``turn`` into the page and record how it ended.

    An interruption (Stop, another page, a closed tab) leaves the turn waiting with its
    text so far; Stop marks it stopped in the run that follows.
    """
    from rag.condense import Turn as Previous

    earlier = [a for a in talk.answers() if a is not turn.answer]
    history = [Previous(a.question, a.query, a.text) for a in earlier]
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
                    return
                turn.partial += part
                waiting.empty()
                shown.markdown(present.escape(turn.partial) + " ▌")
    except DocentError as error:
        waiting.empty()
        turn.error, turn.state = error, "failed"
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


def show_turn(turn: Turn, show_answer: Callable[[Answer], None]) -> None:
    """A finished, stopped or failed turn: the question, then what became of it."""
    with st.chat_message("user"):
        st.markdown(present.escape(turn.question))
    with st.chat_message("assistant"):
        if turn.answer is not None:
            show_answer(turn.answer)
        elif turn.state == "failed" and turn.error is not None:
            resources.show_error(turn.error)
        elif turn.state == "stopped":
            if turn.partial:
                st.markdown(present.escape(turn.partial))
            st.caption("Stopped before the answer was finished. Ask again to get a full answer.")
