"""What the OpenDocument loaders (.odt, .ods, .odp) share: the package, its styles, and
the visible text of a paragraph.

An OpenDocument file is a ZIP holding XML parts: ``mimetype`` names the kind,
``content.xml`` the body, ``styles.xml`` the named styles and ``meta.xml`` the title.
The parts are read with lxml, with entities and DTDs never loaded and no network.

Text a reader cannot see is left out and counted, as in Word files: spans and paragraphs
whose style sets ``text:display="none"``, hidden-text and hidden-paragraph fields, type
under 2.5 pt and text coloured like its ground. Comments (``office:annotation``),
footnotes, tracked deletions and the alternative text of images are not body text.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from ingest.document import LoaderError
from ingest.loaders.package import check_package
from ingest.loaders.table_rows import cell_text

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}


@cache
def q(name: str) -> str:
    """The Clark name of a prefixed ODF name: "text:p" -> "{urn:...:text:1.0}p"."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


_P, _H, _SPAN, _LIST = q("text:p"), q("text:h"), q("text:span"), q("text:list")
_S, _TAB, _BREAK = q("text:s"), q("text:tab"), q("text:line-break")
_HIDDEN_TEXT, _HIDDEN_PARAGRAPH = q("text:hidden-text"), q("text:hidden-paragraph")
# Not body text: comments, footnotes, alt text, ruby readings, the tracked-changes log.
_NOT_TEXT = frozenset(
    map(
        q,
        (
            "office:annotation", "text:note", "svg:title", "svg:desc", "text:ruby-text",
            "text:tracked-changes", "text:bookmark-ref", "draw:image",
        ),
    )
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\n]+")
_LINE_ENDS, _NEWLINES = re.compile(r"[ \t]*\n[ \t]*"), re.compile(r"\n{2,}")
_MIN_POINTS = 2.5
_CLOSE = 0x18  # as in Word files: text this close to its ground cannot be read
DAMAGE = (KeyError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, etree.XMLSyntaxError)
"""What reading a damaged package raises (a broken deflate stream, a bad CRC, bad XML)."""
_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


@dataclass
class Hidden:
    """How many pieces of hidden text with words were left out."""

    dropped: int = 0

    def note(self) -> list[str]:
        """The report's note, as Word files word it (none when nothing was hidden)."""
        if not self.dropped:
            return []
        return [
            f"{self.dropped} piece{'s' * (self.dropped > 1)} of hidden text left out "
            "(hidden, coloured like its ground or under 2.5 pt)"
        ]


def open_package(path: Path, kind: str, mimetype: str, fix: str) -> zipfile.ZipFile:
    """Open an OpenDocument package after checking it is one, of the right kind, unlocked.

    Args:
        path: The file.
        kind: What it should be ("OpenDocument spreadsheet").
        mimetype: Its media type ("application/vnd.oasis.opendocument.spreadsheet").
        fix: What to do with a damaged file.

    Raises:
        LoaderError: Not a ZIP, a zip bomb, another kind, password-protected or damaged.
    """
    check_package(path, kind, "content.xml", fix)
    try:
        archive = zipfile.ZipFile(path)
    except DAMAGE as exc:
        raise damaged(kind, fix, exc) from exc
    try:
        names = set(archive.namelist())
        stated = (
            archive.read("mimetype").decode("ascii", "replace").strip()
            if "mimetype" in names
            else ""
        )
        if stated.startswith("application/vnd.oasis.opendocument.") and not stated.startswith(
            mimetype
        ):
            real = stated.rsplit(".", 1)[-1].split("-")[0]
            raise LoaderError(
                f"this {path.suffix.lower()} file is not an {kind} but an OpenDocument {real}; "
                "rename it with the extension of its real type"
            )
        if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read(
            "META-INF/manifest.xml"
        ):
            raise LoaderError(
                f"the {kind} is password-protected; open it in LibreOffice and save it again "
                "without a password"
            )
    except LoaderError:
        archive.close()
        raise
    except (*DAMAGE, OSError) as exc:
        archive.close()
        raise damaged(kind, fix, exc) from exc
    return archive


def parse_part(archive: zipfile.ZipFile, name: str) -> etree._Element:
    """A part of the package as an element tree (entities and DTDs not loaded).

    Raises:
        KeyError: The part is missing.
        etree.XMLSyntaxError: The part is not well-formed XML.
    """
    with archive.open(name) as source:
        return etree.parse(source, _XML).getroot()


def meta_title(archive: zipfile.ZipFile) -> str:
    """The title in the document's properties ("" when it has none)."""
    if "meta.xml" not in archive.namelist():
        return ""
    try:
        title = parse_part(archive, "meta.xml").findtext(".//dc:title", "", NS)
    except etree.XMLSyntaxError:
        return ""
    return " ".join(title.split())


@dataclass
class Styles:
    """The document's styles by family and name, read through their parents."""

    by_name: dict[tuple[str, str], etree._Element] = field(default_factory=dict)
    lists: dict[str, etree._Element] = field(default_factory=dict)
    page: str | None = "#ffffff"  # what text stands on, when no style says: None if unknown

    @classmethod
    def of(cls, *roots: etree._Element) -> Styles:
        """The styles of ``styles.xml`` and ``content.xml`` (automatic ones last)."""
        styles = cls()
        for root in roots:
            styles.add(root.iter(q("style:style"), q("text:list-style")))
        return styles

    def add(self, elements: Iterable[etree._Element]) -> None:
        """Record styles (``style:style``, ``text:list-style``) met while reading."""
        for element in elements:
            name = element.get(q("style:name")) or ""
            if element.tag == q("text:list-style"):
                self.lists[name] = element
            else:
                self.by_name[(element.get(q("style:family")) or "", name)] = element

    def get(self, family: str, name: str | None, properties: str, attribute: str) -> str:
        """A property of a style, its own or inherited from its parents ("" when unset).

        ``properties`` names the child holding it ("style:text-properties"), or is "" for
        an attribute of the style itself ("style:list-style-name").
        """
        seen = 0
        while name and seen < 16:
            style = self.by_name.get((family, name))
            if style is None:
                return ""
            found = style.find(properties, NS) if properties else style
            if found is not None and (value := found.get(q(attribute))) is not None:
                return str(value)
            name, seen = style.get(q("style:parent-style-name")), seen + 1
        return ""

    def named(self, family: str, name: str | None, wanted: str) -> bool:
        """Whether a style is, or is based on, the style shown as ``wanted`` ("Title")."""
        seen = 0
        while name and seen < 16:
            style = self.by_name.get((family, name))
            if style is None:
                return False
            shown = style.get(q("style:display-name")) or name
            if shown == wanted or name == wanted:
                return True
            name, seen = style.get(q("style:parent-style-name")), seen + 1
        return False

    def hides(self, family: str, name: str | None, ground: str | None) -> bool:
        """Whether text in this style cannot be seen: hidden, tiny, or coloured like its
        ground (the style's own background, else ``ground``; None when it is unknown, as
        on a slide, whose shapes and masters paint their own)."""
        if not name:
            return False
        props = "style:text-properties"
        if self.get(family, name, props, "text:display") == "none":
            return True
        size = self.get(family, name, props, "fo:font-size")
        if size.endswith("pt") and _number(size[:-2]) < _MIN_POINTS:
            return True
        own = self.get(family, name, props, "fo:background-color")
        if not own.startswith("#"):
            own = self.get(family, name, "style:paragraph-properties", "fo:background-color")
        ground = own if own.startswith("#") else ground
        return ground is not None and _alike(self.get(family, name, props, "fo:color"), ground)

    def numbered(self, list_style: str | None, level: int) -> bool:
        """Whether items at ``level`` (1-based) of a list in this style carry numbers."""
        style = self.lists.get(list_style or "")
        if style is None:
            return False
        for number in style.iterfind("text:list-level-style-number", NS):
            if number.get(q("text:level")) == str(level):
                return bool(number.get(q("style:num-format")))
        return False


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 99.0


def _alike(colour: str, ground: str) -> bool:
    """Whether two #rrggbb colours are too close to tell apart."""
    if len(colour) != 7 or len(ground) != 7:
        return False
    try:
        a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        b = [int(ground[i : i + 2], 16) for i in (1, 3, 5)]
    except ValueError:
        return False
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= _CLOSE


def paragraph_text(
    element: etree._Element, styles: Styles, hidden: Hidden, ground: str | None = ""
) -> str:
    """The visible text of a paragraph or heading, white space as a reader sees it.

    Spaces collapse as ODF says (``text:s`` writes runs of them); ``text:tab`` and
    ``text:line-break`` keep their tab and line; text boxes anchored in the paragraph
    follow on lines of their own. ``ground`` is the colour it stands on ("" for the page).
    """
    ground = styles.page if ground == "" else ground
    hides = styles.hides("paragraph", element.get(q("text:style-name")), ground)
    if not hides and not len(element):  # plain text, as most cells and many paragraphs are
        return _SPACES.sub(" ", element.text or "").strip()
    if hides or _hidden_paragraph(element):
        hidden.dropped += bool("".join(element.itertext()).strip())
        return ""
    parts: list[str] = []
    _walk(element, styles, hidden, parts, ground)
    text = "".join(parts)
    if "\n" in text:
        text = _NEWLINES.sub("\n", _LINE_ENDS.sub("\n", text))
    return text.strip()


def _hidden_paragraph(element: etree._Element) -> bool:
    field_ = element.find(_HIDDEN_PARAGRAPH)
    return field_ is not None and field_.get(q("text:is-hidden"), "true") == "true"


def _walk(
    node: etree._Element, styles: Styles, hidden: Hidden, parts: list[str], ground: str | None
) -> None:
    if node.text:
        parts.append(_SPACES.sub(" ", node.text))
    for child in node:
        tag = child.tag
        if tag == _S:
            parts.append(" " * min(int(child.get(q("text:c")) or 1), 64))
        elif tag == _TAB:
            parts.append("\t")
        elif tag == _BREAK:
            parts.append("\n")
        elif tag in _NOT_TEXT or not isinstance(tag, str):
            pass
        elif tag == _HIDDEN_TEXT:
            hidden.dropped += bool((child.get(q("text:string-value")) or "").strip())
        elif tag == _SPAN and styles.hides("text", child.get(q("text:style-name")), ground):
            hidden.dropped += bool("".join(child.itertext()).strip())
        elif tag in (_P, _H):
            parts.append("\n" + paragraph_text(child, styles, hidden) + "\n")
        else:
            _walk(child, styles, hidden, parts, ground)
        if child.tail:
            parts.append(_SPACES.sub(" ", child.tail))


def cell_value(cell: etree._Element, styles: Styles, hidden: Hidden) -> str:
    """A table cell's text as one line (its paragraphs joined by spaces)."""
    fill = styles.get(
        "table-cell",
        cell.get(q("table:style-name")),
        "style:table-cell-properties",
        "fo:background-color",
    )
    ground = fill if fill.startswith("#") else ""
    texts = (paragraph_text(p, styles, hidden, ground) for p in _cell_paragraphs(cell))
    return cell_text(" ".join(text for text in texts if text))


def _cell_paragraphs(cell: etree._Element) -> Iterable[etree._Element]:
    """A cell's own paragraphs, those of its lists included (not those of its comments)."""
    for child in cell:
        if child.tag in (_P, _H):
            yield child
        elif child.tag == _LIST:
            yield from child.iter(_P, _H)


def table_rows(table: etree._Element, styles: Styles, hidden: Hidden) -> list[list[str]]:
    """The rows of a text or slide table (header rows included), cells as text.

    Cells a merged cell covers are empty; empty rows are left out.
    """
    rows = []
    for row in table.iter(q("table:table-row")):
        if row.getparent() is not None and _owner(row) is not table:
            continue  # a row of a table nested in a cell: part of that cell's text
        cells = [
            "" if cell.tag == q("table:covered-table-cell") else cell_value(cell, styles, hidden)
            for cell in row
            if cell.tag in (q("table:table-cell"), q("table:covered-table-cell"))
        ]
        if any(cells):
            rows.append(cells)
    return rows


def _owner(row: etree._Element) -> etree._Element | None:
    """The table a row belongs to."""
    parent = row.getparent()
    while parent is not None and parent.tag != q("table:table"):
        parent = parent.getparent()
    return parent


def damaged(kind: str, fix: str, exc: BaseException) -> LoaderError:
    """The error for a package whose XML cannot be read."""
    return LoaderError(f"the {kind} is damaged ({exc or type(exc).__name__}); {fix}")
