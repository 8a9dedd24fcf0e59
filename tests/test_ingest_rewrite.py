"""A file saved again while it is parsed is never stored under the other version's hash.

The parsing worker reads the file after its sha256 was taken; an editor saving it in
between left one version's text under the other version's hash, and every later run took
the file for unchanged. Now the file is checked again after parsing: a file that changed
is reported and read again by the next run, which stores the version it finds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import Docent
from ingest.loaders import load
from ingest.pipeline import IngestConfig, Ingestor
from rag.filters import Filters
from tests import hostile_loaders

pytestmark = pytest.mark.slow


def test_a_file_rewritten_while_parsed_is_read_again_next_run(
    docent: Docent, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    policy = share / "leave.txt"
    policy.write_text("Every employee receives 27 days of annual leave per year.\n")
    config = IngestConfig(parse_timeout_seconds=30.0, parse_memory_mb=512)
    racing = Ingestor(docent.index, config, loaders={".txt": hostile_loaders.rewritten_while_read})

    first = racing.ingest([share], "docs")

    outcome = first.files[0]
    assert outcome.status == "failed" and "changed while it was being read" in outcome.reason
    assert docent.index.collection("docs").count_chunks() == 0  # nothing of either version

    # Same size, same mtime as the version hashed first: only a hash tells them apart.
    second = Ingestor(docent.index, config, loaders={".txt": load}).ingest([share], "docs")

    assert second.files[0].status == "added"
    collection = docent.index.collection("docs")
    record = collection.find("leave.txt")[0]
    chunks = collection.document_chunks(Filters(documents=(record.doc_id,)))
    assert "30 days" in chunks[0].text  # the version on disk, under its own hash
    from models.weights import sha256_file

    assert record.doc_id == sha256_file(policy)
    third = Ingestor(docent.index, config, loaders={".txt": load}).ingest([share], "docs")
    assert third.files[0].status == "unchanged"
