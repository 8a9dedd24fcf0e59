"""Loaders on real files: documents written by tests/docgen.py, the project's samples and
documentation that Debian installs on this machine."""

from __future__ import annotations

import pickle
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from app.api import Docent
from ingest.document import LoaderError, ParsedDocument
from ingest.loaders import LOADERS, load, sniff, supported
from tests.docgen import (
    make_binary_named_pdf,
    make_corrupt_pdf,
    make_docx,
    make_encrypted_pdf,
    make_html,
    make_pdf,
    make_scanned_pdf,
    make_zip_bomb_docx,
)
from tests.system import require

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
MIME_SPEC_PDF = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")


def full_text(document: ParsedDocument) -> str:
    return "\n".join(section.text for section in document.sections)


# --- registry ----------------------------------------------------------------------------


def test_sniff_names_real_types() -> None:
    assert sniff(b"%PDF-1.7\n...") == "pdf"
    assert sniff(b"\n" * 500 + b"%PDF-1.4") == "pdf"  # readers accept junk before the header
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "ole"
    assert sniff(b"<html>") is None


def test_supported_is_case_insensitive_and_limited() -> None:
    assert supported(Path("Report.PDF"))
    assert supported(Path("notes.markdown"))
    assert not supported(Path("old.wpd"))
    assert not supported(Path("README"))


def test_loaders_pickle_by_reference() -> None:
    # The worker process receives loaders by pickling them.
    assert pickle.loads(pickle.dumps(LOADERS[".pdf"])) is LOADERS[".pdf"]


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slides.key"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(LoaderError, match=r"unsupported file type \.key"):
        load(path)


@pytest.mark.parametrize("name", ["a.pdf", "a.docx", "a.html", "a.md", "a.txt"])
def test_zero_byte_file_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(LoaderError, match=r"the file is empty \(0 bytes\)"):
        load(path)


def test_missing_file_is_a_loader_error(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="cannot be read"):
        load(tmp_path / "gone.pdf")


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_keeps_pages_headings_and_metadata_title(tmp_path: Path) -> None:
    document = load(make_pdf(tmp_path / "report.pdf"))
    assert document.title == "Pilot Report"
    assert document.pages == 3
    assert document.empty_pages == []
    assert [(s.page, s.heading) for s in document.sections] == [
        (1, "Introduction"),
        (2, "Results"),
        (3, "Next Steps"),
    ]
    assert "87 percent" in document.sections[1].text
    assert "Introduction" not in document.sections[0].text  # headings are not body text


def test_pdf_heading_stays_in_effect_on_following_pages(tmp_path: Path) -> None:
    pages = [("Leave Policy", "Staff get 25 days."), (None, "Carry-over is 5 days.")]
    document = load(make_pdf(tmp_path / "leave.pdf", pages))
    assert [(s.page, s.heading) for s in document.sections] == [
        (1, "Leave Policy"),
        (2, "Leave Policy"),
    ]
    assert document.sections[1].text == "Carry-over is 5 days."


def test_pdf_wrapped_heading_is_one_heading(tmp_path: Path) -> None:
    heading = "Procedures for reporting incidents involving patient data to the data officer"
    body = "Report every incident within 24 hours to the data officer by phone or e-mail."
    document = load(make_pdf(tmp_path / "wrap.pdf", [(heading, f"{body}\n\n{body}")]))
    assert [(s.heading, s.text) for s in document.sections] == [(heading, f"{body}\n\n{body}")]


def test_pdf_normalizes_hyphenation_and_keeps_paragraphs(tmp_path: Path) -> None:
    body = "The exam-\nple shows   hyphen handling.\n\nA second paragraph."
    document = load(make_pdf(tmp_path / "hyphen.pdf", [("Notes", body)]))
    assert document.sections[0].text == (
        "The example shows hyphen handling.\n\nA second paragraph."
    )


def test_pdf_title_falls_back_to_first_heading_then_file_name(tmp_path: Path) -> None:
    assert load(make_pdf(tmp_path / "a.pdf", title=None)).title == "Introduction"
    plain = [(None, "Only body text here.")]
    assert load(make_pdf(tmp_path / "minutes-2024.pdf", plain, title=None)).title == (
        "minutes-2024"
    )


@pytest.mark.slow
def test_pdf_pages_without_text_are_listed(tmp_path: Path) -> None:
    pages = [("Intro", "Text on page one."), (None, ""), (None, ""), ("End", "Last page.")]
    document = load(make_pdf(tmp_path / "gaps.pdf", pages))
    assert document.pages == 4
    assert document.empty_pages == [2, 3]
    assert [s.page for s in document.sections] == [1, 4]


@pytest.mark.slow
def test_scanned_pdf_has_only_empty_pages(tmp_path: Path) -> None:
    document = load(make_scanned_pdf(tmp_path / "scan.pdf", pages=3))
    assert document.pages == 3
    assert document.empty_pages == [1, 2, 3]
    assert document.sections == []


def test_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    document = load(make_encrypted_pdf(tmp_path / "owner-only.pdf", user_password=""))
    assert "Forty-two staff members" in full_text(document)


def test_pdf_with_user_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="encrypted with a password") as error:
        load(make_encrypted_pdf(tmp_path / "locked.pdf", user_password="secret"))
    assert "unencrypted copy" in str(error.value)


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="the PDF is damaged or not a PDF"):
        load(make_corrupt_pdf(tmp_path / "broken.pdf"))


def test_binary_named_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match=r"this \.pdf file is not a PDF .*binary"):
        load(make_binary_named_pdf(tmp_path / "random.pdf"))


def test_docx_named_pdf_says_what_it_is(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "policy.docx").rename(tmp_path / "policy.pdf")
    with pytest.raises(LoaderError, match=r"not a PDF \(its content looks like a ZIP/Office"):
        load(path)


def test_html_error_page_named_pdf_says_html(tmp_path: Path) -> None:
    path = tmp_path / "download.pdf"
    path.write_text("<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    with pytest.raises(LoaderError, match="looks like HTML"):
        load(path)


def test_real_debian_pdf() -> None:
    require(MIME_SPEC_PDF, "shared-mime-info")
    document = load(MIME_SPEC_PDF)
    assert document.title == "Shared MIME-info Database"
    assert document.pages == 17
    assert document.empty_pages == []
    headings = {section.heading for section in document.sections}
    assert {"1.1. Version", "2.1. Directory layout", "2.11. Subclassing"} <= headings
    version = next(s for s in document.sections if s.heading == "1.1. Version")
    assert version.page == 1
    assert version.text.startswith("This is version 0.21 of the Shared MIME-info Database")
    # The running header repeated on every page is not part of the text.
    assert not any(s.text.startswith("Shared MIME-info Database") for s in document.sections)


# --- DOCX --------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_table_in_order(tmp_path: Path) -> None:
    document = load(make_docx(tmp_path / "records.docx"))
    assert document.title == "Records Policy"
    assert [(s.heading, s.page) for s in document.sections] == [("Purpose", 0), ("Retention", 0)]
    assert document.sections[0].text == (
        "This policy explains how the Harbor office stores paper records.\n\n"
        "Record | Retention | Owner\n"
        "Invoices | 10 years | Finance\n"
        "Visitor logs | 1 year | Reception"
    )


def test_docx_numbered_steps_keep_their_numbers_and_bullets_their_marks(tmp_path: Path) -> None:
    document = Document()
    document.add_paragraph("To request leave:")
    for step in ("Open the e-roster.", "Choose the dates.", "Send it to the ward manager."):
        document.add_paragraph(step, style="List Number")
    document.add_paragraph("Bring with you:")
    for item in ("your badge", "your rota"):
        document.add_paragraph(item, style="List Bullet")
    document.save(str(tmp_path / "steps.docx"))

    text = load(tmp_path / "steps.docx").sections[0].text

    assert "1. Open the e-roster.\n2. Choose the dates.\n3. Send it to the ward manager." in text
    assert "- your badge\n- your rota" in text


def test_docx_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    assert load(make_docx(tmp_path / "untitled.docx", title=None)).title == "Purpose"


def test_docx_reads_tracked_insertions_and_skips_deletions(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "tracked.docx", [("Leave", "Staff get ")], table=[])
    document = Document(str(path))
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paragraph = document.paragraphs[-1]._p
    for tag, text_tag, text in (("ins", "t", "25 days."), ("del", "delText", "20 days.")):
        change = etree.SubElement(paragraph, f"{{{w}}}{tag}")
        change.set(f"{{{w}}}id", "1" if tag == "ins" else "2")
        change.set(f"{{{w}}}author", "HR")
        run = etree.SubElement(change, f"{{{w}}}r")
        etree.SubElement(run, f"{{{w}}}{text_tag}").text = text
    document.save(str(path))
    assert load(path).sections[0].text == "Staff get 25 days."


def test_docx_zip_bomb_is_refused_fast_without_inflating(tmp_path: Path) -> None:
    path = make_zip_bomb_docx(tmp_path / "bomb.docx")
    assert path.stat().st_size < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(LoaderError, match="zip bomb"):
        load(path)
    assert time.monotonic() - started < 2


def test_docx_high_ratio_entry_is_refused(tmp_path: Path) -> None:
    path = make_zip_bomb_docx(tmp_path / "ratio.docx", inflated_size=50 * 1024 * 1024)
    with pytest.raises(LoaderError, match=r"word/document\.xml inflates \d+ times.*zip bomb"):
        load(path)


def test_zip_that_is_not_a_word_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff")
    with pytest.raises(LoaderError, match="not a Word document"):
        load(path)


def test_old_doc_or_protected_office_file_named_docx(tmp_path: Path) -> None:
    path = tmp_path / "legacy.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(LoaderError, match=r"old Office file .* password-protected"):
        load(path)


# --- HTML --------------------------------------------------------------------------------


def test_html_keeps_article_and_drops_boilerplate(tmp_path: Path) -> None:
    document = load(make_html(tmp_path / "help.html"))
    text = full_text(document) + " ".join(s.heading for s in document.sections)
    assert "BOILERPLATE" not in text
    assert "\u00b6" not in text
    assert document.title == "Harbor IT help"
    assert [s.heading for s in document.sections] == ["Connecting to the VPN", "Printing"]
    printing = document.sections[1].text
    assert "- Restart the laptop.\n- Check the cable." in printing
    assert "Floor | Queue\n3 | harbor-print-3" in printing
    assert "ping  vpn.harbor.example\nssh   admin@vpn" in printing  # pre keeps its lines


def test_html_encoding_comes_from_the_bytes(tmp_path: Path) -> None:
    sections = [("Caf\u00e9 hours", "Cr\u00e8me br\u00fbl\u00e9e \u2013 \u201cna\u00efve\u201d")]
    document = load(make_html(tmp_path / "menu.htm", sections, encoding="cp1252"))
    assert document.sections[0].heading == "Caf\u00e9 hours"
    assert document.sections[0].text.startswith(
        "Cr\u00e8me br\u00fbl\u00e9e \u2013 \u201cna\u00efve\u201d"
    )


def test_html_page_wrapped_in_one_form_keeps_its_content(tmp_path: Path) -> None:
    # ASP.NET and SharePoint intranet pages put the whole body inside a single <form>.
    path = tmp_path / "leave.aspx.html"
    path.write_text(
        "<html><head><title>Leave | Intranet</title></head><body><form action='x'>"
        "<form role='search'><input name='q'></form><div class='navbar'>Home HR</div>"
        "<div><h1>Leave</h1><p>Staff get 25 days.</p></div></form></body></html>"
    )
    document = load(path)
    assert document.title == "Leave"
    assert [(s.heading, s.text) for s in document.sections] == [("Leave", "Staff get 25 days.")]


def test_python_docs_faq_is_clean() -> None:
    require(PYTHON_DOCS, "python3.11-doc")
    document = load(PYTHON_DOCS / "faq" / "general.html")
    assert document.title == "General Python FAQ"
    text = full_text(document)
    for chrome in ("\u00b6", "Quick search", "Previous topic", "Table of Contents", "Navigation"):
        assert chrome not in text
    first = document.sections[0]
    assert first.heading == "What is Python?"
    assert first.text.startswith("Python is an interpreted, interactive, object-oriented")
    assert "- A is the major version number" in text


def test_python_docs_library_page_keeps_code_blocks() -> None:
    require(PYTHON_DOCS, "python3.11-doc")
    document = load(PYTHON_DOCS / "library" / "json.html")
    assert document.title == "json \u2014 JSON encoder and decoder"
    assert "Basic Usage" in {s.heading for s in document.sections}
    assert ">>> import json\n>>> json.dumps(" in full_text(document)


# --- text, Markdown, reStructuredText ----------------------------------------------------

TEXT = "Caf\u00e9 menu \u2013 na\u00efve \u201cspecial\u201d costs 5 \u20ac.\nSecond line."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "menu.txt"
    path.write_bytes(TEXT.encode(encoding))
    document = load(path)
    assert document.title == "menu"
    assert [s.text for s in document.sections] == [TEXT]


def test_latin1_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gruss.text"
    path.write_bytes("Gr\u00fc\u00dfe aus K\u00f6ln, tr\u00e8s bien.".encode("latin-1"))
    assert load(path).sections[0].text == "Gr\u00fc\u00dfe aus K\u00f6ln, tr\u00e8s bien."


def test_binary_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(LoaderError, match="is binary, not text"):
        load(path)


def test_pdf_named_txt_is_refused(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf").rename(tmp_path / "report.txt")
    with pytest.raises(LoaderError, match=r"this \.txt file is not text .*a PDF"):
        load(path)


def test_markdown_headings_front_matter_and_code(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "---\ntitle: Remote Work Guide\nowner: IT\n---\n"
        "Intro line.\n\n# Setup\n\nInstall the client.\n\n"
        "```bash\n# not a heading\nvpn connect\n```\n\n"
        "Security\n========\n\nUse MFA.\n\nSupport\n-------\nCall 4000.\n"
    )
    document = load(path)
    assert document.title == "Remote Work Guide"
    assert [(s.heading, s.text) for s in document.sections] == [
        ("", "Intro line."),
        ("Setup", "Install the client.\n\n# not a heading\nvpn connect"),
        ("Security", "Use MFA."),
        ("Support", "Call 4000."),
    ]
    assert "owner: IT" not in full_text(document)


def test_markdown_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.markdown"
    path.write_text("## Printing\n\nUse the follow-me queue.\n")
    assert load(path).title == "Printing"


def test_rst_titles_start_sections(tmp_path: Path) -> None:
    path = tmp_path / "manual.rst"
    path.write_text("=======\nManual\n=======\n\nIntro.\n\nInstall\n-------\n\nRun setup.\n")
    document = load(path)
    assert document.title == "Manual"
    assert [(s.heading, s.text) for s in document.sections] == [
        ("Manual", "Intro."),
        ("Install", "Run setup."),
    ]


# --- the project's sample documents ------------------------------------------------------


def test_samples_are_small_and_load() -> None:
    names = sorted(p.name for p in SAMPLES.iterdir() if supported(p))
    assert names == [
        "employee-handbook.pdf",
        "information-security-policy.docx",
        "it-faq.html",
        "onboarding-checklist.md",
    ]
    for name in names:
        assert (SAMPLES / name).stat().st_size < 100 * 1024
        assert load(SAMPLES / name).sections


def test_handbook_answers_come_from_known_pages() -> None:
    document = load(SAMPLES / "employee-handbook.pdf")
    assert document.title == "Northwind Clinic Employee Handbook"
    assert document.pages == 7

    def section(heading: str) -> tuple[int, str]:
        found = next(s for s in document.sections if s.heading == heading)
        return found.page, found.text

    assert section("Annual Leave")[0] == 2
    assert "25 days of annual leave" in section("Annual Leave")[1]
    assert "by 9:00 on the first day" in section("Reporting Sickness")[1]
    page, text = section("Notice After Probation")
    assert page == 7
    assert "1 month for less than 2 years of service" in text
    assert "Page 7 of 7" not in full_text(document)  # footers are dropped


def test_security_policy_sample_has_classification_table() -> None:
    document = load(SAMPLES / "information-security-policy.docx")
    assert document.title == "Information Security Policy"
    sections = {s.heading: s.text for s in document.sections}
    assert (
        "Strictly Confidential | Patient records, test results"
        in sections["2. Data Classification"]
    )
    assert "- Passwords must have at least 14 characters." in sections["3. Passwords"]
    assert (
        "within 24 hours to the Information Security Officer" in sections["5. Incident Reporting"]
    )


RUSSIAN = "Привет мир, это русский текст для проверки."


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "unsure"),
    [
        (RUSSIAN.encode("koi8_r"), True),  # a short KOI8-R line reads as clean Shift-JIS
        ("naïve café résumé".encode()[:-1] + b"\xe9 \xff\xfe", True),  # broken bytes
        (RUSSIAN.encode("cp1251"), False),  # the detector recognises the language
        ("Grüße aus Köln, die Straße ist naß.".encode("cp1252"), False),
        (RUSSIAN.encode("utf-8"), False),
    ],
)
def test_an_unsure_encoding_guess_is_said_in_the_report(
    tmp_path: Path, docent: Docent, data: bytes, unsure: bool
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "notes.txt").write_bytes(data)
    if not unsure:  # (text around a short line changes the guess, often to the right one)
        (share / "page.html").write_bytes(b"<html><body><p>" + data + b"</p></body></html>")

    report = docent.ingest([share], "docs")

    for outcome in report.files:
        said = [n for n in outcome.notes if n.startswith("encoding unsure")]
        assert bool(said) == unsure, (outcome.source, outcome.notes)
        assert outcome.status == "added"
