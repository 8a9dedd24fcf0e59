"""Page- and heading-aware chunking, measured in the embedder's own word pieces.

A chunk never spans two pages (its page citation must be exact) and starts afresh at a
heading unless the chunk in progress is still small and holds whole sections only (so a
run of short sections does not become a run of tiny chunks, and a section's tail never
carries the next section). Chunks are packed from sentences; a sentence longer than a
chunk is cut at word boundaries. What is embedded is the chunk led by a short header
(title and heading), with the heading of each section that opens inside it where that
section begins, and the whole of it fits the embedder's window: the token count of every
embedded text is checked, so nothing is ever silently truncated.

Each heading a section opens (``Section.opens``) is given to one piece: the first whose
span holds the offset where the section's text begins, so the pieces of a document hold
its outline once although they overlap.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from ingest.document import ParsedDocument, Section
from models.embedder import TokenCounter
from rag.types import Heading, SheetRow

SECTION_JOINER = "\n\n"
# [CLS] and [SEP] take two places in the embedder's window.
_SPECIAL_TOKENS = 2
_HEADER_MAX_TOKENS = 32
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n|\n(?=\s*[-*•\d]+[.)]?\s)")
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Piece:
    """A chunk before it gets its document id.

    Attributes:
        text: The passage, a verbatim slice of the document text.
        embed_text: Header and passage, what the embedder reads.
        page: 1-based page, 0 for formats without pages.
        heading: The heading in effect at the start of the passage.
        char_start: Start offset in the document text.
        char_end: End offset in the document text.
        headings: The headings whose section starts in this piece and in no earlier one.
        rows: The spreadsheet rows whose lines the piece holds, at document offsets.
    """

    text: str
    embed_text: str
    page: int
    heading: str
    char_start: int
    char_end: int
    headings: tuple[Heading, ...] = ()
    rows: tuple[SheetRow, ...] = ()


@dataclass(frozen=True)
class _Unit:
    start: int  # offsets in the document text
    end: int
    tokens: int
    section: int


def document_text(document: ParsedDocument) -> tuple[str, list[int]]:
    """The document's full text and the offset at which each section starts in it."""
    offsets: list[int] = []
    position = 0
    for section in document.sections:
        offsets.append(position)
        position += len(section.text) + len(SECTION_JOINER)
    return SECTION_JOINER.join(s.text for s in document.sections), offsets


class Chunker:
    """Splits parsed documents into token-bounded pieces.

    Args:
        tokens: The embedder's token counter.
        chunk_tokens: Largest embedded text, special tokens included.
        overlap_tokens: Word pieces of context repeated from the previous chunk of a section.
    """

    def __init__(self, tokens: TokenCounter, chunk_tokens: int, overlap_tokens: int) -> None:
        self.tokens = tokens
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, document: ParsedDocument) -> list[Piece]:
        """Chunk a document in reading order."""
        text, offsets = document_text(document)
        budgets = [
            self.chunk_tokens - _SPECIAL_TOKENS - self._header(document.title, s.heading)[1]
            for s in document.sections
        ]
        pieces: list[Piece] = []
        for group in _page_groups(document.sections):
            units = self._units(document, offsets, group, min(budgets[i] for i in group))
            for start, end, section in self._pack(units, budgets):
                pieces.append(self._piece(text, start, end, document, section, offsets))
        return _with_headings(self._enforce_limit(pieces, document), _outline(document, offsets))

    def _header(self, title: str, heading: str) -> tuple[str, int]:
        header = " — ".join(part for part in (title.strip(), heading.strip()) if part)
        if not header:
            return "", 0
        # At most half the window: a header that fills it leaves no budget for the passage.
        limit = min(_HEADER_MAX_TOKENS, (self.chunk_tokens - _SPECIAL_TOKENS) // 2)
        offsets = self.tokens.offsets([header])[0]
        if len(offsets) > limit:
            header = header[: offsets[limit - 1][1]]
        return header, min(len(offsets), limit)

    def _piece(
        self,
        text: str,
        start: int,
        end: int,
        document: ParsedDocument,
        section: int,
        offsets: list[int],
    ) -> Piece:
        passage = text[start:end]
        heading = document.sections[section].heading
        header = self._header(document.title, heading)[0]
        # A section that opens inside the chunk is embedded under its own heading, where
        # it begins: a short FAQ answer packed after another's end is found by its question.
        body, at = [], start
        # Offsets rise with the sections: only those inside the chunk are looked at.
        for index in range(bisect.bisect_right(offsets, start), bisect.bisect_left(offsets, end)):
            offset, opened = offsets[index], document.sections[index].opens
            if opened:
                body += [text[at:offset], "\n".join(t for _, t in opened) + "\n"]
                at = offset
        body.append(text[at:end])
        embedded = "".join(body)
        embed_text = f"{header}\n{embedded}" if header else embedded
        page = document.sections[section].page
        rows = _rows_within(document, offsets, start, end)
        return Piece(passage, embed_text, page, heading, start, end, rows=rows)

    def _units(
        self, document: ParsedDocument, offsets: list[int], group: list[int], budget: int
    ) -> list[_Unit]:
        spans: list[tuple[int, int, int]] = []
        texts: list[str] = []
        for index in group:
            section_text = document.sections[index].text
            for a, b in _sentences(section_text):
                spans.append((offsets[index] + a, offsets[index] + b, index))
                texts.append(section_text[a:b])
        # A section's first sentence carries its heading's tokens: embedded in the chunk
        # when the section opens inside one (``_piece``).
        opened = {i: "\n".join(t for _, t in document.sections[i].opens) for i in group}
        heading_tokens = dict(
            zip(opened, self.tokens.count([t or "-" for t in opened.values()]), strict=True)
        )
        units: list[_Unit] = []
        first_of: set[int] = set()
        for (start, end, section), sentence, count in zip(
            spans, texts, self.tokens.count(texts), strict=True
        ):
            if section not in first_of:
                first_of.add(section)
                count += heading_tokens[section] + 1 if opened[section] else 0
            if count <= budget:
                units.append(_Unit(start, end, count, section))
            else:
                units.extend(self._cut(sentence, start, section, budget))
        return units

    def _cut(self, sentence: str, start: int, section: int, budget: int) -> list[_Unit]:
        """Cut an over-long sentence into windows of at most ``budget`` tokens, at word gaps."""
        spans = self.tokens.offsets([sentence])[0]
        units: list[_Unit] = []
        first = 0
        while first < len(spans):
            last = min(first + budget, len(spans))
            if last < len(spans):
                # Back off to a word boundary so the window tokenizes the same on its own.
                cut = next(
                    (i for i in range(last, first, -1) if spans[i][0] > spans[i - 1][1]), last
                )
                last = cut if cut > first else last
            units.append(
                _Unit(start + spans[first][0], start + spans[last - 1][1], last - first, section)
            )
            first = last
        return units

    def _pack(self, units: list[_Unit], budgets: list[int]) -> list[tuple[int, int, int]]:
        """Pack sentence units into (start, end, first section) chunk spans."""
        chunks: list[tuple[int, int, int]] = []
        current: list[_Unit] = []
        used = 0
        opening: dict[int, int] = {}
        for unit in units:
            opening.setdefault(unit.section, unit.start)
        for unit in units:
            new_heading = bool(current) and unit.section != current[-1].section
            # Short sections are packed together, but never after the tail of a section
            # that began in an earlier chunk: that chunk would be found by the wrong heading.
            small = (
                used < self.chunk_tokens // 4
                and bool(current)
                and opening[current[0].section] == current[0].start
            )
            budget = budgets[current[0].section] if current else budgets[unit.section]
            if current and (used + unit.tokens > budget or (new_heading and not small)):
                chunks.append((current[0].start, current[-1].end, current[0].section))
                current = [] if new_heading else self._overlap(current)
                used = sum(u.tokens for u in current)
                if current and used + unit.tokens > budgets[current[0].section]:
                    current, used = [], 0
            current.append(unit)
            used += unit.tokens
        if current:
            chunks.append((current[0].start, current[-1].end, current[0].section))
        return chunks

    def _overlap(self, units: list[_Unit]) -> list[_Unit]:
        carried: list[_Unit] = []
        total = 0
        for unit in reversed(units[1:]):
            if total + unit.tokens > self.overlap_tokens:
                break
            carried.insert(0, unit)
            total += unit.tokens
        return carried

    def _enforce_limit(self, pieces: list[Piece], document: ParsedDocument) -> list[Piece]:
        """Drop pieces with no words; halve any piece the embedder would truncate."""
        pieces = [p for p in pieces if _HAS_WORD.search(p.text)]
        counts = self.tokens.count([p.embed_text for p in pieces])
        if all(count + _SPECIAL_TOKENS <= self.chunk_tokens for count in counts):
            return pieces
        text, offsets = document_text(document)
        checked: list[Piece] = []
        for piece, count in zip(pieces, counts, strict=True):
            if count + _SPECIAL_TOKENS <= self.chunk_tokens:
                checked.append(piece)
                continue
            middle = piece.char_start + len(piece.text) // 2
            halves = [
                self._piece(text, a, b, document, bisect.bisect_right(offsets, a) - 1, offsets)
                for a, b in ((piece.char_start, middle), (middle, piece.char_end))
            ]
            checked.extend(self._enforce_limit(halves, document))
        return checked


def _rows_within(
    document: ParsedDocument, offsets: list[int], start: int, end: int
) -> tuple[SheetRow, ...]:
    """The spreadsheet rows whose lines meet the span [start, end), at document offsets."""
    rows: list[SheetRow] = []
    first = max(bisect.bisect_right(offsets, start) - 1, 0)
    for index in range(first, bisect.bisect_left(offsets, end)):
        base = offsets[index]
        rows += [
            replace(row, start=base + row.start, end=base + row.end)
            for row in document.sections[index].rows
            if base + row.start < end and start < base + row.end
        ]
    return tuple(rows)


def _outline(document: ParsedDocument, offsets: list[int]) -> list[Heading]:
    """Every heading the document's sections open, at the offset where the section begins."""
    return [
        Heading(offset, level, text)
        for section, offset in zip(document.sections, offsets, strict=True)
        for level, text in section.opens
    ]


def _with_headings(pieces: list[Piece], headings: list[Heading]) -> list[Piece]:
    """The pieces, each heading given to the first whose span holds its offset.

    A heading in no span (its section's start fell in a dropped piece or a gap) goes to
    the next piece after it, or the last. Pieces are in document order, their ends rising,
    so the first piece ending after an offset is the one.
    """
    if not pieces or not headings:
        return pieces
    held: list[list[Heading]] = [[] for _ in pieces]
    ends = [piece.char_end for piece in pieces]
    for heading in headings:
        held[min(bisect.bisect_right(ends, heading.offset), len(pieces) - 1)].append(heading)
    return [
        replace(piece, headings=tuple(own)) if own else piece
        for piece, own in zip(pieces, held, strict=True)
    ]


def _sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences and list items in a text, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    position = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        segment = text[position:end]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            spans.append((position + lead, position + lead + len(stripped)))
        if match:
            position = match.end()
    return spans


def _page_groups(sections: list[Section]) -> list[list[int]]:
    """Indexes of sections grouped by page, in order."""
    groups: list[list[int]] = []
    for index, section in enumerate(sections):
        if groups and sections[groups[-1][-1]].page == section.page:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups
