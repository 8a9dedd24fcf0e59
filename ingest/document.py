"""What a loader makes of a file: its text in sections, with pages and headings."""

from __future__ import annotations

from dataclasses import dataclass, field


class LoaderError(Exception):
    """A file cannot be read. The message names the problem and the fix for a person.

    Raised inside the parsing worker; the pipeline turns it into a "failed" outcome.
    """


@dataclass(frozen=True)
class Section:
    """A run of text under one heading on one page.

    Attributes:
        text: The text, whitespace-normalized (paragraphs separated by blank lines).
        page: 1-based page number for paged formats, 0 when the format has no pages.
        heading: The nearest heading above this text ("" if none).
    """

    text: str
    page: int = 0
    heading: str = ""


@dataclass
class ParsedDocument:
    """A file's text, in reading order.

    Attributes:
        title: The document's title (metadata title, first heading, or the file name).
        sections: Text in reading order; a section never spans two pages.
        pages: Number of pages for paged formats, 0 otherwise.
        empty_pages: 1-based pages with no extractable text (scans that need OCR).
        notes: Warnings for the report that do not fail the file.
        ocr_pages: 1-based pages whose text was read by OCR (no text layer).
    """

    title: str
    sections: list[Section]
    pages: int = 0
    empty_pages: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)


def page_ranges(pages: list[int]) -> str:
    """Render page numbers as compact ranges: [3, 4, 5, 7] -> "3-5, 7"."""
    spans: list[list[int]] = []
    for page in sorted(set(pages)):
        if spans and page == spans[-1][1] + 1:
            spans[-1][1] = page
        else:
            spans.append([page, page])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
