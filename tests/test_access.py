"""Access control: no chunk outside a user's grants is retrieved, shown, summarized or counted.

One small index is built per module (real Chroma, the real embedder); hypothesis varies
users, groups, grants and questions over it. The chat model is a fake Ollama at the
HTTP edge, so answers and summaries run Docent's whole path quickly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api import Docent
from app.auth import access
from app.auth.access import AccessError, Grants
from app.auth.accounts import User
from app.settings import Settings
from models.embedder import Embedder
from models.errors import DocentError
from rag.retrieve import Filters
from rag.store import CollectionError
from tests.fake_ollama import FakeModel, FakeOllama

MODEL = "qwen2.5:1.5b"
MERGER = (
    "Project Falcon: the directors approved the acquisition of Nordwind Logistik GmbH "
    "for 48 million euros, to be announced on 3 March."
)
# source -> (folder, labels given at ingest, text)
DOCUMENTS = {
    "canteen.md": ("public", (), "The staff canteen serves lunch from 11:30 to 14:00 daily."),
    "merger.md": ("board", ("board",), MERGER),
    "salaries.md": ("hr", ("hr",), "Senior engineers are paid 72,000 to 85,000 euros a year."),
    "bonus.md": ("both", ("board", "hr"), "The executive bonus pool is 1.2 million euros."),
}
LABELS = {"canteen.md": {"lib"}, "merger.md": {"board"}, "salaries.md": {"hr"}}
LABELS["bonus.md"] = {"board", "hr"}
QUESTIONS = [
    "When does the canteen serve lunch?",
    "What did the directors approve about Nordwind?",
    "How much are senior engineers paid?",
    "How large is the executive bonus pool?",
    "euros",
    MERGER,
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        server.behaviour.answer = "The answer is in the sources [1]."
        yield server


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, fake: FakeOllama
) -> Docent:
    root = tmp_path_factory.mktemp("access")
    settings = Settings(
        data_dir=root / "data", chat_backend="ollama", chat_model=MODEL, chat_base_url=fake.url
    )
    docent = Docent(settings, embedder=embedder)
    for source, (folder, labels, text) in DOCUMENTS.items():
        (root / folder).mkdir()
        (root / folder / source).write_text(f"# {source}\n\n{text}\n")
        assert docent.ingest([root / folder], "lib", labels=labels).exit_code == 0
    (root / "other").mkdir()
    (root / "other" / "parking.md").write_text("# Parking\n\nThe car park opens at 06:30.\n")
    assert docent.ingest([root / "other"], "other").exit_code == 0
    return docent


_serial = itertools.count()
principals = st.sampled_from(["alice", "bob", "@g1", "@g2"])
grant_rows = st.tuples(
    principals, st.sampled_from(["lib", "other"]), st.sampled_from(["lib", "board", "hr", "other"])
)


def _grants(library: Docent, rows: list[tuple[str, str, str]]) -> Grants:
    grants = Grants(library.settings.data_dir / f"grants-{next(_serial)}.json")
    for principal, collection, label in rows:
        grants.grant(principal, collection, label)
    library.grants = grants
    return grants


def _sources(library: Docent, chunk_ids: list[str]) -> set[str]:
    if not chunk_ids:
        return set()
    metas = library.index.collection("lib").chroma.get(ids=chunk_ids)["metadatas"] or []
    return {str(meta["source"]) for meta in metas}


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(grant_rows, max_size=6),
    name=st.sampled_from(["alice", "bob"]),
    groups=st.lists(st.sampled_from(["g1", "g2"]), unique=True),
    question=st.sampled_from(QUESTIONS) | st.text(min_size=1, max_size=40),
    asked=st.none() | st.lists(st.sampled_from(["lib", "board", "hr"]), max_size=2),
)
def test_nothing_outside_the_grants_is_retrieved_shown_summarized_or_counted(
    library: Docent,
    rows: list[tuple[str, str, str]],
    name: str,
    groups: list[str],
    question: str,
    asked: list[str] | None,
) -> None:
    _grants(library, rows)
    user = User(name, "user", tuple(groups))
    holders = {name, *(f"@{g}" for g in groups)}
    granted = {label for p, c, label in rows if c == "lib" and p in holders}
    wanted = granted if asked is None else granted & set(asked)
    readable = {source for source, labels in LABELS.items() if labels & wanted}
    if not any(c == "lib" and p in holders for p, c, _ in rows):
        with pytest.raises(CollectionError, match="does not exist"):
            library.documents("lib", user=user)
        with pytest.raises(CollectionError, match="does not exist"):
            library.ask("lib", question, user=user)
        assert "lib" not in {info.name for info in library.collections(user=user)}
        return

    filters = Filters(labels=tuple(asked)) if asked is not None else None
    answer = library.ask("lib", question, filters=filters, user=user)
    scoped = access.restrict(filters, library.grants.allowed(user, "lib"))
    passages = library.answers.retriever.retrieve("lib", question, 20, scoped)
    shown = [p.id for source in answer.evidence for p in source.passages]

    assert {p.source for p in passages} <= readable
    assert _sources(library, shown) <= readable
    assert {c.source for c in answer.citations} <= readable
    assert {r.source for r in library.documents("lib", user=user)} == {
        s for s, labels in LABELS.items() if labels & granted
    }
    counted = {info.name: info for info in library.collections(user=user)}["lib"]
    assert counted.documents == len({s for s, labels in LABELS.items() if labels & granted})
    for source in DOCUMENTS:
        if LABELS[source] & granted:
            assert library.summarize("lib", source, length="short", user=user).source == source
        else:
            with pytest.raises(DocentError, match="No document"):
                library.summarize("lib", source, user=user)


@pytest.mark.slow
def test_an_administrator_sees_everything_and_a_user_is_bounded(library: Docent) -> None:
    _grants(library, [("@g1", "lib", "hr")])
    admin, member = User("root", "admin"), User("carol", "user", ("g1",))

    assert {r.source for r in library.documents("lib", user=admin)} == set(DOCUMENTS)
    assert {i.name for i in library.collections(user=admin)} == {"lib", "other"}
    infos = library.collections(user=member)
    assert [(i.name, i.documents) for i in infos] == [("lib", 2)]
    total = library.index.collection("lib").count_chunks()
    assert 0 < infos[0].chunks < total
    assert library.status(user=member).collections == infos


@pytest.mark.slow
def test_quoting_a_forbidden_document_verbatim_yields_nothing(
    library: Docent, fake: FakeOllama
) -> None:
    _grants(library, [("alice", "lib", "lib")])
    alice = User("alice")
    before = len(fake.requests.bodies("/api/chat"))

    answer = library.ask("lib", MERGER, user=alice)

    assert answer.status == "not_found" and answer.citations == []
    assert len(fake.requests.bodies("/api/chat")) == before  # the gate refused: no model call
    assert all("Nordwind" not in s.text for s in answer.evidence)
    assert "Nordwind" not in answer.text
    for mode in ("dense", "lexical", "hybrid"):
        found = library.answers.retriever.retrieve(
            "lib", MERGER, 20, access.restrict(None, ("lib",)), mode
        )
        assert {p.source for p in found} <= {"canteen.md"}
    assert library.document_file("lib", "merger.md", user=alice) is None
    assert library.document_file("lib", "merger.md") is not None
    with pytest.raises(DocentError, match="No document"):
        library.summarize("lib", "merger.md", user=alice)
    forged = Filters(labels=("board",), sources=("merger.md",))
    assert library.ask("lib", MERGER, filters=forged, user=alice).evidence == []


@pytest.mark.slow
def test_users_may_only_add_what_they_may_read_and_only_admins_manage(
    library: Docent, tmp_path: Path
) -> None:
    _grants(library, []).grant("alice", "lib", write=True)
    alice = User("alice")
    (tmp_path / "note.md").write_text("# Note\n\nA note.\n")

    with pytest.raises(AccessError, match="may not add"):
        library.ingest([tmp_path], "lib", labels=["board"], user=alice)
    with pytest.raises(AccessError, match="administrator"):
        library.remove_document("lib", "canteen.md", user=alice)
    with pytest.raises(AccessError, match="administrator"):
        library.delete_collection("lib", user=alice)
    with pytest.raises(AccessError, match="administrator"):
        library.grant("alice", "lib", "board", user=alice)
    assert library.ingest([tmp_path], "lib", dry_run=True, user=alice).exit_code == 0
    denied = [r for r in library.audit.export() if r["event"] == "denied"][-4:]
    assert [(r["user"], r["action"]) for r in denied] == [
        ("alice", "ingest"),
        ("alice", "remove documents"),
        ("alice", "delete collections"),
        ("alice", "grant access"),
    ]


def test_grants_are_kept_per_collection_and_revoked(tmp_path: Path) -> None:
    grants = Grants(tmp_path / "grants.json")
    grants.grant("alice", "legal")
    grants.grant("@board", "legal", "secret")

    assert grants.allowed(User("alice", "user", ("board",)), "legal") == ("legal", "secret")
    assert grants.allowed(User("alice", "user", ("board",)), "hr-files") == ()
    assert grants.allowed(User("root", "admin"), "legal") is None
    assert [g.label for g in grants.revoke("@board", "legal")] == ["secret"]
    with pytest.raises(AccessError, match="holds no grant"):
        grants.revoke("@board", "legal")
    with pytest.raises(AccessError, match="not a valid access label"):
        grants.grant("alice", "legal", "no spaces")
    assert access.default_labels("legal", []) == ("legal",)
    assert access.default_labels("legal", ["b", "a", "b"]) == ("a", "b")


def test_ingesting_again_with_other_labels_relabels_without_embedding(
    docent: Docent, corpus: Path
) -> None:
    first = docent.ingest([corpus], "legal")
    assert first.exit_code == 0 and first.chunks_embedded > 0
    retriever = docent.answers.retriever
    question = "How many days of annual leave?"

    again = docent.ingest([corpus], "legal", labels=["board"])

    assert again.chunks_embedded == 0
    assert {row.status for row in again.files} == {"updated"}
    assert all("access labels now board" in row.reason for row in again.files)
    for mode in ("dense", "lexical", "hybrid"):
        assert retriever.retrieve("legal", question, 5, Filters(labels=("legal",)), mode) == []
        found = retriever.retrieve("legal", question, 5, Filters(labels=("board",)), mode)
        assert "handbook.pdf" in {p.source for p in found}
    assert {tuple(r.labels) for r in docent.documents("legal")} == {("board",)}
    settled = docent.ingest([corpus], "legal", labels=["board"])
    assert {row.status for row in settled.files} == {"unchanged"}


@pytest.mark.slow
def test_an_upload_is_refused_before_it_touches_the_disk(library: Docent) -> None:
    _grants(library, []).grant("alice", "lib", write=True)
    uploads = library.settings.data_dir / "uploads" / "other"

    with pytest.raises(AccessError, match="may not add"):
        library.check_upload("other", user=User("alice"))
    library.check_upload("lib", user=User("alice"))

    assert not uploads.exists()
    denied = [r for r in library.audit.export() if r["event"] == "denied"][-1]
    assert (denied["user"], denied["action"], denied["collection"]) == ("alice", "upload", "other")
