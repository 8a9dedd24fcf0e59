"""The answer unit: the smallest complete piece of a document around a chosen sentence.

One sentence of a section rarely answers a question: "The priorities are:" needs the list
it announces, "To see the status, execute the command" needs the command, "However, it
holds older versions." needs the sentence before it, and one item of a procedure needs
its steps. ``build`` grows the chosen sentence into its unit, always a contiguous,
verbatim span of the document (so the citation's span and page stay exact):

* back to the sentence before, when it opens with a connective or a pronoun;
* back to a list's lead-in and forward to its last item, when the sentence is an item;
* forward over what the sentence introduces: the next paragraph after a colon, or the
  list, code block or table rows after "run", "execute", "the following", "do:";
* a table row with the table's header row (the rows between are left out of what is
  shown, never of the span: a reader opening the page finds them);

and the passage's next chunk is read (``after``) when what is introduced runs past the
passage's end on the same page. A unit longer than ``UnitConfig.words`` is cut at a
line or sentence boundary and ends with "...": its page link reads on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.layout import CODE_LINE, kind, markdown, table
from rag.sentences import Sentence, regions, split_passage, word_count
from rag.types import Passage

_CONNECTIVE = re.compile(
    r"^(?:however|but|on the other hand|otherwise|therefore|thus|hence|so|then|also|"
    r"instead|alternatively|moreover|furthermore|likewise|similarly|consequently|"
    # One step of an enumeration in prose ("Second, the whole behavior can be changed").
    r"second(?:ly)?|third(?:ly)?|fourth(?:ly)?|finally|lastly|conversely|again|"
    r"in (?:contrast|particular|other words)|by contrast|that is|even so|"
    r"in (?:any|that|this|such a|either|both) cases?|as a result|for (?:example|instance)|"
    r"e\.g\.|i\.e\.|in addition|besides|nevertheless|still|yet|and|or|nor|"
    r"it|its|this|these|those|they|them|their|that|such|he|she|here|there it|"
    r"the (?:latter|former|same|above|following)|both|neither|either|each of these)\b",
    re.IGNORECASE,
)
# A sentence that announces what follows it (the list, command or rows after it).
_ANNOUNCES = re.compile(
    r"(?::\s*$|\b(?:as follows|the following(?:\s+[\w-]+){0,4}|below|run|execute|type|enter|"
    r"do|use|"
    r"command|commands|e\.g\.|i\.e\.|for example|like this|this way)\s*[.:]?\s*$|"
    # "Here are some key points for package configuration." with its list after it.
    r"(?:^|[.!?]\s+)here (?:are|is)\b[^.!?]*[.:]?\s*$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class UnitConfig:
    """How far a unit may grow.

    Attributes:
        words: Most words shown; a longer unit is cut at a boundary and ends in "...".
    """

    words: int = 120


@dataclass(frozen=True)
class Unit:
    """An answer unit: a verbatim span of one document around a chosen sentence.

    Attributes:
        passages: The passage the sentence stands in, then the next chunk when the unit
            runs into it.
        text: The passages' joined text (the document from the first's start).
        start: Offset of the unit in ``text``.
        end: End offset (exclusive) in ``text``.
        cut: Whether the unit was cut at the word cap (what is shown ends in "...").
        markdown: The unit as shown (``markdown``).
    """

    passages: tuple[Passage, ...]
    text: str
    start: int
    end: int
    cut: bool
    markdown: str

    @property
    def quote(self) -> str:
        """The unit's text, verbatim from the document."""
        return self.text[self.start : self.end]

    @property
    def doc_start(self) -> int:
        """Offset of the unit in its document's text."""
        return self.passages[0].char_start + self.start

    @property
    def doc_end(self) -> int:
        """End offset (exclusive) of the unit in its document's text."""
        return self.passages[0].char_start + self.end


def joined(passage: Passage, after: Passage | None) -> tuple[tuple[Passage, ...], str]:
    """The passage with its next chunk appended where the two meet or overlap."""
    if (
        after is None
        or after.doc_id != passage.doc_id
        or after.page != passage.page
        or not passage.char_start <= after.char_start <= passage.char_end
    ):
        return (passage,), passage.text
    tail = after.text[passage.char_end - after.char_start :]
    return (passage, after), passage.text + tail


def build(
    sentence: Sentence,
    after: Passage | None = None,
    config: UnitConfig | None = None,
    *,
    whole_section: bool = True,
) -> Unit:
    """The answer unit of a chosen sentence (see the module's docstring); with
    ``whole_section``, a section that fits the cap is shown whole from its opening
    sentence (an answer), else the opening paragraph (a summary's point)."""
    config = config or UnitConfig()
    passages, text = joined(sentence.passage, after)
    lines = _lines(text)
    start, end = sentence.start, sentence.end
    low, high, opens = _section_bounds(passages, text, start)
    start = max(low, _with_antecedent(sentence, start)) if not opens else start
    at = _line_of(lines, start)
    start = _announced_by(lines, at, text, start)
    if kind(lines[at][2]) == "item":
        first, last = _list_bounds(lines, at)
        start = min(start, _lead_in(lines, first, text))
        end = max(end, lines[last][1])
    elif kind(lines[at][2]) == "row":
        header = _table_start(lines, at)
        if header < at:  # the header row and this row: the rows between are not shown
            end = max(end, lines[at][1])
            shown = table([lines[header][2], lines[at][2]])
            return Unit(passages, text, lines[header][0], end, False, shown)
    else:
        start, end = _paragraph(text, start, end, config.words)
        if sentence.after_heading or sentence.index == 0 or opens:
            outlined = any(p.headings for p in passages)
            end = _section_end(text, start, end, high if outlined else -1, whole_section, config)
    end = _with_introduced(lines, text, start, end)
    start = max(start, low)
    end = max(sentence.end, min(end, len(text[:high].rstrip())))
    end, cut = _capped(text, start, end, config.words)
    return Unit(passages, text, start, end, cut, markdown(text[start:end], cut))


def _section_bounds(passages: tuple[Passage, ...], text: str, at: int) -> tuple[int, int, bool]:
    """The span of the section around offset ``at`` of ``text`` by the stored outline
    (``Passage.headings``: a PDF's or DOCX's headings are not in the text), and whether
    ``at`` opens it. Without an outline: the whole text, opening nothing."""
    base = passages[0].char_start
    offsets = sorted({h.offset - base for p in passages for h in p.headings} - {0})
    low = max((o for o in offsets if 0 < o <= at), default=0)
    high = min((o for o in offsets if o > at), default=len(text))
    opens = low > 0 and not text[low:at].strip()
    return low, high, opens


def _paragraph(text: str, start: int, end: int, most: int) -> tuple[int, int]:
    """The whole paragraph around a span, when it fits ``most`` words and holds no list,
    table or heading: the key fact is often a sentence away from the best-ranked one."""
    opening = text.rfind("\n\n", 0, start)
    opening = 0 if opening < 0 else opening + 2
    closing = paragraph_break(text, end)
    closing = len(text) if closing < 0 else closing
    for a, b, heading in regions(text):
        if heading and opening <= a < start:
            opening = b + 1
        if heading and end <= a < closing:
            closing = a
    block = text[opening:closing].strip()
    if not block or word_count(block) > most:
        return start, end
    if any(kind(line) in ("item", "row") for line in block.split("\n")):
        return start, end
    lead = len(text[opening:closing]) - len(text[opening:closing].lstrip())
    return min(start, opening + lead), max(end, opening + lead + len(block))


def paragraph_break(text: str, at: int) -> int:
    """The next blank line after ``at`` that ends a paragraph (-1: none). A PDF's text
    may hold a blank line in mid-sentence where its lines were spaced apart ("except\n\n
    that the changes ..."): one after a word that ends no sentence is not a break."""
    for match in re.finditer(r"\n[ \t]*\n", text[at:]):
        before = text[: at + match.start()].rstrip()
        if not before or before.endswith((".", "!", "?", ":", ";", ")", '"', "'", "`")):
            return at + match.start()
        if kind(before.rsplit("\n", 1)[-1]) != "text" or CODE_LINE.search(
            before.rsplit("\n", 1)[-1]
        ):
            return at + match.start()
    return -1


def _section_end(
    text: str, start: int, end: int, high: int, whole_section: bool, config: UnitConfig
) -> int:
    """Where a unit that opens its section may run to: with ``whole_section``, the whole
    section when it fits the word cap (a short answer's second paragraph is often the one
    that answers); else the next heading line or blank line, whichever comes first (a
    section states its answer first and goes on with what completes it).

    The section ends at the next heading line or stored heading (``high``; -1 when the
    passages carry no outline). Loaders keep no heading line between the sections a
    chunk spans, only a blank line: without an outline (chunks stored before outlines
    were kept), the text past one may be the next question's answer."""
    following = [a for a, _, heading in regions(text) if heading and a >= end]
    if whole_section and (high >= 0 or following):
        section = min([*following, high if high >= 0 else len(text), len(text)])
        whole = len(text[:section].rstrip())
        if whole > end and word_count(text[start:whole]) <= config.words:
            return whole
    blank = paragraph_break(text, end)
    stop = min([*following, blank if blank >= 0 else len(text), len(text)])
    return max(end, len(text[:stop].rstrip()))


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, line) for every line of ``text``."""
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, offset + len(line), line))
        offset += len(line) + 1
    return out


def _line_of(lines: list[tuple[int, int, str]], offset: int) -> int:
    for number, (a, b, _) in enumerate(lines):
        if a <= offset <= b:
            return number
    return len(lines) - 1


def _with_antecedent(sentence: Sentence, start: int) -> int:
    """Back to the sentence before, when this one opens with a connective or pronoun."""
    if sentence.index == 0 or sentence.after_heading:
        return start
    if not _CONNECTIVE.match(sentence.text.lstrip("-*• \t")):
        return start
    earlier = split_passage(sentence.passage)[sentence.index - 1]
    return earlier.start if earlier.end <= sentence.start else start


def _list_bounds(lines: list[tuple[int, int, str]], at: int) -> tuple[int, int]:
    """The first and last line of the list that holds line ``at`` (items and their
    continuation lines; a blank line between items does not end the list)."""
    first = at
    while first > 0 and kind(lines[first][2]) != "item":
        first -= 1
    while first > 0 and kind(lines[first - 1][2]) in ("item", "text"):
        if kind(lines[first - 1][2]) == "text" and not _continues(lines, first - 1):
            break
        first -= 1
    last = at
    while last + 1 < len(lines):
        line_kind = kind(lines[last + 1][2])
        if line_kind == "item" or (line_kind == "text" and _continues(lines, last + 1)):
            last += 1
        elif line_kind == "blank" and last + 2 < len(lines) and kind(lines[last + 2][2]) == "item":
            last += 2
        else:
            break
    return first, last


def _continues(lines: list[tuple[int, int, str]], number: int) -> bool:
    """Whether a text line continues the list item above it (wrapped, or indented)."""
    line = lines[number][2]
    above = lines[number - 1][2] if number else ""
    if kind(above) not in ("item", "text") or not above.strip():
        return False
    return line.startswith((" ", "\t")) or not above.rstrip().endswith((".", ":", "!", "?"))


def _lead_in(lines: list[tuple[int, int, str]], first: int, text: str) -> int:
    """Where the list starting at line ``first`` is introduced: the sentence before it
    when that ends with a colon or announces it, else the list's own start."""
    before = first - 1
    while before >= 0 and kind(lines[before][2]) == "blank":
        before -= 1
    if before < 0 or kind(lines[before][2]) != "text":
        return lines[first][0]
    line_end = lines[before][1]
    if not introduces(lines[before][2]):
        return lines[first][0]
    cut = max(text.rfind(". ", 0, line_end - 1), text.rfind("\n\n", 0, line_end - 1))
    opening = max(cut + 2, lines[before][0]) if cut >= 0 else lines[before][0]
    while before > 0 and opening == lines[before][0] and kind(lines[before - 1][2]) == "text":
        if lines[before - 1][2].rstrip().endswith((".", "!", "?")):
            break
        before -= 1
        opening = lines[before][0]
    return opening


def introduces(text: str) -> bool:
    """Whether a stretch of text ends by announcing what follows it ("are:", "run")."""
    return bool(_ANNOUNCES.search(text.rstrip()))


def _announced_by(lines: list[tuple[int, int, str]], at: int, text: str, start: int) -> int:
    """Back to the sentence that announces a command, code or table the unit opens with."""
    if start != lines[at][0] or kind(lines[at][2]) not in ("code", "row", "text"):
        return start
    if kind(lines[at][2]) == "text" and not CODE_LINE.search(lines[at][2]):
        return start
    before = at - 1
    while before >= 0 and kind(lines[before][2]) == "blank":
        before -= 1
    if before < 0 or kind(lines[before][2]) != "text" or not introduces(lines[before][2]):
        return start
    return min(start, _lead_in(lines, before + 1, text))


def _table_start(lines: list[tuple[int, int, str]], at: int) -> int:
    first = at
    while first > 0 and kind(lines[first - 1][2]) == "row":
        first -= 1
    return first


def _with_introduced(lines: list[tuple[int, int, str]], text: str, start: int, end: int) -> int:
    """The unit's end once it holds what its last announcing line introduces (a sentence
    may run on over a colon and a line break: "as follows:\nRule 1 ...")."""
    first = _line_of(lines, start)
    for number in range(_line_of(lines, end - 1), first - 1, -1):
        line_start, line_end, _ = lines[number]
        said = text[max(start, line_start) : min(end, line_end)]
        if introduces(said) and (grown := _introduced_end(lines, number, said)) > end:
            return grown
    return end


def _introduced_end(lines: list[tuple[int, int, str]], last: int, unit: str) -> int:
    """The end of what the unit's last line introduces: the block after it."""
    number = last + 1
    while number < len(lines) and kind(lines[number][2]) == "blank":
        number += 1
    if number >= len(lines):
        return lines[last][1]
    line_kind = kind(lines[number][2])
    colon = unit.rstrip().endswith(":")
    if line_kind == "item":
        return lines[_list_bounds(lines, number)[1]][1]
    block_end = number
    while block_end + 1 < len(lines) and kind(lines[block_end + 1][2]) == line_kind:
        block_end += 1
    if line_kind == "row" or colon or CODE_LINE.search(lines[number][2]):
        return lines[block_end][1]
    return lines[last][1]


def _capped(text: str, start: int, end: int, most: int) -> tuple[int, bool]:
    """The unit's end within ``most`` words, at the last sentence end or structural line
    break before the cap (a PDF's wrapped lines end mid-sentence), else at a word; and
    whether it stops short (cut, or at its passage's end mid-sentence: the page turns)."""
    if word_count(text[start:end]) <= most:
        return end, _unfinished(text, start, end)
    words = list(re.finditer(r"[^\W_]+", text[start:end]))
    limit = start + words[most - 1].end()
    ends = [b for b in _boundaries(text, start, limit) if word_count(text[start:b]) >= most // 3]
    return (max(ends) if ends else limit), True


_SENTENCE_END = re.compile(r"[.!?:;](?=[\s\"')\]]|$)|\n")
_STRUCTURE = ("item", "row", "code", "blank")


def _boundaries(text: str, start: int, limit: int) -> list[int]:
    """Where a unit may stop before ``limit``: after a sentence, or at a line break
    next to a list item, table row, code line or blank line."""
    found = []
    for match in _SENTENCE_END.finditer(text, start, limit + 1):
        if match.group() != "\n":
            found.append(match.end())
            continue
        before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        after_end = text.find("\n", match.end())
        after = text[match.end() : after_end if after_end >= 0 else len(text)]
        if kind(before) in _STRUCTURE or kind(after) in _STRUCTURE:
            found.append(match.start())
    return found


def _unfinished(text: str, start: int, end: int) -> bool:
    """Whether a unit ends at its text's end in mid-sentence (a page or chunk turns)."""
    if text[end:].strip():
        return False
    last = text[start:end].rstrip()
    tail = last.rsplit("\n", 1)[-1]
    return (
        bool(last)
        and kind(tail) == "text"
        and not last.endswith((".", "!", "?", ":", ";", ")", '"', "'"))
    )


def runs_on(unit: Unit) -> bool:
    """Whether a unit may go on in its passage's next chunk: it reaches the passage's end
    in a list, a table or code, announcing what follows, or in mid-sentence."""
    if len(unit.passages) > 1 or unit.text[unit.end :].strip():
        return False
    last = unit.text[: unit.end].rstrip().rsplit("\n", 1)[-1]
    structural = kind(last) in ("item", "row") or bool(CODE_LINE.search(last))
    return introduces(unit.quote) or structural or _unfinished(unit.text, unit.start, unit.end)


def overlaps(unit: Unit, other: Unit) -> bool:
    """Whether two units share any of one document's text."""
    same = unit.passages[0].doc_id == other.passages[0].doc_id
    return same and unit.doc_start < other.doc_end and other.doc_start < unit.doc_end
