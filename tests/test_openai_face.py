"""The OpenAI face as LangChain's ChatOpenAI meets it: RAG prompts, refused options, usage.

LangChain's usual RAG prompt puts instructions, ``Question:`` and ``Context:`` in one user
message; Docent asks the question after the label. Options Docent would ignore while they
change what the client expects (tools, structured output, several choices) are a 400;
``usage`` holds the word pieces of the question and of the reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from openai import BadRequestError, OpenAI
from pydantic import BaseModel

from app.http.openai_request import question_of
from app.settings import Settings
from models.chat import register_backend
from models.embedder import Embedder
from tests import docgen
from tests.http_setup import bearer, client, token_for
from tests.indexed import indexed
from tests.scripted_chat import NAME, Script, ScriptedBackend, scripted_settings

QUESTION = "How many days of annual leave does every employee receive?"
# LangChain hub's rlm/rag-prompt, the template most RAG tutorials pull.
RAG_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of "
    "retrieved context to answer the question. If you don't know the answer, just say "
    "that you don't know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)


def test_the_question_is_the_text_after_the_final_question_label() -> None:
    assert question_of(RAG_PROMPT.format(question=QUESTION, context="The canteen.")) == QUESTION
    retrieval_qa = "Use the context.\n\nSome text.\n\nQuestion: What is X?\nHelpful Answer:"
    assert question_of(retrieval_qa) == "What is X?"
    assert question_of("Question: a?\nContext: b\nquestion: Which one?") == "Which one?"
    assert question_of("context first\nQUESTION:\n  Why?  ") == "Why?"
    # A label inside a sentence is text, and a plain question stands as it is.
    assert question_of("What does the Question: field mean?") == (
        "What does the Question: field mean?"
    )
    assert question_of(f"  {QUESTION}\n") == QUESTION


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("openai-face")
    # Quotes mode asks no model; the empty script fails the test if one is asked.
    script = Script()
    undo = register_backend(NAME, lambda config: ScriptedBackend(config, script))
    settings = scripted_settings(Settings(data_dir=root / "data"))
    docent = indexed(settings, embedder, docgen.handbook_share(root))
    with client(docent) as http:
        http.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield http
    undo()


def _chat(http: TestClient, **options: Any) -> ChatOpenAI:
    token = http.headers["Authorization"].removeprefix("Bearer ")
    return ChatOpenAI(
        model="docent:docs",
        base_url="http://testserver/v1",
        api_key=token,  # type: ignore[arg-type]
        http_client=http,
        max_retries=0,
        **options,
    )


@pytest.mark.slow
def test_langchain_rag_prompt_is_answered_from_the_question(
    served: TestClient, embedder: Embedder
) -> None:
    prompt = ChatPromptTemplate.from_messages([("human", RAG_PROMPT)])
    context = "The canteen was renovated in 2023 and got a salad bar."

    reply = (prompt | _chat(served)).invoke({"question": QUESTION, "context": context})

    assert "27 days" in str(reply.content) and "Sources:" in str(reply.content)
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == embedder.tokens.count([QUESTION])[0]
    assert usage["output_tokens"] == embedder.tokens.count([str(reply.content)])[0]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


@pytest.mark.slow
def test_a_langchain_stream_reports_usage(served: TestClient, embedder: Embedder) -> None:
    chunks = list(_chat(served, stream_usage=True).stream(QUESTION))

    text = "".join(str(c.content) for c in chunks)
    assert "27 days" in text
    counted = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert len(counted) == 1
    assert counted[0]["input_tokens"] == embedder.tokens.count([QUESTION])[0]
    assert counted[0]["output_tokens"] == embedder.tokens.count([text])[0]


class Leave(BaseModel):
    days: int


def _refused(call: Any) -> str:
    with pytest.raises(BadRequestError) as raised:
        call()
    # The openai SDK keeps the `error` object of the body.
    error: dict[str, Any] = raised.value.body  # type: ignore[assignment]
    assert error["code"] == 400 and error["hint"].startswith("send the request without")
    return str(error["message"])


@pytest.mark.slow
def test_options_docent_cannot_honour_are_refused(served: TestClient) -> None:
    chat = _chat(served)
    token = served.headers["Authorization"].removeprefix("Bearer ")
    sdk = OpenAI(base_url="http://testserver/v1", api_key=token, http_client=served, max_retries=0)
    asked = [{"role": "user", "content": QUESTION}]

    tools = _refused(lambda: chat.bind_tools([Leave]).invoke(QUESTION))
    structured = _refused(lambda: chat.with_structured_output(Leave).invoke(QUESTION))
    json_mode = _refused(
        lambda: chat.with_structured_output(Leave, method="json_mode").invoke(QUESTION)
    )
    several = _refused(lambda: _chat(served, n=2).invoke(QUESTION))
    logprobs = _refused(
        lambda: sdk.chat.completions.create(
            model="docent:docs",
            messages=asked,  # type: ignore[arg-type]
            logprobs=True,
        )
    )

    assert "`tools` is not supported" in tools
    assert "`response_format` is not supported" in structured
    assert "`response_format` is not supported" in json_mode
    assert "`n` is not supported" in several and "`logprobs`" in logprobs


@pytest.mark.slow
def test_sampling_options_and_text_format_are_accepted(served: TestClient) -> None:
    body = {
        "model": "docent:docs",
        "messages": [{"role": "user", "content": QUESTION}],
        "n": 1,
        "temperature": 0.2,
        "max_tokens": 50,
        "response_format": {"type": "text"},
        "tool_choice": "none",
    }
    reply = served.post("/v1/chat/completions", json=body)

    assert reply.status_code == 200, reply.text
    assert reply.json()["usage"]["prompt_tokens"] > 0


@pytest.mark.slow
def test_a_question_label_with_nothing_after_it_is_a_400(served: TestClient) -> None:
    body = {"model": "docent:docs", "messages": [{"role": "user", "content": "Question:\nAnswer:"}]}
    reply = served.post("/v1/chat/completions", json=body)

    assert reply.status_code == 400
    assert "`Question:` label" in reply.json()["error"]["message"]
