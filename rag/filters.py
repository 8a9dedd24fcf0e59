"""Which chunks a read may return, and that restriction in each store's own language.

One ``Filters`` value is translated here both to a Chroma ``where`` clause (``where``) and
to SQL over the BM25 index's ``chunk`` table (``sql``), so that the dense and the lexical
side of a retrieval can never disagree about what a reader may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A clause no chunk satisfies: every stored chunk has a sha256 as its doc_id.
_NOTHING: dict[str, Any] = {"doc_id": {"$in": [""]}}


@dataclass(frozen=True)
class Filters:
    """Which chunks a retrieval may return.

    Attributes:
        documents: Only these doc_ids, if any are given.
        sources: Only these source paths (exact), if any are given.
        page_from: Lowest page, inclusive (pages are 0 for formats without pages).
        page_to: Highest page, inclusive.
        labels: Access control: None for no restriction; otherwise a chunk must carry at
            least one of these labels (so ``()`` allows nothing, and unlabeled documents
            are only visible without a restriction).
    """

    documents: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    page_from: int | None = None
    page_to: int | None = None
    labels: tuple[str, ...] | None = None

    def where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause for these filters, or None when nothing is filtered."""
        clauses: list[dict[str, Any]] = []
        if self.documents:
            clauses.append({"doc_id": {"$in": list(self.documents)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        # Pages are never below 0: a lower bound of 0 excludes nothing, and Chroma's clause
        # for it would read every chunk (seconds at 100k chunks).
        if self.page_from is not None and self.page_from > 0:
            clauses.append({"page": {"$gte": self.page_from}})
        if self.page_to is not None:
            clauses.append({"page": {"$lte": self.page_to}})
        if self.labels is not None:
            allowed = [{"labels": {"$contains": label}} for label in self.labels]
            clauses.append(_either(allowed) if allowed else _NOTHING)
        return _all(clauses)

    def sql(self) -> tuple[str, list[str | int]]:
        """The ``AND ...`` conditions on the BM25 index's table ``c`` (chunk), with parameters."""
        clauses: list[str] = []
        params: list[str | int] = []
        for column, values in (("c.doc_id", self.documents), ("c.source", self.sources)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.page_from is not None:
            clauses.append("c.page >= ?")
            params.append(self.page_from)
        if self.page_to is not None:
            clauses.append("c.page <= ?")
            params.append(self.page_to)
        if self.labels is not None:
            marks = ", ".join("?" * len(self.labels)) or "NULL"
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(c.labels) WHERE value IN ({marks}))")
            params.extend(self.labels)
        return "".join(f" AND {clause}" for clause in clauses), params


def lacking_where(labels: tuple[str, ...]) -> dict[str, Any] | None:
    """The Chroma ``where`` clause of the chunks that carry none of ``labels``."""
    return _all([{"labels": {"$not_contains": label}} for label in labels])


def _all(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(clauses) <= 1:
        return clauses[0] if clauses else None
    return {"$and": clauses}


def _either(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}
