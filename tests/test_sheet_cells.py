"""Citations by sheet and cell range ("Rota!A8:D8"): a spreadsheet's loader records the
row and columns of each line, the chunks keep them in the index, and an answer's citation
names the cells its quote stands in, in `docent ask` (text and `--json`), the REST API
and the OpenAI-compatible face. Rows and columns count as in the file, hidden ones too;
a PDF's citation keeps its page, and an index written before cells were kept still
answers, without cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.answer_record import CitationRecord, answer_from_json, answer_to_json
from app.api import Docent
from app.cli import main
from app.conversations import where
from app.provenance import places
from app.settings import Settings
from app.ui.present import citation_label
from ingest.loaders import load
from models.chat import register_backend
from models.embedder import Embedder
from rag.cells import cited_cells, column_name, reference, sheet_name
from rag.citations import Citation
from rag.codec import chunk_metadata, stored_chunk
from rag.filters import Filters
from rag.types import Chunk, SheetRow
from tests import docgen
from tests.http_setup import bearer, client, token_for
from tests.indexed import indexed
from tests.libreoffice import convert
from tests.scripted_chat import NAME, Script, ScriptedBackend, scripted_settings

QUESTION = "Who is on night shift on Ward 4 on Tuesday?"
ROW = "Ward 4 | Tuesday | Night | Priya Natarajan"
LEAVE = "How many days of annual leave does every employee receive?"


def make_rota(path: Path) -> None:
    """A rota: a title, a blank row, the header on row 3, and the Ward 4 night shift on
    row 8 below a hidden row 7 (so it is the 5th row read); a hidden column F."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Rota"
    sheet.append(["Ward rota, week 49"])
    sheet.append([])
    sheet.append(["Ward", "Day", "Shift", "Nurse in charge", "", "Pay grade"])
    sheet.append(["Ward 2", "Monday", "Day", "Grace Okafor", "", "Band 6"])
    sheet.append(["Ward 3", "Monday", "Late", "Liam Byrne", "", "Band 6"])
    sheet.append(["Ward 3", "Tuesday", "Day", "Aisha Rahman", "", "Band 7"])
    sheet.append(["Ward 9", "Tuesday", "Night", "closed for refurbishment"])
    sheet.row_dimensions[7].hidden = True
    sheet.append(["Ward 4", "Tuesday", "Night", "Priya Natarajan", "", "Band 7"])
    sheet.append(["Ward 5", "Wednesday", "Day", "Tomasz Kowalczyk", "", "Band 5"])
    sheet.append(["Ward 6", "Thursday", "Late", "Mateo Silva", "", "Band 6"])
    sheet.column_dimensions["F"].hidden = True
    workbook.save(path)


def _lines(path: Path) -> dict[str, SheetRow]:
    """Each line of the file's first sheet with the row it was read from."""
    section = load(path).sections[0]
    return {section.text[r.start : r.end]: r for r in section.rows}


# --- the loaders ---------------------------------------------------------------------------


def test_each_line_of_a_sheet_keeps_its_row_and_columns_as_in_the_file(tmp_path: Path) -> None:
    make_rota(tmp_path / "rota.xlsx")

    lines = _lines(tmp_path / "rota.xlsx")

    assert lines["Ward rota, week 49"] == SheetRow("Rota", 0, 18, 1, 1, 1)
    header = lines["Ward | Day | Shift | Nurse in charge"]
    assert (header.row, header.first, header.last, header.header) == (3, 1, 4, True)
    # Row 7 is hidden and left out: the next line is still row 8, not the 7th row read.
    assert (lines[ROW].row, lines[ROW].first, lines[ROW].last, lines[ROW].header) == (
        8,
        1,
        4,
        False,
    )
    assert "Band 7" not in "".join(lines)  # the hidden column F
    assert [r.row for r in lines.values()] == [1, 3, 4, 5, 6, 8, 9, 10]


def test_a_csv_is_a_sheet_named_by_its_stem_and_a_record_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "on-call.csv"
    path.write_text(
        'Team,Note,Phone\nPharmacy,"opens at 8\nclosed Sundays",0123\nPorters,,4567\n',
        encoding="utf-8",
    )

    lines = _lines(path)

    assert set(lines) == {
        "Team | Note | Phone",
        "Pharmacy | opens at 8 closed Sundays | 0123",
        "Porters | — | 4567",
    }
    porters = lines["Porters | — | 4567"]
    assert (porters.sheet, porters.row, porters.first, porters.last) == ("on-call", 3, 1, 3)


@pytest.mark.slow
def test_an_ods_written_by_libreoffice_keeps_the_rows_of_the_file(tmp_path: Path) -> None:
    make_rota(tmp_path / "rota.xlsx")
    (ods,) = convert([tmp_path / "rota.xlsx"], "ods", tmp_path / "out")

    lines = _lines(ods)

    assert lines[ROW].sheet == "Rota" and lines[ROW].row == 8
    assert (lines[ROW].first, lines[ROW].last) == (1, 4)
    assert [r.row for r in lines.values()] == [1, 3, 4, 5, 6, 8, 9, 10]


# --- cell ranges -------------------------------------------------------------------------


def test_cell_references_are_written_as_spreadsheets_write_them() -> None:
    assert [column_name(n) for n in (1, 4, 26, 27, 52, 702, 703)] == [
        "A",
        "D",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
    ]
    assert reference("Rota", 12, 1, 12, 4) == "Rota!A12:D12"
    assert reference("Rota", 3, 2, 3, 2) == "Rota!B3"
    assert sheet_name("Night rota") == "'Night rota'"
    assert sheet_name("Q1") == "'Q1'"  # reads as a cell
    assert sheet_name("Bob's") == "'Bob''s'"
    assert sheet_name("Sheet1") == "Sheet1"


def test_a_quote_is_cited_by_its_rows_not_by_the_header_above_them() -> None:
    rows = [
        SheetRow("Rota", 0, 10, 3, 1, 4, header=True),
        SheetRow("Rota", 11, 20, 4, 1, 4),
        SheetRow("Rota", 21, 30, 5, 1, 3),
        SheetRow("Rota", 31, 40, 8, 1, 4),
        SheetRow("Rota", 42, 52, 3, 1, 4, header=True),  # the header leading a later block
        SheetRow("Rota", 53, 60, 9, 2, 5),
    ]
    assert cited_cells(rows, [(0, 20)]) == ("Rota", "Rota!A4:D4")
    assert cited_cells(rows, [(0, 10), (31, 40)]) == ("Rota", "Rota!A8:D8")
    assert cited_cells(rows, [(11, 40)]) == ("Rota", "Rota!A4:D8")
    assert cited_cells(rows, [(42, 60)]) == ("Rota", "Rota!B9:E9")
    assert cited_cells(rows, [(0, 10)]) == ("Rota", "Rota!A3:D3")
    # A quote running out of the sheet's lines, or over two sheets, names no cells.
    assert cited_cells(rows, [(11, 70)]) == ("", "")
    other = [*rows[:2], SheetRow("Pay", 21, 30, 2, 1, 2)]
    assert cited_cells(other, [(11, 30)]) == ("", "")


def test_chunks_keep_their_rows_in_the_index_and_older_chunks_have_none() -> None:
    rows = (SheetRow("Night rota", 5, 40, 8, 1, 4), SheetRow("Rota", 41, 60, 3, 1, 4, True))
    chunk = Chunk("d:00000", "x", "x", "d", 0, "rota.xlsx", "Rota", 1, "Rota", 0, 60, rows=rows)

    meta = chunk_metadata(chunk)

    assert meta["cells"] == '{"Night rota":[[5,40,8,1,4,0]],"Rota":[[41,60,3,1,4,1]]}'
    assert stored_chunk(chunk.id, chunk.text, meta).rows == rows
    assert "cells" not in chunk_metadata(replace(chunk, rows=()))
    old = {"doc_id": "d", "position": 0, "source": "rota.xlsx", "page": 1}
    assert stored_chunk("d:00000", "x", old).rows == ()


def test_each_face_names_the_cells_in_place_of_the_page() -> None:
    cited = Citation(1, "rota.xlsx", "Rota", 1, "d", ROW, 0, 9, sheet="Rota", cells="Rota!A8:D8")
    pdf = Citation(2, "handbook.pdf", "Staff Handbook", 2, "e", "27 days", 0, 7)

    assert citation_label(cited) == "[1] Rota, Rota!A8:D8"
    assert citation_label(pdf) == "[2] Staff Handbook, p. 2"
    assert where(cited.title, cited.source, cited.page, cited.cells) == (
        "Rota (rota.xlsx), Rota!A8:D8"
    )
    assert places([cited, pdf]) == "rota.xlsx, Rota!A8:D8; handbook.pdf, page 2"
    # A record saved before cells were kept reads back without them.
    earlier = CitationRecord.model_validate(
        {"number": 1, "source": "a.pdf", "title": "A", "page": 3, "doc_id": "d"}
        | {"quote": "q", "span": [0, 1], "status": "quoted"}
    )
    assert (earlier.sheet, earlier.cells) == ("", "")
    assert CitationRecord.of(cited, verified=False).citation() == cited


# --- end to end: the real ingest, index, embedder and faces -------------------------------


def _share(root: Path) -> Path:
    share = docgen.handbook_share(root)
    make_rota(share / "rota.xlsx")
    return share


def _sheet_citation(citations: list[dict[str, object]]) -> dict[str, object]:
    return next(c for c in citations if c["source"] == "rota.xlsx")


@pytest.mark.slow
def test_docent_ask_cites_the_row_by_its_sheet_and_cells(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(_share(tmp_path)), "-c", "docs"]) == 0
    capsys.readouterr()

    assert main(["ask", QUESTION, "-c", "docs", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)

    assert answer["status"] == "answered", answer
    cited = _sheet_citation(answer["citations"])
    assert (cited["sheet"], cited["cells"], cited["page"]) == ("Rota", "Rota!A8:D8", 1)
    assert ROW in str(cited["quote"])
    assert answer["units"][0]["citation"]["cells"] == "Rota!A8:D8"
    assert "Priya Natarajan" in answer["units"][0]["text"]
    assert "Grace Okafor" not in answer["units"][0]["text"]

    assert main(["ask", QUESTION, "-c", "docs"]) == 0
    out = capsys.readouterr().out
    assert "Quoted from rota.xlsx, Rota!A8:D8." in out, out
    assert "rota (rota.xlsx), Rota!A8:D8, chars " in out, out

    assert main(["ask", LEAVE, "-c", "docs", "--json"]) == 0
    pdf = json.loads(capsys.readouterr().out)["citations"][0]
    assert (pdf["source"], pdf["page"], pdf["sheet"], pdf["cells"]) == ("handbook.pdf", 2, "", "")


@pytest.fixture
def served(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Docent, TestClient]]:
    """The HTTP face over a share of the rota and the handbook; quotes mode asks no model
    (the empty script fails the test if one is asked)."""
    undo = register_backend(NAME, lambda config: ScriptedBackend(config, Script()))
    settings = scripted_settings(Settings(data_dir=tmp_path / "data"))
    docent = indexed(settings, embedder, _share(tmp_path))
    with client(docent) as http:
        http.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield docent, http
    undo()


@pytest.mark.slow
def test_the_http_api_cites_the_row_by_its_sheet_and_cells(
    served: tuple[Docent, TestClient],
) -> None:
    _, http = served

    asked = http.post("/api/v1/collections/docs/ask", json={"question": QUESTION})
    completion = http.post(
        "/v1/chat/completions",
        json={"model": "docent:docs", "messages": [{"role": "user", "content": QUESTION}]},
    )
    leave = http.post("/api/v1/collections/docs/ask", json={"question": LEAVE})

    assert asked.status_code == 200, asked.text
    cited = _sheet_citation(asked.json()["citations"])
    assert (cited["sheet"], cited["cells"]) == ("Rota", "Rota!A8:D8")
    assert completion.status_code == 200, completion.text
    reply = completion.json()
    cited = _sheet_citation(reply["docent"]["citations"])
    assert (cited["sheet"], cited["cells"]) == ("Rota", "Rota!A8:D8")
    assert "rota.xlsx, Rota!A8:D8:" in reply["choices"][0]["message"]["content"]
    pdf = leave.json()["citations"][0]
    assert (pdf["source"], pdf["page"], pdf["sheet"], pdf["cells"]) == ("handbook.pdf", 2, "", "")


@pytest.mark.slow
def test_an_index_written_before_cells_were_kept_still_answers_without_them(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    collection = docent.index.collection("docs")
    chunks = collection.stored_chunks()
    ids, vectors = collection.vectors(Filters())
    by_id = dict(zip(ids, vectors, strict=True))
    # Chroma merges the metadata of an upsert: the chunks are written again from scratch.
    with docent.index.writer_lock():
        for doc_id in {c.doc_id for c in chunks}:
            collection.delete_document_chunks(doc_id)
        collection.upsert_chunks(
            [replace(c, rows=()) for c in chunks], np.asarray([by_id[c.id] for c in chunks])
        )
    assert not any(c.rows for c in docent.index.collection("docs").stored_chunks())

    asked = http.post("/api/v1/collections/docs/ask", json={"question": QUESTION})

    assert asked.status_code == 200, asked.text
    cited = _sheet_citation(asked.json()["citations"])
    assert (cited["page"], cited["sheet"], cited["cells"]) == (1, "", "")
    assert ROW in str(cited["quote"])
    again = answer_from_json(answer_to_json(docent.ask("docs", QUESTION)))
    assert all(c.cells == "" for c in again.citations)
