"""Read rights from NTFS DACLs: a principal Docent labels as a reader is one every member of
which Windows' access check lets read, whatever other groups the member is in."""

from __future__ import annotations

import struct
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.acl import (
    EVERYONE,
    INHERIT_ONLY_ACE,
    Ace,
    PrincipalMap,
    parse_descriptor,
    principal_label,
    readers,
)
from models.errors import DocentError

LEGAL, HR, ALICE, BOB, OTHER = (f"S-1-5-21-9-9-9-{n}" for n in (1101, 1102, 1201, 1202, 1301))
PRINCIPALS = PrincipalMap({LEGAL: "@legal", HR: "@hr", ALICE: "alice", BOB: "bob"})
SIDS = [LEGAL, HR, ALICE, BOB, OTHER, EVERYONE]
ACES = st.builds(
    Ace,
    st.booleans(),
    st.sampled_from(SIDS),
    st.sampled_from([0x1, 0x80000000, 0x10000000, 0x2, 0x1200A9, 0x1F01FF]),
    st.sampled_from([0, 0x10, INHERIT_ONLY_ACE]),
)


def windows_reads(aces: list[Ace], token: set[str]) -> bool:
    """Windows' access check for FILE_READ_DATA alone: the first entry naming the token that
    grants or denies it decides (entries for what a folder will hold do not apply)."""
    for ace in aces:
        if ace.flags & INHERIT_ONLY_ACE or not ace.mask & (0x1 | 0x80000000 | 0x10000000):
            continue
        if ace.sid in token:
            return ace.allow
    return False


def tokens(sid: str) -> list[set[str]]:
    """Every token a holder of ``sid`` may carry here: a user is no other user."""
    users = {ALICE, BOB}
    others = [s for s in (LEGAL, HR, OTHER, ALICE, BOB) if s != sid]
    if sid in users:
        others = [s for s in others if s not in users]
    return [
        {sid, EVERYONE, "S-1-5-11", *extra}
        for n in range(len(others) + 1)
        for extra in combinations(others, n)
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(ACES, max_size=6))
def test_a_principal_labelled_a_reader_is_let_read_by_every_token_it_may_carry(
    aces: list[Ace],
) -> None:
    allowed, why = readers(aces, PRINCIPALS)
    for sid, principal in PRINCIPALS.principals.items():
        if principal in allowed:
            assert all(windows_reads(aces, token) for token in tokens(sid)), principal
    assert bool(allowed) != bool(why)


def test_a_deny_for_a_group_blocks_groups_and_a_deny_for_a_user_only_that_user() -> None:
    read = 0x1200A9
    group_denied = [Ace(False, HR, read), Ace(True, LEGAL, read), Ace(True, ALICE, read)]
    assert readers(group_denied, PRINCIPALS)[0] == []
    user_denied = [Ace(False, BOB, read), Ace(True, LEGAL, read), Ace(True, ALICE, read)]
    assert readers(user_denied, PRINCIPALS)[0] == ["alice"]
    assert readers([Ace(True, EVERYONE, read)], PRINCIPALS)[0] == ["@hr", "@legal", "alice", "bob"]
    assert readers(None, PRINCIPALS)[0] == ["@hr", "@legal", "alice", "bob"]
    assert readers([], PRINCIPALS) == ([], "the share lets no mapped principal read it")


def _sid(text: str) -> bytes:
    parts = [int(p) for p in text.split("-")[1:]]
    subs = parts[2:]
    return (
        bytes([parts[0], len(subs)])
        + parts[1].to_bytes(6, "big")
        + struct.pack(f"<{len(subs)}I", *subs)
    )


def test_a_security_descriptor_is_read_entry_by_entry() -> None:
    entries = b""
    for kind, flags, mask, sid in ((1, 0x10, 0x1, HR), (0, 0, 0x1200A9, LEGAL), (0x0A, 0, 1, "")):
        body = struct.pack("<I", mask) + (_sid(sid) if sid else b"\0" * 8)
        entries += struct.pack("<BBH", kind, flags, 4 + len(body)) + body
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(entries), 3, 0) + entries
    descriptor = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + dacl

    aces = parse_descriptor(descriptor)

    assert aces is not None and [(a.allow, a.sid, a.flags) for a in aces] == [
        (False, HR, 0x10),
        (True, LEGAL, 0),
        (False, "(a conditional deny entry)", 0),
    ]
    assert parse_descriptor(struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0)) is None
    with pytest.raises(ValueError):
        parse_descriptor(descriptor[:30])


def test_principals_are_sids_or_well_known_names_and_name_their_labels() -> None:
    assert PrincipalMap({"Everyone": "@staff"}).principals == {EVERYONE: "@staff"}
    assert principal_label("@legal") == "nt:legal" and principal_label("alice") == "nt:u:alice"
    with pytest.raises(DocentError, match="cannot be resolved"):
        PrincipalMap({"CORP\\lawyers": "@legal"})
    resolved = PrincipalMap({"CORP\\lawyers": "@legal"}, resolve=lambda name: LEGAL)
    assert resolved.principals == {LEGAL: "@legal"}
    with pytest.raises(DocentError, match="not a Docent user"):
        PrincipalMap({LEGAL: "Legal Team"})
