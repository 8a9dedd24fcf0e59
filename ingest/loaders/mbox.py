"""Mailbox (.mbox) loader: each message a page of its own, headed by its subject.

A message is read as a saved .eml is (``ingest.loaders.eml``): From, To, Cc, Date and
Subject lines, then the plain body, or the HTML body read as a web page. A message's
page is its place in the mailbox (1-based), so a citation names the message. Entries
without mail headers are skipped and counted; at most ``MAX_MESSAGES`` are read.
"""

from __future__ import annotations

import mailbox
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.eml import Message, attachments_note, read_message

_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)

MAX_MESSAGES = 5_000
"""Messages read from one mailbox; the rest are left out and noted."""


def load_mbox(path: Path) -> ParsedDocument:
    """Read a Unix mailbox into one section per message.

    Args:
        path: The .mbox file (messages each led by a "From " line, as Thunderbird,
            mutt and Google Takeout write them).

    Returns:
        The parsed document: ``pages`` is the number of messages, a section's page is its
        message's place in the mailbox and its heading the message's subject (level 1).

    Raises:
        LoaderError: The file is not a mailbox or holds no message.
    """
    _check_start(path)
    box = mailbox.mbox(path, factory=None, create=False)
    sections: list[Section] = []
    notes: list[str] = []
    attachments: list[str] = []
    skipped = empty = total = 0
    try:
        for total, key in enumerate(box.iterkeys(), start=1):
            if total > MAX_MESSAGES:
                notes.append(f"only the first {MAX_MESSAGES:,} messages were read")
                total -= 1
                break
            read = _read(box.get_file(key))
            if read is None:
                skipped += 1
                continue
            subject = read.subject or "(no subject)"
            sections.append(Section(read.text, total, subject, 1, ((1, subject),)))
            attachments += read.attachments
            empty += "the message has no text body" in read.notes
            notes += [
                f"message {total}: {note}" for note in read.notes if "no text body" not in note
            ]
    finally:
        box.close()
    if not sections:
        raise LoaderError(
            "the mailbox holds no e-mail messages (no entry has a From, To or Subject "
            "header); export the folder again from the mail program as .mbox"
        )
    notes += _tally(skipped, empty, attachments)
    return ParsedDocument(title=path.stem, sections=sections, pages=total, notes=notes)


def _check_start(path: Path) -> None:
    """Refuse a file that does not start as a mailbox does (a "From " line)."""
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\r\n")
    if not head.startswith(b"From "):
        raise LoaderError(
            'this .mbox file is not a mailbox (it does not start with a "From " line); '
            "export the folder again from the mail program as .mbox, or give the file "
            "the extension of its real type"
        )


def _read(source: Any) -> Message | None:
    """One entry of the mailbox as text (None when it has no mail headers).

    Lines of a body that began "From " were written ">From " so as not to start a new
    message; the mark is taken off again (mboxrd: one ">" less on ">>From " too).
    """
    with source:
        data = _QUOTED_FROM.sub(rb"\1", source.read())
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)  # the default policy makes EmailMessage
    return read_message(message)


def _tally(skipped: int, empty: int, attachments: list[str]) -> list[str]:
    """The notes on the whole mailbox: entries skipped, bodies missing, attachments."""
    notes = []
    if skipped:
        notes.append(f"{skipped} entr{'ies' if skipped > 1 else 'y'} without mail headers skipped")
    if empty:
        notes.append(f"{empty} message{'s' * (empty > 1)} without a text body")
    if attachments:
        notes.append(attachments_note(attachments))
    return notes
