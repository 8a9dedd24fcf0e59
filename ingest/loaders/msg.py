"""Outlook message (.msg) loader: From, To, Cc, Date and Subject lines, then the body.

A .msg file is an OLE compound file holding the message's MAPI properties, one stream
each (Microsoft's [MS-OXMSG]); olefile (BSD) reads the container and this module the few
properties a reader needs. The maintained .msg packages on PyPI are GPL-licensed, which
Docent's Apache-2.0 licence cannot take in.

The text is laid out as a saved .eml's is (``ingest.loaders.eml``): the plain body is
preferred, an HTML-only body is read as a web page (hidden text left out and counted).
A message with only an RTF body fails with the fix. Attachments of supported types follow
as sections under their names (``ingest.loaders.attachments``); the others are listed.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import olefile

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.attachments import read_attachments
from ingest.loaders.eml import html_body_text, tidy

_FIX = "open it in Outlook and save it again (as .msg, or as .eml or .pdf)"
_UNICODE, _STRING8, _BINARY = "001F", "001E", "0102"
_SUBJECT, _SENDER_NAME, _SENDER_ADDRESS, _SENDER_SMTP = "0037", "0C1A", "0C1F", "5D01"
_DISPLAY_TO, _DISPLAY_CC, _BODY, _HTML, _RTF = "0E04", "0E03", "1000", "1013", "1009"
_CODEPAGE, _INTERNET_CODEPAGE = 0x3FFD, 0x3FDE
_SENT, _DELIVERED = 0x0039, 0x0E06
_ATTACH_LONG_NAME, _ATTACH_NAME, _ATTACH_DISPLAY, _ATTACH_DATA = "3707", "3704", "3001", "3701"
_PT_SYSTIME, _PT_LONG = 0x0040, 0x0003
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_MAX_STREAM = 64 * 1024 * 1024  # a body or name larger than this is not read


def load_msg(path: Path) -> ParsedDocument:
    """Read an Outlook message into one section: its header lines, then its body.

    Args:
        path: The .msg file.

    Returns:
        The parsed document, titled by the subject; attachments listed in the notes.

    Raises:
        LoaderError: The file is damaged or is not an Outlook message.
    """
    try:
        ole = olefile.OleFileIO(str(path))
    except (OSError, ValueError, struct.error) as exc:  # olefile raises OSError on bad files
        raise LoaderError(f"the Outlook file is damaged or not a .msg ({exc}); {_FIX}") from exc
    try:
        message = _Properties(ole, [])
        fields = _header_lines(message)
        if not any(line.startswith(("From:", "To:", "Subject:")) for line in fields):
            raise LoaderError(
                f"the file is not an Outlook message (no sender, recipient or subject); {_FIX}"
            )
        notes: list[str] = []
        body = _body(message, notes)
        attachments = _attachments(ole)
        subject = message.text(_SUBJECT)
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise LoaderError(f"the Outlook file is damaged ({exc}); {_FIX}") from exc
    finally:
        ole.close()
    attached = read_attachments(attachments)
    text = "\n".join(fields) + (f"\n\n{body}" if body else "")
    return ParsedDocument(
        title=subject or path.stem,
        sections=[Section(text), *attached.sections],
        notes=notes + attached.report(),
    )


class _Properties:
    """The MAPI properties of the message (or of one attachment) under ``prefix``."""

    def __init__(self, ole: olefile.OleFileIO, prefix: Sequence[str]) -> None:
        self.ole = ole
        self.prefix = list(prefix)
        self.fixed = _fixed_properties(ole, [*self.prefix, "__properties_version1.0"], not prefix)
        codepage = self.fixed.get(_INTERNET_CODEPAGE) or self.fixed.get(_CODEPAGE) or 1252
        self.encoding = f"cp{codepage}" if codepage != 65001 else "utf-8"

    def raw(self, tag: str, kind: str) -> bytes | None:
        """The bytes of property ``tag`` stored as ``kind`` (None when absent)."""
        stream = [*self.prefix, f"__substg1.0_{tag}{kind}"]
        if not self.ole.exists(stream) or self.ole.get_size(stream) > _MAX_STREAM:
            return None
        data: bytes = self.ole.openstream(stream).read()
        return data

    def text(self, tag: str) -> str:
        """A string property on one line ("" when absent)."""
        return " ".join(self.string(tag).split())

    def string(self, tag: str) -> str:
        """A string property as stored, Unicode or in the message's code page."""
        data = self.raw(tag, _UNICODE)
        if data is not None:
            return data.decode("utf-16-le", "replace").rstrip("\x00")
        data = self.raw(tag, _STRING8)
        if data is None:
            return ""
        try:
            return data.decode(self.encoding, "replace").rstrip("\x00")
        except LookupError:  # a code page Python does not know
            return data.decode("cp1252", "replace").rstrip("\x00")


def _fixed_properties(ole: olefile.OleFileIO, stream: list[str], top: bool) -> dict[int, int]:
    """The fixed-size properties (dates, numbers) by id, from the properties stream."""
    if not ole.exists(stream) or ole.get_size(stream) > _MAX_STREAM:
        return {}
    data = ole.openstream(stream).read()
    start = 32 if top else 8  # the top-level message's header is longer (MS-OXMSG 2.4.1)
    values: dict[int, int] = {}
    for offset in range(start, len(data) - 15, 16):
        tag, _flags, value = struct.unpack_from("<IIQ", data, offset)
        if tag & 0xFFFF in (_PT_SYSTIME, _PT_LONG):
            values[tag >> 16] = value if tag & 0xFFFF == _PT_SYSTIME else value & 0xFFFFFFFF
    return values


def _header_lines(message: _Properties) -> list[str]:
    """From, To, Cc, Date and Subject lines, those with a value."""
    name = message.text(_SENDER_NAME)
    address = message.text(_SENDER_SMTP) or message.text(_SENDER_ADDRESS)
    if "@" not in address:
        address = ""  # an Exchange directory name ("/O=EXCHANGE/OU=..."), not for readers
    sender = f"{name} <{address}>" if name and address and name != address else name or address
    sent = message.fixed.get(_SENT) or message.fixed.get(_DELIVERED)
    date = format_datetime(_FILETIME_EPOCH + timedelta(microseconds=sent // 10)) if sent else ""
    fields = [
        ("From", sender),
        ("To", message.text(_DISPLAY_TO)),
        ("Cc", message.text(_DISPLAY_CC)),
        ("Date", date),
        ("Subject", message.text(_SUBJECT)),
    ]
    return [f"{field}: {value}" for field, value in fields if value]


def _body(message: _Properties, notes: list[str]) -> str:
    """The plain body, else the HTML body read as a web page."""
    plain = message.string(_BODY)
    if plain.strip():
        return tidy(plain)
    html = message.raw(_HTML, _BINARY)
    if html is not None:
        return html_body_text(html.decode(_html_encoding(html, message.encoding), "replace"), notes)
    if message.string(_HTML).strip():
        return html_body_text(message.string(_HTML), notes)
    if message.raw(_RTF, _BINARY) is not None:
        raise LoaderError(
            "the message's body is stored only as RTF, which is not read; open it in "
            "Outlook and save it again as .eml, or forward it as HTML or plain text"
        )
    notes.append("the message has no text body")
    return ""


def _html_encoding(html: bytes, fallback: str) -> str:
    """The charset an HTML body declares in its first bytes, else the message's."""
    head = html[:2048].lower()
    at = head.find(b"charset=")
    if at < 0:
        return fallback
    name = head[at + 8 : at + 40].strip(b"\"' ").split(b'"')[0].split(b";")[0].split(b">")[0]
    candidate = name.decode("ascii", "replace").strip()
    try:
        "".encode(candidate)
    except LookupError:
        return fallback
    return candidate


def _attachments(ole: olefile.OleFileIO) -> list[tuple[str, bytes]]:
    """Each attachment's file name and bytes, in order (no bytes for an attached message)."""
    storages = sorted(
        {entry[0] for entry in ole.listdir(streams=True, storages=True)
         if entry[0].startswith("__attach_version1.0_#")}
    )  # fmt: skip
    files = []
    for storage in storages:
        part = _Properties(ole, [storage])
        name = (
            part.text(_ATTACH_LONG_NAME)
            or part.text(_ATTACH_NAME)
            or part.text(_ATTACH_DISPLAY)
            or "an attachment"
        )
        files.append((name, part.raw(_ATTACH_DATA, _BINARY) or b""))
    return files
