"""Repairing what a killed ingest run left half-done (the journal kept in the registry).

See ``ingest.pipeline`` for the protocol: ``pending`` is the version being written,
``stale`` the version being replaced; only ``doc_id`` is committed.
"""

from __future__ import annotations

from rag.store import Collection
from rag.types import DocumentRecord


def recover(collection: Collection, records: list[DocumentRecord] | None = None) -> int:
    """Finish or roll back what a killed run left half-done. Returns rows repaired.

    Args:
        collection: The collection to repair.
        records: Its registry rows, when the caller has read them already; repaired in
            place (a row rolled back to nothing is removed from the list).
    """
    records = collection.records() if records is None else records
    committed = {record.doc_id for record in records if record.doc_id}
    repaired = 0
    for record in records:
        if not (record.pending or record.stale):
            continue
        for doc_id in {record.pending, record.stale} - committed - {""}:
            collection.delete_document_chunks(doc_id)
        if record.doc_id:
            record.pending = record.stale = ""
            collection.put_record(record)
        else:
            collection.delete_record(record.key)
        repaired += 1
    records[:] = [r for r in records if r.doc_id or not (r.pending or r.stale)]
    return repaired
