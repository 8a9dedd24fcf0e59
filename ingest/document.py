"""What a loader makes of a file: its text in sections, with pages and headings."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.types import SheetRow


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
        level: The level of ``heading`` as the format states it (1 = top: h1, "Title" or
            "Heading 1", ``#``), 0 when unknown or when there is no heading.
        opens: Every heading (level, text) that opens where this section starts, outermost
            first, with those that had no text of their own (a chapter heading directly
            followed by its first sub-heading); () when the section continues the heading
            of the one before (the same heading on the next page).
        rows: For a spreadsheet's sheet, the row each line of ``text`` stands in (offsets
            in ``text``), so a citation can name its cells; () for other formats.
    """

    text: str
    page: int = 0
    heading: str = ""
    level: int = 0
    opens: tuple[tuple[int, str], ...] = ()
    rows: tuple[SheetRow, ...] = ()


@dataclass
class HeadingTrail:
    """The heading in effect while a loader reads, and the headings opened since its last
    section: a heading with no text of its own is not lost, it opens the next section.

    Attributes:
        heading: The heading in effect ("" before the first).
        level: Its level (0 when unknown or when there is none).
        opened: Headings (level, text) opened since the last section, in reading order.
    """

    heading: str = ""
    level: int = 0
    opened: list[tuple[int, str]] = field(default_factory=list)

    def open(self, level: int, text: str) -> None:
        """A heading starts; an empty one only ends the heading in effect."""
        self.heading, self.level = text, level if text else 0
        if text:
            self.opened.append((level, text))

    def extend(self, text: str, level: int) -> None:
        """The heading just opened goes on (its wrapped next line), at ``level``."""
        self.heading, self.level = f"{self.heading} {text}", level
        if self.opened:
            self.opened[-1] = (level, self.heading)

    def forget(self) -> None:
        """Drop the heading just opened from the outline (a contents title left out)."""
        if self.opened:
            self.opened.pop()

    def section(self, text: str, page: int = 0) -> Section:
        """A section of ``text`` under the heading in effect, opening the headings pending."""
        section = Section(text, page, self.heading, self.level, tuple(self.opened))
        self.opened.clear()
        return section


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
