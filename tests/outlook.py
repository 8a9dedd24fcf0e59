"""Outlook .msg files for the tests, written as [MS-OXMSG] lays them out.

No program on Debian saves .msg files; the compound file itself is written by Perl's
OLE::Storage_Lite (Debian's libole-storage-lite-perl, the writer behind
Spreadsheet::WriteExcel's .xls files), holding the MAPI property streams Outlook writes:
``__substg1.0_TTTTKKKK`` for strings and binaries, ``__properties_version1.0`` for dates,
``__attach_version1.0_#N`` storages for attachments.
"""

from __future__ import annotations

import json
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from tests.system import require

MODULE = Path("/usr/share/perl5/OLE/Storage_Lite.pm")
PACKAGE = "libole-storage-lite-perl"

_WRITER = r"""
use strict; use warnings;
use OLE::Storage_Lite;
use JSON::PP;
local $/;
my $spec = decode_json(<STDIN>);
sub build {
    my ($node) = @_;
    my @children;
    for my $name (sort keys %{$node->{streams}}) {
        push @children, OLE::Storage_Lite::PPS::File->new(
            OLE::Storage_Lite::Asc2Ucs($name), pack("H*", $node->{streams}{$name}));
    }
    for my $name (sort keys %{$node->{storages}}) {
        push @children, OLE::Storage_Lite::PPS::Dir->new(
            OLE::Storage_Lite::Asc2Ucs($name), undef, undef, build($node->{storages}{$name}));
    }
    return \@children;
}
OLE::Storage_Lite::PPS::Root->new(undef, undef, build($spec->{root}))->save($spec->{path})
    or die "cannot write $spec->{path}";
"""

Streams = dict[str, bytes]


def unicode(tag: str, value: str) -> Streams:
    """A string property (PT_UNICODE) stream."""
    return {f"__substg1.0_{tag}001F": value.encode("utf-16-le")}


def string8(tag: str, value: str, encoding: str = "cp1252") -> Streams:
    """A string property in the message's code page (PT_STRING8)."""
    return {f"__substg1.0_{tag}001E": value.encode(encoding)}


def binary(tag: str, value: bytes) -> Streams:
    """A binary property (PT_BINARY) stream."""
    return {f"__substg1.0_{tag}0102": value}


def properties(sent: datetime | None = None, codepage: int | None = None) -> Streams:
    """The top-level message's fixed-size properties: the time sent, the code page."""
    entries = b""
    if sent is not None:
        ticks = int((sent - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10**7)
        entries += struct.pack("<IIQ", 0x00390040, 6, ticks)  # PR_CLIENT_SUBMIT_TIME
    if codepage is not None:
        entries += struct.pack("<IIQ", 0x3FFD0003, 6, codepage)  # PR_MESSAGE_CODEPAGE
    header = bytes(8) + struct.pack("<IIII", 0, 0, 0, 0) + bytes(8)
    return {"__properties_version1.0": header + entries}


def attachment(name: str, data: bytes) -> Streams:
    """An attachment storage's streams: its long file name and its bytes."""
    return {
        **unicode("3707", name),
        **binary("3701", data),
        "__properties_version1.0": bytes(8),
    }


def write_msg(path: Path, streams: Streams, attachments: list[Streams]) -> Path:
    """Write a .msg file of these property streams and attachment storages."""
    require("perl", PACKAGE)
    require(MODULE, PACKAGE)
    storages = {f"__attach_version1.0_#{n:08X}": a for n, a in enumerate(attachments)}
    spec = {
        "path": str(path),
        "root": {
            "streams": {name: data.hex() for name, data in streams.items()},
            "storages": {
                name: {"streams": {k: v.hex() for k, v in part.items()}, "storages": {}}
                for name, part in storages.items()
            },
        },
    }
    subprocess.run(["perl", "-e", _WRITER], input=json.dumps(spec).encode(), check=True, timeout=60)
    return path
