"""HTML loader: the page's main content as sections under its h1-h6 headings (levels 1-6).

Site chrome (navigation, sidebars, headers, footers, scripts, permalink anchors) is
removed first, so answers never cite a menu, and so are tables of contents
(``html_contents``): a page that was only one is indexed by its title alone. Text a reader
cannot see (the ``hidden`` attribute, ``aria-hidden``, inline styles such as
``display:none``, ``font-size:0`` or white on a page with no dark background, and every
other way ``html_style`` knows, from inline styles and the page's own stylesheet) is
removed too, so it cannot carry instructions to the model; the report counts it. Lists,
tables and preformatted blocks come out as readable text.
"""

from __future__ import annotations

import codecs
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PreformattedString, Tag

from ingest.document import HeadingTrail, LoaderError, ParsedDocument, Section
from ingest.loaders.html_contents import drop_contents
from ingest.loaders.html_style import is_hidden, resolve_styles
from ingest.loaders.text import decode_noted
from ingest.toc import without_contents

_DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "math", "nav", "aside", "iframe",
    "object", "embed", "canvas", "button", "select", "textarea", "dialog",
]  # fmt: skip
_PAGE_CHROME_TAGS = ("header", "footer")
_CONTENT_TAGS = ["main", "article", "h1", "h2"]
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary"}
_DROP_CLASSES = {
    "sphinxsidebar", "sphinxsidebarwrapper", "related", "footer", "headerlink", "mobile-nav",
    "menu-wrapper", "breadcrumb", "breadcrumbs", "navbar", "sidebar", "skip-link",
    "cookie-banner", "visually-hidden", "sr-only",
}  # fmt: skip
_ANCHOR_MARKS = {"¶", "#", "§", "🔗"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "ul", "ol", "dl", "dt", "dd",
    "figure", "figcaption", "address", "details", "summary", "hr", "center", "fieldset",
    "caption", "body", "html", "li",
}  # fmt: skip
_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""",
    re.IGNORECASE,
)


# Deeper than any page written for reading, and well inside Python's recursion limit.
MAX_DEPTH = 256


def load_html(path: Path) -> ParsedDocument:
    """Read an HTML page's main content into sections, one per heading.

    Args:
        path: The .html or .htm file.

    Returns:
        The parsed document; the title is the first h1 when <title> contains it (dropping
        a site-name suffix), else <title>, else the first h1, else the file name.

    Raises:
        LoaderError: The file is binary or nested too deeply to read.
    """
    text, encoding_note = _decode(path.read_bytes())
    # XHTML (DocBook output, the Debian Reference) parses well as HTML; bs4's warning
    # that it looks like XML would print once per page of a share.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(text, "lxml")
    if _deeper_than(soup, MAX_DEPTH):
        raise LoaderError(
            f"the HTML nests its elements more than {MAX_DEPTH} deep, which no page meant "
            "for reading does; save it again from its editor, or print it to a PDF"
        )
    page_title = _collapse(soup.title.get_text()) if soup.title else ""
    hidden = _drop_boilerplate(soup)
    candidates = (soup.find("main"), soup.find(role="main"), soup.find("article"), soup.body)
    root = next((c for c in candidates if isinstance(c, Tag) and c.get_text(strip=True)), soup)
    entries = drop_contents(root)
    writer = _Writer()
    try:
        writer.walk(root)
    except RecursionError as exc:
        raise LoaderError("the HTML is nested too deeply to read; save it again") from exc
    sections = writer.finish()
    h1 = soup.find("h1")
    first_h1 = _collapse(h1.get_text()) if h1 else ""
    # "<title>General FAQ - Acme docs</title>" with "<h1>General FAQ</h1>": the h1 is the
    # document's own name, the rest is the site's.
    title = first_h1 if first_h1 and first_h1 in page_title else page_title or first_h1
    notes = [f"{hidden} piece{'s' * (hidden > 1)} of hidden text left out"] if hidden else []
    notes += [encoding_note] if encoding_note else []
    document = ParsedDocument(title=title or path.stem, sections=sections, notes=notes)
    return without_contents(document, entries)


def _deeper_than(soup: BeautifulSoup, most: int) -> bool:
    """Whether any element is nested more than ``most`` deep (walked without recursion:
    the readers after this one recurse, and a page nested 100,000 deep would break them)."""
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        tag, depth = stack.pop()
        if depth > most:
            return True
        stack.extend((child, depth + 1) for child in tag.children if isinstance(child, Tag))
    return False


def _decode(data: bytes) -> tuple[str, str]:
    """Decode with the charset the page declares when that works, else by detection.

    The second value is the report's note when detection was unsure, else "".
    """
    declared = _DECLARED_CHARSET.search(data[:4096])
    if declared and not data.startswith((codecs.BOM_UTF8, b"\xff\xfe", b"\xfe\xff")):
        label = (declared.group(1) or declared.group(2)).decode("ascii").lower()
        try:
            name = codecs.lookup(label).name
        except LookupError:
            name = ""
        # Browsers read latin-1 and ASCII labels as Windows-1252 and ignore UTF-16 labels
        # on ASCII-compatible bytes (WHATWG encoding standard); do as they do.
        if name in ("latin-1", "iso8859-1", "ascii"):
            name = "cp1252"
        if name and not name.startswith(("utf-16", "utf-32")):
            try:
                return data.decode(name), ""
            except UnicodeDecodeError:
                pass
    return decode_noted(data)


def _drop_boilerplate(soup: BeautifulSoup) -> int:
    """Remove site chrome and invisible elements in place; return how many hidden ones held text."""
    styles = resolve_styles(soup)
    doomed: list[Tag] = list(soup.find_all(_DROP_TAGS))
    hidden_tags: set[int] = set()
    hidden = 0
    for tag in soup.find_all(True):
        classes = set(tag.get_attribute_list("class"))
        if is_hidden(tag, styles):
            doomed.append(tag)
            hidden_tags.add(id(tag))
            # Counted once: text inside an already hidden parent is not counted again.
            hidden += bool(tag.get_text(strip=True)) and not any(
                id(parent) in hidden_tags for parent in tag.parents
            )
        elif (
            tag.get("role") in _DROP_ROLES
            or classes & _DROP_CLASSES
            or (tag.name == "a" and tag.get_text(strip=True) in _ANCHOR_MARKS)
            # An article's own header holds its title; only page-level ones are chrome.
            or (tag.name in _PAGE_CHROME_TAGS and not tag.find_parent(["article", "main"]))
            # ASP.NET and SharePoint pages wrap the whole page in one form: keep that one.
            or (tag.name == "form" and not tag.find(_CONTENT_TAGS))
        ):
            doomed.append(tag)
    for tag in doomed:
        if not tag.decomposed:  # already gone with a doomed ancestor
            tag.decompose()
    return hidden


def _collapse(text: str) -> str:
    """Collapse all whitespace runs to single spaces and trim."""
    return " ".join(text.split())


@dataclass
class _Writer:
    """Turns an element tree into sections: headings start them, blocks become paragraphs."""

    sections: list[Section] = field(default_factory=list)
    headings: HeadingTrail = field(default_factory=HeadingTrail)
    blocks: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)
    marker: str = ""  # list-item marker for the item's first block
    in_list_run: bool = False  # the last block was a list item

    def walk(self, node: Tag) -> None:
        """Write `node`'s content, dispatching on each child's tag."""
        for child in node.children:
            if isinstance(child, PreformattedString):
                continue  # comments, doctypes, CDATA, processing instructions
            if isinstance(child, NavigableString):
                self.inline.append(re.sub(r"\s+", " ", str(child)))
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, tag: Tag) -> None:
        if tag.name in _HEADINGS:
            self._end_block()
            self._flush_section()
            self.headings.open(int(tag.name[1]), _collapse(tag.get_text()))
        elif tag.name == "pre":
            self._block(tag.get_text().strip("\n").rstrip())
        elif tag.name == "table":
            self._block(_table_text(tag))
        elif tag.name == "br":
            self.inline.append("\n")
        elif tag.name == "li":
            self._end_block()
            parent = tag.find_parent(["ol", "ul"])
            number = len(tag.find_previous_siblings("li")) + 1
            self.marker = f"{number}. " if parent and parent.name == "ol" else "- "
            self.walk(tag)
            self._end_block()
            self.marker = ""
        elif tag.name in _BLOCKS:
            self._end_block()
            self.walk(tag)
            self._end_block()
        else:
            self.walk(tag)

    def _block(self, text: str) -> None:
        self._end_block()
        if text:
            self.blocks.append(text)
            self.in_list_run, self.marker = False, ""

    def _end_block(self) -> None:
        lines = (" ".join(line.split()) for line in "".join(self.inline).split("\n"))
        text = "\n".join(line for line in lines if line)
        if text and self.marker and self.in_list_run:
            self.blocks[-1] += f"\n{self.marker}{text}"  # keep a list's items together
        elif text:
            self.blocks.append(self.marker + text)
        if text:
            self.in_list_run, self.marker = bool(self.marker), ""
        self.inline.clear()

    def _flush_section(self) -> None:
        self.in_list_run = False
        if self.blocks:
            self.sections.append(self.headings.section("\n\n".join(self.blocks)))
        self.blocks.clear()

    def finish(self) -> list[Section]:
        """Close the last section and return all of them."""
        self._end_block()
        self._flush_section()
        return self.sections


def _table_text(table: Tag) -> str:
    """A table as text: one line per row, cells joined by " | "; nested tables flattened."""
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue
        cells = [
            _collapse(cell.get_text(" ")) for cell in row.find_all(["td", "th"], recursive=False)
        ]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
