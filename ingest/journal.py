"""Repairing what a killed ingest run left half-done (the journal kept in the registry).

See ``ingest.pipeline`` for the protocol: ``pending`` is the version being written,
``stale`` the version being replaced; only ``doc_id`` is committed.
"""

from __future__ import annotations

from rag.registry_rows import RegistryRows
from rag.store import Collection


def recover(collection: Collection, records: RegistryRows | None = None) -> int:
    """Finish or roll back what a killed run left half-done. Returns rows repaired.

    Args:
        collection: The collection to repair.
        records: Its registry rows, when the caller has read them already; repaired in
            place (a row rolled back to nothing is removed).
    """
    rows = RegistryRows(collection.iter_records()) if records is None else records
    try:
        return _repair(collection, rows)
    finally:
        if records is None:
            rows.close()


def _repair(collection: Collection, rows: RegistryRows) -> int:
    # A version is kept when some row has it committed (repairs never change a doc_id).
    repaired = 0
    for record in rows.half_done():
        for doc_id in {record.pending, record.stale} - {""}:
            if rows.by_content(doc_id) is None:
                collection.delete_document_chunks(doc_id)
        if record.doc_id:
            record.pending = record.stale = ""
            collection.put_record(record)
            rows.put(record, 0)
        else:
            collection.delete_record(record.key)
            rows.delete(record.key)
        repaired += 1
    return repaired
