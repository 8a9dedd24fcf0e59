"""A message's attachments, read into the message as sections of their own.

An attachment of a supported type (a PDF, a Word file, a workbook...) is parsed by its
format's loader in the same parser process, under the same limits, and its sections
follow the message's under a heading naming it ("rota.pdf", its own headings one level
below), so a question answered by an attachment cites the message and shows the
attachment's name. The message's access labels are the attachment's. Attachments that
are messages or mailboxes themselves, of unsupported types, too large or that fail are
listed in the notes with the reason; the message is read all the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ingest.document import LoaderError, Section
from ingest.loaders import load, supported

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
"""Attachments larger than this are listed, not read."""

MAX_ATTACHMENTS = 50
"""Attachments read from one message; the rest are listed, not read."""

_NOT_NESTED = frozenset({".eml", ".msg", ".mbox"})  # a message inside a message: listed


@dataclass
class Attached:
    """What was made of a message's attachments."""

    sections: list[Section] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # names of the unsupported ones
    notes: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """The report's notes: what was read, what was not and why."""
        notes = []
        if self.read:
            listed = ", ".join(self.read)
            notes.append(f"{_count(len(self.read), 'attachment')} read: {listed}")
        if self.unread:
            listed = ", ".join(self.unread[:10]) + (
                f" and {len(self.unread) - 10} more" if len(self.unread) > 10 else ""
            )
            notes.append(
                f"{_count(len(self.unread), 'attachment')} not read ({listed}): not a "
                "supported type"
            )
        return notes + self.notes


def read_attachments(files: Sequence[tuple[str, bytes]]) -> Attached:
    """Parse each attachment of a supported type into sections under its name.

    Args:
        files: Each attachment's file name (or content type) and bytes, in order.

    Returns:
        The sections, and what was read and left.
    """
    attached = Attached()
    for number, (name, data) in enumerate(files, start=1):
        shown = " ".join(name.split()) or f"attachment {number}"
        suffix = PurePath(shown).suffix.lower()
        if suffix in _NOT_NESTED:
            attached.notes.append(
                f"attachment {shown} not read: a message attached to a message is not read; "
                "save it from the mail program as a file of its own"
            )
        elif not supported(Path(f"a{suffix}")):
            attached.unread.append(shown)
        elif number > MAX_ATTACHMENTS or len(data) > MAX_ATTACHMENT_BYTES:
            attached.notes.append(f"attachment {shown} not read: past the attachment limits")
        else:
            try:
                with tempfile.TemporaryDirectory(prefix="docent-attachment-") as folder:
                    copy = Path(folder) / f"attachment{suffix}"
                    copy.write_bytes(data)
                    document = load(copy)
            except LoaderError as error:
                attached.notes.append(f"attachment {shown} not read: {error}")
                continue
            attached.sections += _under(shown, document.sections)
            attached.read.append(shown)
            attached.notes += [f"attachment {shown}: {note}" for note in document.notes]
    return attached


def _under(name: str, sections: Sequence[Section]) -> list[Section]:
    """An attachment's sections, its headings one level below a heading naming it."""
    placed = []
    for index, section in enumerate(sections):
        opens = tuple((level + 1, heading) for level, heading in section.opens)
        if index == 0:
            opens = ((1, name), *opens)
        heading, level = (section.heading, section.level + 1) if section.heading else (name, 1)
        # A sheet's rows go with it: a cited row of an attached workbook names its cells.
        placed.append(Section(section.text, 0, heading, level, opens, section.rows))
    return placed


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'s' * (number != 1)}"
