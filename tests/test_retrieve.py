"""Hybrid retrieval on a real index with the real embedder; the BM25 index kept in step."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag import lexical
from rag.context import build_context
from rag.lexical import LexicalIndex
from rag.lexical_terms import match_expression, query_terms
from rag.retrieve import Filters, Mode, Passage, Retriever
from rag.types import Chunk
from tests import docgen

CODE = "E-4471-B"
# Near-miss codes: a small embedder cannot tell them apart, BM25 phrase matching can.
DECOYS = ("E-4417-B", "E-4471-D", "E-4741-B", "E-7441-B", "B-4471-E", "E-4470-B")
SHARED = (
    "Visitors must sign the register at reception, wear the yellow visitor badge at all "
    "times, and be accompanied by a member of staff in every area beyond the lobby. "
    "Badges are returned at the end of the visit and the register is kept for one year."
)
LEAVE = "Every employee is entitled to twenty-seven days of paid holiday per annum."
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")


def _write_share(root: Path) -> Path:
    (root / "codes").mkdir(parents=True)
    # The code once, inside a passage about something else; the decoys are all about faults.
    (root / "codes" / "code-0.txt").write_text(
        "Tape library maintenance. Clean the drive heads monthly with the cleaning cartridge, "
        "keep the humidity between 20 and 80 percent, and replace worn cartridges after 5000 "
        f"loads. If the library reports {CODE} after a power cut, reseat the SAS cable. "
        "Firmware updates are applied by the vendor during the quarterly visit.\n"
    )
    for n, code in enumerate(DECOYS, start=1):
        (root / "codes" / f"code-{n}.txt").write_text(
            f"Fault {code}: the controller reported fault {code}. "
            f"Restart the service and open a ticket quoting {code}.\n"
        )
    # The same paragraph under another heading, and as another converter wrote it.
    (root / "visitors.txt").write_text(SHARED + "\n")
    (root / "policy.md").write_text(f"# Visitor policy\n\n{SHARED}\n")
    (root / "visitors-copy.txt").write_text(SHARED.replace(", ", "; ") + "\n")
    topics = ["boiler", "lifts", "roof", "cellar", "garden"]
    pages = [
        (f"Chapter {n}", f"Chapter {n} of the manual covers the {topic}.")
        for n, topic in enumerate(topics, start=1)
    ]
    docgen.make_pdf(root / "manual.pdf", pages=pages, title="Building Manual")
    return root


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    """A Docent with one collection built from a small share, shared by read-only tests."""
    root = tmp_path_factory.mktemp("retrieve")
    docent = Docent(Settings(data_dir=root / "data"), embedder=embedder)
    (root / "hr").mkdir()
    (root / "hr" / "leave.md").write_text(f"# Holidays\n\n{LEAVE}\n")
    assert docent.ingest([_write_share(root / "share")], "lib").exit_code == 0
    assert docent.ingest([root / "hr"], "lib", labels=["hr"]).exit_code == 0
    return docent


@pytest.mark.slow
def test_exact_code_is_found_by_lexical_not_dense(library: Docent) -> None:
    retriever = Retriever(library.index)

    lexical = retriever.retrieve("lib", CODE, k=3, mode="lexical")
    dense = retriever.retrieve("lib", CODE, k=1, mode="dense")
    hybrid = retriever.retrieve("lib", CODE, k=3)

    assert [p.source for p in lexical] == ["codes/code-0.txt"]  # no decoy matches
    assert dense[0].source != "codes/code-0.txt"
    assert "codes/code-0.txt" in {p.source for p in hybrid}


@pytest.mark.slow
def test_paraphrase_is_found_by_dense_not_lexical(library: Docent) -> None:
    retriever = Retriever(library.index)
    query = "How much vacation do workers get?"

    dense = retriever.retrieve("lib", query, k=1, mode="dense")
    lexical = retriever.retrieve("lib", query, k=6, mode="lexical")
    hybrid = retriever.retrieve("lib", query, k=3)

    assert dense[0].source == "leave.md"
    assert "leave.md" not in {p.source for p in lexical}
    assert hybrid[0].source == "leave.md"


@pytest.mark.slow
def test_every_passage_carries_its_dense_similarity(library: Docent) -> None:
    retriever = Retriever(library.index)
    lexical = retriever.retrieve("lib", CODE, k=1, mode="lexical")[0]
    chunks = library.index.collection("lib").chroma
    stored = np.asarray(chunks.get(ids=[lexical.id], include=["embeddings"])["embeddings"])[0]
    query = np.asarray(library.embedder.embed_query(CODE))

    assert lexical.lexical is not None and lexical.lexical > 0
    assert lexical.dense == pytest.approx(float(stored @ query), abs=1e-5)
    assert retriever.retrieve("lib", "paid holiday", k=1, mode="dense")[0].lexical is None


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_filters_are_applied_inside_both_store_queries(library: Docent, mode: Mode) -> None:
    # Two candidates per retriever: filtering after the fact would leave nothing.
    retriever = Retriever(library.index, candidates=2)
    manual = library.index.collection("lib").find("manual.pdf")[0].doc_id
    # Matches the fault notes best, and every filtered target a little.
    query = f"fault {DECOYS[0]} {DECOYS[1]}: restart the service, open a ticket; chapter; holiday"

    def sources(filters: Filters) -> set[str]:
        return {p.source for p in retriever.retrieve("lib", query, 50, filters, mode)}

    assert not sources(Filters()) & {"manual.pdf", "leave.md", "visitors.txt"}
    assert sources(Filters(documents=(manual,))) == {"manual.pdf"}
    two = {"leave.md", "visitors.txt"}
    assert "leave.md" in sources(Filters(sources=tuple(two))) <= two
    paged = retriever.retrieve("lib", query, 50, Filters(page_from=2, page_to=3), mode)
    assert {(p.source, p.page) for p in paged} == {("manual.pdf", 2), ("manual.pdf", 3)}


@pytest.mark.slow
def test_filters_keep_k_results_when_the_best_chunks_are_excluded(library: Docent) -> None:
    retriever = Retriever(library.index, candidates=3)
    manual = library.index.collection("lib").find("manual.pdf")[0].doc_id

    found = retriever.retrieve("lib", f"fault {CODE}", k=3, filters=Filters(documents=(manual,)))

    assert len(found) == 3 and {p.doc_id for p in found} == {manual}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_labels_restrict_and_an_empty_grant_allows_nothing(library: Docent, mode: Mode) -> None:
    retriever = Retriever(library.index)

    hr = retriever.retrieve("lib", "paid holiday badge fault", 20, Filters(labels=("hr",)), mode)
    nothing = retriever.retrieve("lib", "paid holiday", 20, Filters(labels=()), mode)

    assert {p.source for p in hr} == {"leave.md"}
    assert nothing == []


def test_where_clause_combines_every_filter() -> None:
    filters = Filters(
        documents=("d1",), sources=("a.pdf", "b.pdf"), page_from=2, page_to=4, labels=("hr", "it")
    )

    assert filters.where() == {
        "$and": [
            {"doc_id": {"$in": ["d1"]}},
            {"source": {"$in": ["a.pdf", "b.pdf"]}},
            {"page": {"$gte": 2}},
            {"page": {"$lte": 4}},
            {"$or": [{"labels": {"$contains": "hr"}}, {"labels": {"$contains": "it"}}]},
        ]
    }
    assert Filters().where() is None
    assert Filters(labels=("hr",)).where() == {"labels": {"$contains": "hr"}}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_same_paragraph_in_two_documents_appears_once(library: Docent, mode: Mode) -> None:
    stored = library.index.collection("lib").chroma.get(include=["documents"])["documents"]
    assert sum(text == SHARED for text in stored or []) == 2

    found = Retriever(library.index).retrieve("lib", "visitor badge register", k=6, mode=mode)

    assert sum("yellow visitor badge" in p.text for p in found) == 1


def test_query_words_are_stemmed_and_never_read_as_syntax() -> None:
    assert match_expression(query_terms('NEAR(x y) OR "z" AND -w*')) == (
        '"near" OR "x" OR "y" OR "z" OR "w"'
    )
    assert query_terms(f"What is {CODE}? Doesn't it mean libraries are running?") == [
        "e 4471 b", "mean", "librari", "run",
    ]  # fmt: skip
    assert query_terms("?!") == []


# The BM25 index stays in step with the chunks ---------------------------------------------


def _lexical_matches_chroma(docent: Docent, collection: str = "docs") -> None:
    target = docent.index.collection(collection)
    assert target.lexical.ids() == set(target.chunk_ids())
    # The per-term chunk counts that bound query cost are exact after every write.
    with sqlite3.connect(target.lexical.path) as db:
        texts = db.execute("SELECT text || ' ' || header FROM chunk_text").fetchall()
        assert dict(db.execute("SELECT term, chunks FROM term")) == Counter(
            term for (text,) in texts for term in set(text.split())
        )


def _lexically_found(docent: Docent, words: str) -> set[str]:
    return {p.source for p in Retriever(docent.index).retrieve("docs", words, k=10, mode="lexical")}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "boiler.md").write_text("# Boiler\n\nThe zebracorn valve is bled every spring.\n")
    (root / "roof.md").write_text("# Roof\n\nGutters are cleared by the quokkaline crew.\n")
    return root


@pytest.mark.slow
def test_changed_file_old_text_is_no_longer_found(docent: Docent, notes: Path) -> None:
    docent.ingest([notes], "docs")
    assert _lexically_found(docent, "zebracorn") == {"boiler.md"}
    (notes / "boiler.md").write_text("# Boiler\n\nThe unicornfish valve is bled in May.\n")

    docent.ingest([notes], "docs")

    assert _lexically_found(docent, "zebracorn") == set()
    assert _lexically_found(docent, "unicornfish") == {"boiler.md"}
    _lexical_matches_chroma(docent)


@pytest.mark.slow
def test_pruned_and_removed_documents_are_no_longer_found(docent: Docent, notes: Path) -> None:
    docent.ingest([notes], "docs")
    (notes / "boiler.md").unlink()
    docent.ingest([notes], "docs", prune=True)
    docent.remove_document("docs", "roof.md")

    assert _lexically_found(docent, "zebracorn quokkaline") == set()
    _lexical_matches_chroma(docent)


@pytest.mark.slow
def test_moved_file_is_found_under_its_new_source(docent: Docent, notes: Path) -> None:
    docent.ingest([notes], "docs")
    (notes / "roof.md").rename(notes / "roof-2024.md")

    docent.ingest([notes], "docs")
    found = Retriever(docent.index).retrieve(
        "docs", "quokkaline", mode="lexical", filters=Filters(sources=("roof-2024.md",))
    )

    assert [p.source for p in found] == ["roof-2024.md"]


class _Crash(Exception):
    """Stands for SIGKILL between the Chroma write and the BM25 write."""


def _crash_on(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    def crash(*args: object) -> None:
        raise _Crash

    monkeypatch.setattr(LexicalIndex, method, crash)


@pytest.mark.slow
def test_crash_between_the_two_writes_then_rerun_matches(
    docent: Docent, notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _crash_on(patch, "upsert")
        with pytest.raises(_Crash):
            docent.ingest([notes], "docs")
    assert docent.index.collection("docs").count_chunks() > 0  # Chroma got ahead

    docent.ingest([notes], "docs")
    _lexical_matches_chroma(docent)
    (notes / "boiler.md").write_text("# Boiler\n\nThe unicornfish valve is bled in May.\n")
    with monkeypatch.context() as patch:
        _crash_on(patch, "delete_documents")
        with pytest.raises(_Crash):
            docent.ingest([notes], "docs")

    docent.ingest([notes], "docs")
    _lexical_matches_chroma(docent)
    assert _lexically_found(docent, "zebracorn") == set()
    assert _lexically_found(docent, "unicornfish") == {"boiler.md"}


@pytest.mark.slow
def test_lost_lexical_index_is_rebuilt_by_the_next_ingest(docent: Docent, notes: Path) -> None:
    docent.ingest([notes], "docs")
    docent.index.collection("docs").lexical.drop()  # a collection made before the index
    assert _lexically_found(docent, "zebracorn") == set()

    report = docent.ingest([notes], "docs")

    assert report.chunks_embedded == 0
    assert _lexically_found(docent, "zebracorn") == {"boiler.md"}
    _lexical_matches_chroma(docent)


@pytest.mark.slow
def test_deleting_a_collection_deletes_its_lexical_index(docent: Docent, notes: Path) -> None:
    docent.ingest([notes], "docs")
    path = docent.index.collection("docs").lexical.path
    assert path.exists()

    docent.delete_collection("docs")

    assert not path.exists()


# Context: merged neighbours, numbering, budget ------------------------------------------

DOC = (
    "The boiler is serviced in April. Its pressure is checked weekly. "
    "Faults go to the facilities desk.\n\nThe lifts are inspected twice a year. "
    "An engineer is on call at night. Keys are kept at reception."
)


def _at(start: int, end: int, position: int, *, doc: str = "d1", page: int = 1) -> Passage:
    return Passage(
        id=f"{doc}:{position:05d}", text=DOC[start:end], doc_id=doc, source=f"{doc}.pdf",
        title=doc.upper(), page=page, heading="", char_start=start, char_end=end,
        position=position, dense=0.5, lexical=None, score=1.0,
    )  # fmt: skip


def _words(text: str) -> int:
    return len(text.split())


def test_neighbours_merge_into_one_source_without_repeating_the_overlap() -> None:
    first, second = DOC.index("Its pressure"), DOC.index("The lifts")
    chunks = [_at(0, second - 2, 0), _at(first, second - 2, 1), _at(second, len(DOC), 2)]
    other = _at(0, 40, 0, doc="d2")

    sources = build_context([chunks[1], other, chunks[2], chunks[0]], 1000, _words)

    assert [s.number for s in sources] == [1, 2]
    merged = sources[0]
    assert merged.text == DOC  # the overlap once, the blank line between chunks kept
    assert (merged.char_start, merged.char_end) == (0, len(DOC))
    assert [p.position for p in merged.passages] == [0, 1, 2]
    assert (sources[1].source, sources[1].text) == ("d2.pdf", DOC[:40])


def test_other_pages_and_distant_chunks_stay_separate() -> None:
    lifts = DOC.index("The lifts")
    apart = [_at(0, 33, 0), _at(lifts, lifts + 36, 4)]
    paged = [_at(0, 33, 0), _at(33, 65, 1, page=2)]

    assert len(build_context(apart, 1000, _words)) == 2
    assert [s.page for s in build_context(paged, 1000, _words)] == [1, 2]


def test_sources_stop_before_the_budget_is_exceeded() -> None:
    passages = [_at(0, 33, 0, doc=f"d{n}") for n in range(5)]  # 6 words each

    sources = build_context(passages, 17, _words)

    assert [s.number for s in sources] == [1, 2]
    assert [s.source for s in sources] == ["d0.pdf", "d1.pdf"]


def test_a_source_alone_over_budget_is_cut_at_a_sentence_end() -> None:
    whole = _at(0, len(DOC), 0)

    [source] = build_context([whole, _at(0, 33, 0, doc="d2")], 15, _words)

    assert source.text == "The boiler is serviced in April. Its pressure is checked weekly."
    assert source.char_end - source.char_start == len(source.text)
    assert build_context([whole], 3, _words)[0].text == "The boiler is"


def test_a_query_scores_a_bounded_number_of_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "MAX_POSTINGS", 50)
    index = LexicalIndex(tmp_path / "lexical.sqlite3")
    index.upsert(
        [
            Chunk(
                id=f"d:{n:05d}", text=f"common {'middling ' * (n % 3 == 0)}{'rare' * (n < 3)}",
                embed_text="", doc_id="d", position=n, source="s.txt", title="", page=0,
                heading="", char_start=0, char_end=0,
            )
            for n in range(200)
        ]
    )  # fmt: skip

    # "common" is in every chunk (no BM25 weight); "middling" (67 chunks) exceeds the budget.
    assert len(index.search("common rare", 10)) == 3
    assert len(index.search("rare middling", 100)) == 3
    assert index.search("middling", 100) == []  # too common to rank by: dense answers alone
    monkeypatch.setattr(lexical, "MAX_POSTINGS", 10_000)
    assert len(index.search("middling", 100)) == 67
