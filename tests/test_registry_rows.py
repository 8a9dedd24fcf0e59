"""The registry rows of a run: looked up by key and content, found files marked, not held."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Iterator

import pytest

from rag.registry_rows import RegistryRows, data_line
from rag.types import DocumentRecord

ROOT, OTHER = "/srv/share", "/srv/other"


def row(i: int, root: str = ROOT, **changes: object) -> DocumentRecord:
    digest = hashlib.sha256(f"{root}{i}".encode()).hexdigest()
    record = DocumentRecord(
        key=digest[:32],
        root=root,
        source=f"d{i % 7}/file-{i:05}.md",
        doc_id=digest,
        size=1000 + i,
        mtime_ns=1_700_000_000_000_000_000 + i,
        title=f"Document {i}",
        pages=2,
        chunks=3,
        ingested_at="2026-12-03T09:00:00+00:00",
        labels=["staff"],
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def rows_of(n: int, root: str = ROOT) -> Iterator[DocumentRecord]:
    return (row(i, root) for i in range(n))


def test_a_row_comes_back_whole_and_found_rows_are_not_unseen() -> None:
    rows = RegistryRows([*rows_of(10), *rows_of(3, OTHER)])
    assert rows.find(row(4).key, 1) == row(4)
    assert rows.find("no such key", 1) is None
    unseen = [r.source for r in rows.unseen([ROOT], 1)]
    assert unseen == sorted(row(i).source for i in range(10) if i != 4)
    assert rows.count_unseen([ROOT], 1) == 9
    # A second walk (level 2) has not found it yet; other roots are never unseen.
    assert rows.count_unseen([ROOT], 2) == 10
    assert list(rows.unseen([], 2)) == []
    rows.close()


def test_a_row_put_keeps_how_far_its_file_was_found_and_takes_its_new_fields() -> None:
    rows = RegistryRows(rows_of(3))
    rows.find(row(1).key, 2)
    changed = row(1, doc_id="f" * 64, labels=["legal", "staff"])
    rows.put(changed, 0)
    assert rows.count_unseen([ROOT], 2) == 2
    assert rows.find(changed.key, 0) == changed
    assert rows.by_content("f" * 64) == changed
    assert rows.by_content(row(1).doc_id) is None
    new = row(9)
    rows.put(new, 2)  # a file found in this run
    assert new.key not in {r.key for r in rows.unseen([ROOT], 2)}
    rows.delete(new.key)
    assert rows.find(new.key, 2) is None
    rows.close()


def test_content_lookup_ignores_rows_not_committed_and_half_done_rows_are_listed() -> None:
    writing = row(1, doc_id="", pending="a" * 64)
    replacing = row(2, stale="b" * 64)
    rows = RegistryRows([row(0), writing, replacing])
    assert rows.by_content("") is None
    assert rows.by_content("a" * 64) is None
    assert rows.any_half_done()
    assert rows.half_done() == sorted([writing, replacing], key=lambda r: r.key)
    replacing.stale = ""
    rows.put(replacing, 0)
    rows.delete(writing.key)
    assert not rows.any_half_done()
    rows.close()


def test_unseen_rows_can_be_removed_while_they_are_listed() -> None:
    rows = RegistryRows(rows_of(1_234))  # more than two pages
    removed = []
    for record in rows.unseen([ROOT], 1):
        rows.delete(record.key)
        removed.append(record.source)
    assert removed == sorted(row(i).source for i in range(1_234))
    assert rows.count_unseen([ROOT], 1) == 0
    rows.close()


def test_twenty_thousand_rows_are_not_held_in_python_memory() -> None:
    tracemalloc.start()
    try:
        rows = RegistryRows(rows_of(20_000))
        for i in range(0, 20_000, 3):
            rows.find(row(i).key, 1)
        held, _ = tracemalloc.get_traced_memory()
        assert rows.count_unseen([ROOT], 1) == 20_000 - len(range(0, 20_000, 3))
    finally:
        tracemalloc.stop()
    # A dict of these rows holds ~12 MB; the rows wait in SQLite's file and page cache.
    assert held < 1 << 20, held
    rows.close()


def test_rows_loaded_as_data_lines_are_the_rows_and_a_line_not_a_row_is_refused() -> None:
    made = [*rows_of(5), row(5, pending="0" * 64)]
    rows = RegistryRows()
    rows.load(data_line(record) + "\n" for record in made)
    assert [rows.find(r.key, 1) for r in made] == made
    assert rows.half_done() == [made[5]]
    assert rows.by_content(made[2].doc_id) == made[2]

    for bad in ('{"key": "k"}', json.dumps(json.loads(data_line(made[0]))[:-1]), "[1, 2", ""):
        refused = RegistryRows([made[0]])
        with pytest.raises(ValueError):
            refused.load([data_line(made[1]), bad])
        # One transaction: nothing of the refused lines is kept, what was there is.
        assert refused.find(made[1].key, 1) is None and refused.find(made[0].key, 1) == made[0]
