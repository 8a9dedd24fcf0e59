"""Tables of contents in an HTML page, found and taken out before its text is read.

An FAQ's contents list repeats every question word for word and answers none, so left in
it ranks first for all of them. A block is contents when it holds little besides its links
and either is marked so (Sphinx's ``toctree-wrapper`` and index tables, docutils'
``contents topic``, ``role="doc-toc"``, a ``toc`` class or id) or is a list of at least
``MIN_ENTRIES`` links to the page's own headings or under a "Contents" title. Lists of
links to the site's other pages that make up most of the page's text are an index page's
(an FAQ's index.html) and go too; the loader then indexes the page by its title alone
(``ingest.toc.without_contents``).
"""

from __future__ import annotations

import re

from bs4.element import Tag

from ingest.toc import MIN_ENTRIES, PAGE_SHARE, is_contents_title

LINK_SHARE = 0.8
"""A block holds little besides its links when this share of its letters is link text."""

_MARK_CLASSES = frozenset(
    {"toctree-wrapper", "toc", "table-of-contents", "page-toc", "toc-wrapper", "indextable"}
)
_MARK_IDS = frozenset({"toc", "table-of-contents", "markdown-toc", "contents"})
_EXTERNAL = re.compile(r"^([a-z][a-z\d+.-]*:|//)", re.IGNORECASE)
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_TITLE_TAGS = {*_HEADINGS, "p", "div", "strong", "b", "span", "caption"}


def drop_contents(root: Tag) -> int:
    """Remove the tables of contents under ``root`` in place.

    Args:
        root: The page's main content.

    Returns:
        How many links they held (0 when there were none).
    """
    blocks = _contents_blocks(root)
    entries = 0
    for block in blocks:
        entries += len(block.find_all("a", href=True))
        title = _title_before(block)
        if title is not None:
            title.decompose()
        block.decompose()
    return entries


def _contents_blocks(root: Tag) -> list[Tag]:
    """The contents blocks under ``root``, outermost only, in document order."""
    marked = _outermost([tag for tag in root.find_all(True) if _marked(tag) and _mostly_links(tag)])
    lists = [
        tag
        for tag in root.find_all(["ul", "ol"])
        if not tag.find_parent(["ul", "ol"]) and not _inside(tag, marked) and _link_list(tag)
    ]
    listed = [tag for tag in lists if len(_items(tag)) >= MIN_ENTRIES and _introduced(root, tag)]
    index = [tag for tag in lists if tag not in listed and _internal(tag)]
    links = sum(len(_hrefs(tag)) for tag in index)
    if links >= MIN_ENTRIES and _letters(index) >= PAGE_SHARE * _body_letters(
        root, marked + listed
    ):
        listed += index
    return marked + listed


def _marked(tag: Tag) -> bool:
    """Whether the element says it is a table of contents (class, id, role)."""
    classes = set(tag.get_attribute_list("class"))
    return bool(
        classes & _MARK_CLASSES
        or {"contents", "topic"} <= classes
        or tag.get("id") in _MARK_IDS
        or tag.get("role") == "doc-toc"
        or tag.get("epub:type") == "toc"
    )


def _mostly_links(tag: Tag) -> bool:
    """Whether the element holds links and little else (titles and numbering aside)."""
    links = tag.find_all("a", href=True)
    linked = sum(_count(a.get_text()) for a in links)
    return bool(links) and linked >= LINK_SHARE * _count(tag.get_text())


def _link_list(tag: Tag) -> bool:
    """Whether a list's items are each a link (with its sub-list) and little else."""
    items = _items(tag)
    return bool(items) and all(item.find("a", href=True) for item in items) and _mostly_links(tag)


def _items(tag: Tag) -> list[Tag]:
    return [item for item in tag.find_all("li", recursive=False) if isinstance(item, Tag)]


def _hrefs(tag: Tag) -> list[str]:
    return [str(a.get("href", "")) for a in tag.find_all("a", href=True)]


def _introduced(root: Tag, tag: Tag) -> bool:
    """Whether a list of links is the page's own contents: titled so, or links to its headings.

    Links to a page's own definitions (an API reference's cross-references) are content.
    """
    if _title_before(tag) is not None:
        return True
    return all(href.startswith("#") and _heads_section(root, href[1:]) for href in _hrefs(tag))


def _heads_section(root: Tag, anchor: str) -> bool:
    """Whether the anchor is a heading, in one, or a section (or mark) that a heading opens."""
    target = root.find(id=anchor) or root.find("a", attrs={"name": anchor}) if anchor else None
    if not isinstance(target, Tag):
        return False
    if target.name in _HEADINGS or target.find_parent(_HEADINGS):
        return True
    # A section opens with its heading; an empty mark (<a name="q1"></a>) stands before it.
    first = target.find(True)
    opens = first if first is not None else target.find_next_sibling(True)
    return isinstance(opens, Tag) and opens.name in _HEADINGS


def _internal(tag: Tag) -> bool:
    """Whether every link of the list points into this site (no scheme, no other host)."""
    return not any(_EXTERNAL.match(href) for href in _hrefs(tag))


def _title_before(tag: Tag) -> Tag | None:
    """The "Contents" title right before a block (or before its only-child wrapper), if any."""
    for node in (tag, tag.parent):
        if not isinstance(node, Tag):
            break
        before = node.find_previous_sibling(True)
        if isinstance(before, Tag):
            found = before.name in _TITLE_TAGS and is_contents_title(before.get_text(" "))
            return before if found else None
    return None


def _body_letters(root: Tag, left_out: list[Tag]) -> int:
    """Letters of the page's text outside its headings and the blocks already left out."""
    headings = [tag for tag in root.find_all(_HEADINGS) if not _inside(tag, left_out)]
    return _count(root.get_text()) - _letters(headings) - _letters(left_out)


def _letters(tags: list[Tag]) -> int:
    return sum(_count(tag.get_text()) for tag in tags)


def _count(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _outermost(tags: list[Tag]) -> list[Tag]:
    return [tag for tag in tags if not _inside(tag, tags)]


def _inside(tag: Tag, blocks: list[Tag]) -> bool:
    """Whether ``tag`` lies within one of ``blocks`` (not counting itself)."""
    parents = {id(parent) for parent in tag.parents}
    return any(id(block) in parents for block in blocks)
