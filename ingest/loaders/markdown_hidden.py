"""HTML inside Markdown that a reader never sees: comments, hidden elements, scripts.

A Markdown renderer passes HTML through, so ``<!-- ... -->``, ``<div hidden>``,
``<span style="display:none">``, ``<script>`` and ``<style>`` show nothing on the page
while their text would reach the index. Each start tag is judged by the HTML loader's
rules (``html_style.is_hidden``: attributes, framework classes, inline styles) and
removed with everything up to its matching end tag; with no end tag, up to the end of
its block (the next blank line), or of the text for ``<script>``, ``<style>`` and an
unclosed comment, as CommonMark reads them. Rules from a ``<style>`` block are not
applied to the elements they select.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import Tag

from ingest.loaders.html_style import inline_style, is_hidden

_COMMENT = re.compile(r"<!--.*?-->|^ {0,3}<!--.*", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_UNSEEN_TAGS = {"script", "style", "template", "noscript", "textarea", "iframe", "object"}
_RAW_TEXT = {"script", "style", "textarea"}  # their content is not HTML
_VOID = {"img", "br", "hr", "input", "meta", "link", "wbr", "source", "area", "col", "embed"}


def without_hidden_html(text: str) -> tuple[str, int]:
    """``text`` without the HTML in it that a reader cannot see.

    Args:
        text: Markdown outside code blocks (code spans in it are left alone).

    Returns:
        The text left, and how many hidden pieces held text.
    """
    masked = _CODE_SPAN.sub(lambda m: " " * len(m.group()), text)
    cuts = [(m.start(), m.end()) for m in _COMMENT.finditer(masked)]
    for begin, end in cuts:
        masked = masked[:begin] + " " * (end - begin) + masked[end:]
    position = 0
    while start := _START_TAG.search(masked, position):
        name = start.group(1).lower()
        position = start.end()
        if _unseen(name, start.group()):
            position = start.end() if name in _VOID else _element_end(masked, name, start.end())
            cuts.append((start.start(), position))
    kept, last, hidden = [], 0, 0
    for begin, end in sorted(cuts):
        kept.append(text[last:begin])
        hidden += bool(re.sub(r"<!--|-->|<[^<>]*>", "", text[begin:end]).strip())
        last = end
    return "".join([*kept, text[last:]]), hidden


def _unseen(name: str, start_tag: str) -> bool:
    if name in _UNSEEN_TAGS:
        return True
    element = BeautifulSoup(start_tag, "html.parser").find()
    if not isinstance(element, Tag):
        return False
    style = element.get("style")
    styles = {id(element): inline_style(style)} if isinstance(style, str) else {}
    return is_hidden(element, styles)


def _element_end(text: str, name: str, after: int) -> int:
    """Where the element whose start tag ends at ``after`` ends, its end tag included."""
    tags = re.compile(rf"<(/?){re.escape(name)}(?=[\s/>])[^<>]*>", re.IGNORECASE)
    depth = 1
    for tag in tags.finditer(text, after):
        if name in _RAW_TEXT and not tag.group(1):
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end()
    if name in _RAW_TEXT:
        return len(text)
    blank = re.compile(r"\n[ \t]*\n").search(text, after)
    return blank.start() if blank else len(text)
