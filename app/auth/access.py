"""Access control: which access labels of which collection each user may read.

Every chunk and registry row carries access labels. A document ingested without
``--label`` gets its collection's name as its one label, so granting a collection
(``docent grant alice legal``) grants that label; a document ingested with ``--label
board`` carries only ``board`` and is visible only to those granted ``board`` in that
collection (``docent grant @directors legal --label board``). Grants are per collection:
``board`` granted in ``legal`` shows nothing in ``hr``.

A user may read, in a collection, the labels granted there to the user and to each of
their groups; an administrator reads everything. These labels become
``Filters(labels=...)``, which the retriever applies inside the Chroma ``where`` clause
and the BM25 SQL, so an ungranted chunk never leaves the store. Grants are kept in
``<data_dir>/grants.json`` (0600, replaced atomically, like the accounts file), or in its
row in PostgreSQL with ``state_url`` set.

Reading and adding are separate: a grant lets its holder read a label, and only a grant
given with ``--write`` lets them add documents carrying it. Grants written before this
split (file version 1) let their holders both read and add, so they are read as write
grants and no site loses what its people could do; a grant given since is read-only
unless it says otherwise.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.auth.accounts import User, validate_name
from app.auth.state import StateDocument, document_of
from models.errors import DocentError
from rag.retrieve import Filters
from rag.store import CollectionError, validate_collection_name
from rag.types import DocumentRecord

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$")


class AccessError(DocentError):
    """The user may not do this (an administrator's operation, or an ungranted label)."""


@dataclass(frozen=True, order=True)
class Grant:
    """One label of one collection granted to a user or to ``@group``.

    Attributes:
        principal: A user name or ``@group``.
        collection: The collection.
        label: The access label read (and, with ``write``, given to added documents).
        write: The holder may also add documents with this label.
        origin: The SMB share whose permissions gave it ("" for a grant given by hand).
    """

    principal: str
    collection: str
    label: str
    write: bool = False
    origin: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Who, where and which label: one grant per key, read-only or read and write."""
        return (self.principal, self.collection, self.label)


def validate_label(label: str) -> str:
    """Return ``label`` if it is a valid access label, else raise ``AccessError``."""
    if not _LABEL.fullmatch(label):
        raise AccessError(
            f"`{label}` is not a valid access label.",
            hint="use 1-63 letters, digits, '.', ':', '-' or '_' (e.g. board, hr:payroll)",
        )
    return label


def unknown_collection(name: str) -> CollectionError:
    """What a user without a grant hears of ``name``, whether it exists or not."""
    return CollectionError(
        f"Collection `{name}` does not exist.",
        hint="see the collections you may read with `docent collections list`",
    )


def validate_principal(principal: str) -> str:
    """Return ``principal`` (a user name or ``@group``) if valid, else raise."""
    name = principal.removeprefix("@")
    validate_name(name, "group name" if principal.startswith("@") else "user name")
    return principal


def default_labels(collection: str, labels: Sequence[str]) -> tuple[str, ...]:
    """The labels documents get at ingest: those given, or else the collection's name."""
    chosen = tuple(sorted(set(labels))) or (collection,)
    for label in chosen:
        validate_label(label)
    return chosen


def require_admin(user: User | None, action: str) -> None:
    """Raise ``AccessError`` unless ``user`` is an administrator (None: the local CLI)."""
    if user is not None and not user.is_admin:
        raise AccessError(
            f"Only an administrator may {action}.", hint="ask an administrator of Docent"
        )


def restrict(filters: Filters | None, allowed: tuple[str, ...] | None) -> Filters:
    """``filters`` narrowed to the ``allowed`` labels (None: no restriction).

    A caller's own label filter is kept only where it is allowed, never widened.
    """
    base = filters or Filters()
    if allowed is None:
        return base
    labels = allowed if base.labels is None else tuple(sorted(set(base.labels) & set(allowed)))
    return replace(base, labels=labels)


def visible(
    records: Iterable[DocumentRecord], allowed: tuple[str, ...] | None
) -> list[DocumentRecord]:
    """The registry rows a reader with the ``allowed`` labels may see."""
    if allowed is None:
        return list(records)
    return [record for record in records if set(record.labels) & set(allowed)]


class Grants:
    """The grants.

    Args:
        where: The JSON file (``<data_dir>/grants.json``) or the state's ``grants`` document.
    """

    def __init__(self, where: Path | StateDocument) -> None:
        self.document = document_of(where)

    def all(self) -> list[Grant]:
        """Every grant, sorted (a version 1 file's grants read and write, as they did)."""
        return _grants(self.document.read())

    @contextlib.contextmanager
    def _changing(self) -> Iterator[list[Grant]]:
        """Every grant, stored when the block ends, no other change in between."""
        with self.document.change() as data:
            held = _grants(data)
            yield held
            if sorted(set(held)) == _grants(data):
                return  # unchanged: the document stays as it was, version and all
            rows = [
                [g.principal, g.collection, g.label, g.write, *([g.origin] if g.origin else [])]
                for g in sorted(set(held))
            ]
            data.clear()
            data.update({"version": 2, "grants": rows})

    def grant(
        self,
        principal: str,
        collection: str,
        label: str | None = None,
        *,
        write: bool = False,
        origin: str = "",
    ) -> Grant:
        """Grant ``label`` (default: the collection's own label) of ``collection``.

        ``origin`` names the share whose permissions gave the grant (``docent grants``
        shows it).

        A grant of the same label replaces the one held, so ``write=False`` takes the
        right to add away again and leaves reading.

        Raises:
            DocentError: The principal, collection or label is not a valid name.
        """
        validate_principal(principal)
        validate_collection_name(collection)
        given = Grant(principal, collection, validate_label(label or collection), write, origin)
        with self._changing() as held:
            held[:] = [*(g for g in held if g.key != given.key), given]
        return given

    def revoke(self, principal: str, collection: str, label: str | None = None) -> list[Grant]:
        """Withdraw one label, or (without ``label``) every label of the collection.

        Returns:
            The grants removed.

        Raises:
            AccessError: The principal held no such grant.
        """
        with self._changing() as held:
            gone = [
                g
                for g in held
                if (g.principal, g.collection) == (principal, collection)
                and label in (None, g.label)
            ]
            if not gone:
                what = f"label `{label}` of " if label else ""
                raise AccessError(
                    f"`{principal}` holds no grant on {what}`{collection}`.",
                    hint="see `docent grants`",
                )
            held[:] = [g for g in held if g not in gone]
        return gone

    def forget(self, principal: str) -> list[Grant]:
        """Withdraw every grant of a user or group (its account was removed); return them."""
        with self._changing() as held:
            gone = [g for g in held if g.principal == principal]
            held[:] = [g for g in held if g not in gone]
        return gone

    def allowed(
        self, user: User | None, collection: str, *, write: bool = False
    ) -> tuple[str, ...] | None:
        """The labels ``user`` may read (``write``: add) in ``collection``; None: all."""
        if user is None or user.is_admin:
            return None
        holders = {user.name, *(f"@{group}" for group in user.groups)}
        return tuple(
            sorted(
                {
                    g.label
                    for g in self.all()
                    if g.collection == collection
                    and g.principal in holders
                    and (g.write or not write)
                }
            )
        )

    def readers(self, collection: str, labels: Sequence[str]) -> list[str]:
        """Who besides the administrators may read documents with any of ``labels``."""
        return sorted(
            {g.principal for g in self.all() if g.collection == collection and g.label in labels}
        )

    def collections(self, user: User | None) -> set[str] | None:
        """The collections in which ``user`` holds any grant; None means all of them."""
        if user is None or user.is_admin:
            return None
        holders = {user.name, *(f"@{group}" for group in user.groups)}
        return {g.collection for g in self.all() if g.principal in holders}


def _grants(data: dict[str, Any]) -> list[Grant]:
    """The grants of a stored document, sorted (version 1's read and write, as they did)."""
    before_split = data.get("version", 1) == 1
    return sorted(
        Grant(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            before_split or bool(r[3:4] and r[3]),
            str(r[4]) if r[4:5] else "",
        )
        for r in data.get("grants", [])
    )
