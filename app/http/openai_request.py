"""What an OpenAI-style chat request asks of Docent: the question, the turns, the refusals.

Docent answers a question from documents; it is not a general chat model. So:

- A RAG-style prompt, as LangChain's usual templates write it (instructions, then
  ``Question: ...`` and ``Context: ...`` or ``Answer:`` in one user message), is asked as
  the text after its final ``Question:`` label, up to the next ``Context:`` or ``Answer:``
  label (``Helpful Answer:`` too) or the end; the client's own context is not read, Docent
  retrieves its own. A message without such a label is the question as it stands.
- Options whose meaning Docent cannot honour are refused with a 400 rather than ignored:
  ``tools`` (and ``tool_choice``, ``functions``, ``function_call``), a ``response_format``
  other than text, ``n`` above 1, ``logprobs``, ``top_logprobs``, and audio output.
  Sampling options (``temperature``, ``top_p``, ``max_tokens``, ``seed``, ``stop``...) are
  accepted and left to Docent's settings: they change how, not what, it answers.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.http import schemas
from app.http.errors import ApiError

# Labels start a line, as templates write them; "Question:" inside a sentence is text.
_QUESTION = re.compile(r"^[ \t]*question[ \t]*:", re.IGNORECASE | re.MULTILINE)
_AFTER = re.compile(r"^[ \t]*(?:context|(?:helpful[ \t]+)?answer)[ \t]*:", re.I | re.M)


class Part(BaseModel):
    """One part of a message's content (only text parts carry a question)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str = ""


class Message(BaseModel):
    """A chat message."""

    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=20)
    content: str | list[Part] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    """``stream_options``: ``include_usage`` adds a last chunk with the token counts."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatIn(BaseModel):
    """A chat completion request.

    Sampling options are accepted and left to Docent; the options declared here beyond
    ``model``, ``messages`` and ``stream`` are refused (400) when they ask for what Docent
    does not do (see ``refuse_unsupported``).
    """

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=80)
    messages: list[Message] = Field(min_length=1, max_length=100)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, description="Only 1: Docent gives one answer.")
    tools: list[Any] | None = Field(None, description="Refused: Docent calls no tools.")
    tool_choice: Any = Field(None, description='Refused unless "none".')
    functions: list[Any] | None = Field(None, description="Refused: Docent calls no tools.")
    function_call: Any = Field(None, description='Refused unless "none".')
    response_format: dict[str, Any] | None = Field(
        None, description='Only `{"type": "text"}`: the answer is text with citations.'
    )
    logprobs: bool | None = Field(None, description="Refused when true.")
    top_logprobs: int | None = Field(None, description="Refused.")
    modalities: list[str] | None = Field(None, description='Only `["text"]`.')
    audio: Any = Field(None, description="Refused: the answer is text.")


def refuse_unsupported(given: ChatIn) -> None:
    """Refuse the options whose meaning Docent would otherwise silently drop.

    Raises:
        ApiError: 400 naming the option and what to send instead.
    """
    asked = [
        ("tools", bool(given.tools), "Docent answers from documents and calls no tools"),
        ("functions", bool(given.functions), "Docent answers from documents and calls no tools"),
        ("tool_choice", given.tool_choice not in (None, "none"), "Docent calls no tools"),
        ("function_call", given.function_call not in (None, "none"), "Docent calls no tools"),
        ("n", given.n not in (None, 1), "Docent gives one answer per request"),
        ("logprobs", bool(given.logprobs), "Docent's answer has no token probabilities"),
        (
            "top_logprobs",
            given.top_logprobs not in (None, 0),
            "Docent's answer has no token probabilities",
        ),
        ("audio", given.audio is not None, "Docent answers in text"),
        ("modalities", given.modalities not in (None, ["text"]), "Docent answers in text"),
    ]
    kind = (given.response_format or {}).get("type", "text")
    asked.append(
        (
            "response_format",
            kind != "text",
            "the answer is text with numbered citations; "
            "the structured record is in the `docent` field of the response",
        )
    )
    for option, refused, why in asked:
        if refused:
            raise ApiError(
                400,
                f"The option `{option}` is not supported: {why}.",
                f"send the request without `{option}`",
            )


def question_of(text: str) -> str:
    """The question in a user message: after a final ``Question:`` label, else all of it.

    The question runs to the next ``Context:``/``Answer:`` label or the end; a label
    starts a line (case does not matter).
    """
    labels = list(_QUESTION.finditer(text))
    if not labels:
        return text.strip()
    rest = text[labels[-1].end() :]
    end = _AFTER.search(rest)
    return (rest[: end.start()] if end else rest).strip()


def conversation(messages: list[Message]) -> tuple[str, list[schemas.TurnIn]]:
    """The question (of the last user message) and the earlier turns.

    Raises:
        ApiError: 400 when no user message has text, or a RAG-style prompt's
            ``Question:`` label has none after it.
    """
    asked = [i for i, m in enumerate(messages) if m.role == "user" and m.text().strip()]
    if not asked:
        raise ApiError(400, "The conversation has no user message.", "end with a user message")
    last = asked[-1]
    turns: list[schemas.TurnIn] = []
    for index in asked[:-1]:
        reply = next((m for m in messages[index + 1 : last] if m.role == "assistant"), None)
        earlier = question_of(messages[index].text())
        if earlier:
            turns.append(schemas.TurnIn(question=earlier[:4000], answer=_reply(reply)))
    question = question_of(messages[last].text())
    if not question:
        raise ApiError(
            400,
            "The last user message has a `Question:` label with no question after it.",
            "put the question after `Question:`, or send the question alone",
        )
    return question, turns[-20:]


def _reply(message: Message | None) -> str:
    return message.text()[:16000] if message else ""
