"""Retrieval's fast paths return what Chroma's filtered search returns.

Chroma's label and broad filters are slow at 100k chunks, so ``rag.retrieve`` leaves out
access labels that no chunk lacks (while no write is under way) and ranks a narrow
filter's chunks by their exact cosine. Every result must equal the plain filtered
search's, and a write while a reader reads must not let a restricted chunk through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.lexical import LexicalIndex
from rag.retrieve import Filters, Mode, Retriever
from rag.store import Collection
from rag.types import Chunk
from tests.test_retrieve import LEAVE, _write_share

QUERIES = ("paid holiday per annum", "fault E-4417-B restart the service", "visitor badge")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    root = tmp_path_factory.mktemp("paths")
    docent = Docent(Settings.model_validate({"data_dir": root / "data"}), embedder=embedder)
    (root / "hr").mkdir()
    (root / "hr" / "leave.md").write_text(f"# Holidays\n\n{LEAVE}\n")
    assert docent.ingest([_write_share(root / "share")], "lib").exit_code == 0
    assert docent.ingest([root / "hr"], "lib", labels=["hr"]).exit_code == 0
    return docent


def _filtered_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every filter sent to Chroma's filtered search, always."""
    monkeypatch.setattr("rag.retrieve._needed", lambda target, filters, writes: filters)
    monkeypatch.setattr(
        Retriever, "_dense", lambda self, target, vector, filters: target.nearest(
            vector, self.candidates, filters
        )
    )  # fmt: skip


def _spy_wheres(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ``where`` of every Chroma search, as retrievals make them."""
    wheres: list[Any] = []
    nearest = Collection.nearest

    def spy(self: Collection, vector: np.ndarray, n: int, filters: Filters) -> list[str]:
        wheres.append(filters.where())
        return nearest(self, vector, n, filters)

    monkeypatch.setattr(Collection, "nearest", spy)
    return wheres


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_every_path_returns_what_the_filtered_search_returns(
    library: Docent, mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = library.index.collection("lib")
    manual = target.find("manual.pdf")[0].doc_id
    every = [
        Filters(),
        Filters(labels=("lib", "hr")),  # every chunk passes
        Filters(labels=("lib",)),  # leave.md, the best for the first query, does not
        Filters(labels=("hr",)),
        Filters(labels=()),
        Filters(page_from=2, page_to=3),
        Filters(page_from=0, labels=("lib",)),
        Filters(documents=(manual,)),
        Filters(documents=(manual,), labels=("hr",)),
        Filters(sources=("leave.md", "visitors.txt"), labels=("lib", "hr")),
    ]
    retriever = Retriever(library.index, candidates=4)

    def found() -> list[list[str]]:
        return [
            [p.id for p in retriever.retrieve("lib", query, 8, filters, mode)]
            for query in QUERIES
            for filters in every
        ]

    fast = found()
    _filtered_search(monkeypatch)

    assert fast == found()


@pytest.mark.slow
def test_a_grant_every_chunk_passes_is_left_out_of_the_search(
    library: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheres = _spy_wheres(monkeypatch)
    retriever = Retriever(library.index)

    everything = retriever.retrieve("lib", QUERIES[0], 6, Filters(labels=("lib", "hr")))
    assert wheres == [None] and everything[0].source == "leave.md"
    excluding = retriever.retrieve("lib", QUERIES[0], 6, Filters(labels=("lib",)))
    assert wheres[1:] == [Filters(labels=("lib",)).where()]
    assert "leave.md" not in {p.source for p in excluding}


@pytest.mark.slow
def test_a_write_while_reading_makes_the_reader_read_again_with_every_filter(
    library: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = library.index.collection("lib")
    leave = target.find("leave.md")[0].doc_id
    wheres = _spy_wheres(monkeypatch)
    grant = Filters(labels=("lib", "hr"))
    rows = Collection.rows

    def restricting_meanwhile(*args: Any) -> Any:
        found = rows(*args)
        if len(wheres) == 1:  # the first read: leave.md becomes the board's only
            target.relabel_document(leave, ["board"])
        return found

    monkeypatch.setattr(Collection, "rows", restricting_meanwhile)
    try:
        found = Retriever(library.index).retrieve("lib", QUERIES[0], 6, grant)
        assert wheres == [None, grant.where()]
        assert "leave.md" not in {p.source for p in found}
        # Nothing is left out while a write is under way (or its writer died).
        with target.writing():
            Retriever(library.index).retrieve("lib", QUERIES[0], 6, grant)
        assert wheres[2:] == [grant.where()]
    finally:
        target.relabel_document(leave, ["hr"])


@pytest.mark.slow
def test_a_narrow_filter_over_the_exact_limit_uses_the_filtered_search(
    library: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rag.retrieve.EXACT_LIMIT", 1)
    manual = library.index.collection("lib").find("manual.pdf")[0].doc_id
    retriever = Retriever(library.index)
    filters = Filters(documents=(manual,))

    wide = [p.id for p in retriever.retrieve("lib", "roof", 4, filters, "dense")]
    _filtered_search(monkeypatch)

    assert len(wide) == 4
    assert wide == [p.id for p in retriever.retrieve("lib", "roof", 4, filters, "dense")]


def _chunk(n: int, text: str) -> Chunk:
    return Chunk(
        id=f"d:{n}", text=text, embed_text="", doc_id="d", position=n, source="s.txt",
        title="", page=0, heading="", char_start=0, char_end=len(text),
    )  # fmt: skip


def test_searches_see_writes_and_a_replaced_index_file(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lexical.sqlite3")
    assert index.search("zebracorn", 5) == []  # no file yet
    index.upsert([_chunk(0, "the zebracorn valve")])
    assert [i for i, _ in index.search("zebracorn", 5)] == ["d:0"]

    index.upsert([_chunk(1, "a second zebracorn")])  # seen by the kept connection
    assert {i for i, _ in index.search("zebracorn", 5)} == {"d:0", "d:1"}

    index.drop()  # the collection deleted, then created again
    assert index.search("zebracorn", 5) == []
    LexicalIndex(index.path).upsert([_chunk(2, "quokkaline crew")])
    assert index.search("zebracorn", 5) == []
    assert [i for i, _ in index.search("quokkaline", 5)] == ["d:2"]
