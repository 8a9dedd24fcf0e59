"""The collection each person last chose, so a sign-in or a new tab opens where they work.

A choice of the browser UI, not a rule: kept in ``<data_dir>/ui-last-collection.json``
(owner-only, replaced atomically like the accounts file) as ``{user: collection}``.
Whether the person may still read it is checked on each use, not here.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from models.errors import DocentError

FILE_NAME = "ui-last-collection.json"


def recalled(data_dir: Path, user: str) -> str | None:
    """The collection ``user`` chose last, or None (never chose, or the file is unreadable)."""
    from app.auth.state import read_json

    try:
        chosen = read_json(data_dir / FILE_NAME).get(user)
    except DocentError:
        return None
    return chosen if isinstance(chosen, str) and chosen else None


def remember(data_dir: Path, user: str, collection: str) -> None:
    """Keep ``collection`` as the one ``user`` chose last (best effort: a read-only disk
    only means the next sign-in opens on the first collection)."""
    from app.auth.state import locked, read_json, write_private_json

    path = data_dir / FILE_NAME
    with contextlib.suppress(OSError, DocentError), locked(path):
        choices = read_json(path)
        if choices.get(user) != collection:
            write_private_json(path, {**choices, user: collection})
