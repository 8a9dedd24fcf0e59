"""E-mail (.eml) loader: one section of From, To, Date and Subject lines, then the body.

The plain-text body is preferred; a message with only an HTML body is read through the
HTML loader, so its hidden text is left out and counted as in any web page. Attachments
of supported types follow as sections under their names (``ingest.loaders.attachments``);
the others are listed in the notes.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.attachments import read_attachments
from ingest.loaders.html import load_html

_FIELDS = ("From", "To", "Cc", "Date", "Subject")


def load_eml(path: Path) -> ParsedDocument:
    """Read a saved e-mail message into one section: its header lines, then its body.

    Args:
        path: The .eml file (RFC 5322, as mail programs save a message).

    Returns:
        The parsed document, titled by the subject; attachments listed in the notes.

    Raises:
        LoaderError: The file holds no mail headers.
    """
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)  # the default policy makes EmailMessage
    read = read_message(message)
    if read is None:
        raise LoaderError(
            "the file is not an e-mail message (no From, To or Subject header); save the "
            "message again from the mail program as .eml"
        )
    attached = read_attachments(attached_files(message))
    return ParsedDocument(
        title=read.subject or path.stem,
        sections=[Section(read.text), *attached.sections],
        notes=[*read.notes, *attached.report()],
    )


@dataclass(frozen=True)
class Message:
    """A message as text: its header lines, a blank line and its body.

    Attributes:
        text: "From: ...\nTo: ...\nDate: ...\nSubject: ...", then the body.
        subject: The subject on one line ("" when there is none).
        attachments: The names (or types) of its attachments.
        notes: What the report should say about it (hidden text of an HTML body, no body).
    """

    text: str
    subject: str
    attachments: tuple[str, ...]
    notes: tuple[str, ...]


def read_message(message: EmailMessage) -> Message | None:
    """A parsed message as text, or None when it has no From, To or Subject header."""
    header_lines = [f"{name}: {_header(message, name)}" for name in _FIELDS]
    header_lines = [line for line in header_lines if not line.endswith(": ")]
    if not any(line.startswith(("From:", "To:", "Subject:")) for line in header_lines):
        return None
    notes: list[str] = []
    body = _body(message, notes)
    if not body:
        notes.append("the message has no text body")
    attachments = [part.get_filename() or part.get_content_type() for part in _attached(message)]
    text = "\n".join(header_lines) + (f"\n\n{body}" if body else "")
    return Message(text, _header(message, "Subject"), tuple(attachments), tuple(notes))


def attachments_note(names: Sequence[str], shown: int = 10) -> str:
    """The report's note on attachments, which are not yet read (``shown`` named)."""
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else ""
    )
    return (
        f"{len(names)} attachment{'s' * (len(names) > 1)} not read "
        f"({listed}): attachments are not yet parsed as documents"
    )


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value on one line ("" when absent or unreadable)."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header too malformed to decode
        value = None
    return " ".join(str(value or "").split())


def _body(message: EmailMessage, notes: list[str]) -> str:
    """The message's text: the plain part, else the HTML part read as a web page."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_body_text(content, notes)
    return tidy(content)


def html_body_text(html: str, notes: list[str]) -> str:
    """An HTML body's visible text, headings kept as lines, through the HTML loader."""
    with tempfile.TemporaryDirectory(prefix="docent-mail-") as folder:
        page = Path(folder) / "body.html"
        # The body is text already: the byte-order mark outranks the charset it declares.
        page.write_text(html, encoding="utf-8-sig")
        document = load_html(page)
    notes.extend(f"HTML body: {note}" for note in document.notes)
    blocks = [
        "\n".join([*(heading for _, heading in section.opens), section.text])
        for section in document.sections
    ]
    return tidy("\n\n".join(blocks))


def attached_files(message: EmailMessage) -> list[tuple[str, bytes]]:
    """Each attachment's file name (else its content type) and decoded bytes."""
    files = []
    for part in _attached(message):
        payload = part.get_payload(decode=True)
        name = part.get_filename() or part.get_content_type()
        files.append((name, payload if isinstance(payload, bytes) else b""))
    return files


def _attached(message: EmailMessage) -> list[EmailMessage]:
    """The message's attachments (inline images of an HTML body included)."""
    return [part for part in message.iter_attachments() if isinstance(part, EmailMessage)]


def tidy(text: str) -> str:
    """Lines trimmed at their ends, runs of blank lines made one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
