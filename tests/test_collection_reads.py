"""Reads of a whole collection go a page at a time (Chroma fails one request past ~32k rows)."""

from __future__ import annotations

import pytest

import rag.collection
from app.settings import Settings
from models.embedder import Embedder
from rag.collection import Collection
from rag.filters import Filters
from tests import docgen
from tests.indexed import indexed


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Collection:
    root = tmp_path_factory.mktemp("reads")
    share = docgen.handbook_share(root)
    topics = ("parking", "badges", "canteen", "archive", "printing", "travel", "leave")
    for n, topic in enumerate(topics):
        lines = [
            f"Rule {k} on {topic}: requests go to desk {n}{k} within {k + 2} days."
            for k in range(60)
        ]
        (share / f"{topic}.txt").write_text("\n\n".join(lines) + "\n")
    docent = indexed(Settings(data_dir=root / "data"), embedder, share)
    return docent.index.collection("docs")


@pytest.mark.slow
def test_all_chunks_come_back_in_the_stores_order_over_several_pages(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = list(collection.chroma.get(include=[])["ids"])
    whole = collection.stored_chunks()
    assert [chunk.id for chunk in whole] == stored and len(stored) > 10
    requests: list[int | None] = []
    get = collection.chroma.get

    def counted(**kwargs: object) -> object:
        requests.append(kwargs.get("limit"))  # type: ignore[arg-type]
        return get(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rag.collection, "_PAGE", 3)
    monkeypatch.setattr(collection.chroma, "get", counted)
    paged = collection.stored_chunks()
    assert [chunk.id for chunk in paged] == stored
    assert len(requests) == len(stored) // 3 + 1 and set(requests) == {3}
    assert [(c.text, c.page) for c in paged] == [(c.text, c.page) for c in whole]


@pytest.mark.slow
def test_one_documents_chunks_are_paged_too_and_in_document_order(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = max(collection.records(), key=lambda r: r.chunks)
    monkeypatch.setattr(rag.collection, "_PAGE", 2)
    chunks = collection.document_chunks(Filters(documents=(record.doc_id,)))
    assert len(chunks) == record.chunks > 2
    assert [c.position for c in chunks] == sorted(c.position for c in chunks)
    assert {c.doc_id for c in chunks} == {record.doc_id}
