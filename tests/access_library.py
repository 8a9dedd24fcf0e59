"""The small library the access-control tests share (test_access.py, test_http_access.py).

Four documents in the collection ``lib``, ingested from their own folders with the labels
``LABELS`` names, and a note about parking in the collection ``other``; hypothesis draws
grants (``grant_rows``) over them. Answers come from a fake Ollama at the HTTP edge (the
``answering_ollama`` fixture).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

from app.api import Docent
from app.auth.access import Grants

# The labels each source of ``lib`` can be read under (its collection's own name or a label).
LABELS = {"canteen.md": {"lib"}, "merger.md": {"board"}, "salaries.md": {"hr"}}
LABELS["bonus.md"] = {"board", "hr"}
QUESTIONS = [
    "When does the canteen serve lunch?",
    "What did the directors approve about Nordwind?",
    "How much are senior engineers paid?",
    "How large is the executive bonus pool?",
    "euros",
]
principals = st.sampled_from(["alice", "bob", "@g1", "@g2"])
grant_rows = st.tuples(
    principals, st.sampled_from(["lib", "other"]), st.sampled_from(["lib", "board", "hr", "other"])
)
_serial = itertools.count()


def documents(merger: str) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """source -> (folder, labels given at ingest, text); ``merger`` is the board's secret."""
    return {
        "canteen.md": ("public", (), "The staff canteen serves lunch from 11:30 to 14:00 daily."),
        "merger.md": ("board", ("board",), merger),
        "salaries.md": ("hr", ("hr",), "Senior engineers are paid 72,000 to 85,000 euros a year."),
        "bonus.md": ("both", ("board", "hr"), "The executive bonus pool is 1.2 million euros."),
    }


def ingest_library(
    docent: Docent, root: Path, library: dict[str, tuple[str, tuple[str, ...], str]]
) -> None:
    """Write ``library`` (from ``documents``) under ``root`` into ``lib``, and ``other``."""
    for source, (folder, labels, text) in library.items():
        (root / folder).mkdir()
        (root / folder / source).write_text(f"# {source}\n\n{text}\n")
        assert docent.ingest([root / folder], "lib", labels=labels).exit_code == 0
    (root / "other").mkdir()
    (root / "other" / "parking.md").write_text("# Parking\n\nThe car park opens at 06:30.\n")
    assert docent.ingest([root / "other"], "other").exit_code == 0


def fresh_grants(docent: Docent, rows: Sequence[tuple[str, str, str]] = ()) -> Grants:
    """New grants for ``docent`` in a file of their own: ``(principal, collection, label)``."""
    grants = Grants(docent.settings.data_dir / f"grants-{next(_serial)}.json")
    for principal, collection, label in rows:
        grants.grant(principal, collection, label)
    docent.grants = grants
    return grants
