"""The real ``openai`` client against a running server with the embedded model.

Docent is served by uvicorn on loopback; the client is the one integrators use (and
Open WebUI speaks the same protocol). Citations must come back in the ``docent``
extension field and as a numbered list in the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import NotFoundError, OpenAI

from app.answer_record import AnswerRecord
from app.settings import Settings
from models.embedder import Embedder
from tests import docgen
from tests.http_server import running
from tests.http_setup import token_for
from tests.indexed import indexed

pytestmark = pytest.mark.slow
QUESTION = "How many days of annual leave does every employee receive?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[OpenAI]:
    root = tmp_path_factory.mktemp("http-openai")
    share = docgen.handbook_share(root)
    (share / "canteen.txt").write_text("In 2023 the canteen was renovated and got a salad bar.\n")
    docent = indexed(Settings(data_dir=root / "data", chat_temperature=0.0), embedder, share)
    token = token_for(docent, "alice")
    docent.grant("alice", "docs")
    with running(docent) as url:
        yield OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=300)


def _handbook_cited(citations: list[dict[str, object]]) -> dict[str, object]:
    cited = next(c for c in citations if (c["source"], c["page"]) == ("handbook.pdf", 2))
    assert "27 days" in str(cited["quote"]) and cited["status"] in {
        "quoted",
        "verified",
        "attributed",
    }
    return cited


def test_models_are_the_collections_the_user_may_read(served: OpenAI) -> None:
    assert [m.id for m in served.models.list()] == ["docent:docs"]


def test_a_completion_carries_its_citations(served: OpenAI) -> None:
    reply = served.chat.completions.create(
        model="docent:docs", messages=[{"role": "user", "content": QUESTION}]
    )

    text = reply.choices[0].message.content or ""
    extension = (reply.model_extra or {})["docent"]
    assert extension["status"] == "answered" and extension["collection"] == "docs"
    # The same record as the REST answer and `ask --json`.
    assert AnswerRecord.model_validate(extension).units
    cited = _handbook_cited(extension["citations"])
    assert "27" in text and f"[{cited['number']}] handbook.pdf, page 2:" in text


def test_a_stream_ends_with_the_citations(served: OpenAI) -> None:
    history = [
        {"role": "user", "content": "How long is the notice period?"},
        {"role": "assistant", "content": "After probation the notice period is three months."},
        {"role": "user", "content": QUESTION},
    ]
    chunks = list(
        served.chat.completions.create(model="docent:docs", messages=history, stream=True)
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    _handbook_cited((last.model_extra or {})["docent"]["citations"])
    # Quotes come whole (no model writes them): the text, then the final chunk.
    assert "27" in text and "Sources:" in text and len(chunks) >= 2


def test_an_unrelated_question_is_refused(served: OpenAI) -> None:
    reply = served.chat.completions.create(
        model="docent:docs",
        messages=[{"role": "user", "content": "What is the boiling point of tungsten in kelvin?"}],
    )

    assert (reply.model_extra or {})["docent"]["status"] == "not_found"
    assert (reply.model_extra or {})["docent"]["citations"] == []
    assert "Sources:" not in (reply.choices[0].message.content or "")


def test_an_unknown_model_and_a_bad_token_are_refused(served: OpenAI, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        served.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    base = str(served.base_url).rstrip("/")
    assert httpx.get(f"{base}/models", headers={"Authorization": "Bearer x"}).status_code == 401
    assert httpx.get(base.removesuffix("/v1") + "/readyz", timeout=60).json()["status"] == "ready"
