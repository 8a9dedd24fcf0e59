"""Who may read a file, from its NTFS DACL, as Docent principals and access labels.

A file's DACL on a Windows or Samba share already holds the entries it inherits from its
folders (flagged ``INHERITED_ACE``, placed after its own explicit entries), so the
effective read right is found as Windows' access check finds it: the entries that apply
to the file itself (``INHERIT_ONLY_ACE`` ones apply only to what a folder will hold) are
read in order, and for one reader the first entry that names a SID of theirs and grants
or denies reading (``FILE_READ_DATA``, or ``GENERIC_READ`` / ``GENERIC_ALL``) decides. A
file without a DACL may be read by everyone; an empty DACL lets no one read.

Docent does not see a reader's whole token (which groups each member of a group is also
in), so a deny entry is honoured on the safe side: a deny for a SID that a member of a
mapped principal might hold blocks that principal whatever follows. Only a deny naming
another mapped user cannot reach a mapped user. A directory that knows memberships can
narrow this later; the safe side never lets someone read what the share denies them.

SIDs become Docent principals through a ``PrincipalMap`` (from the ``smb_principals``
setting: a SID, or a well-known name, to ``@group`` or a user name); each principal reads
one access label (``principal_label``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from models.errors import DocentError

FILE_READ_DATA = 0x00000001
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
READ_RIGHTS = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL
INHERIT_ONLY_ACE = 0x08
_DACL_PRESENT = 0x0004
# ACCESS_DENIED_OBJECT, ACCESS_DENIED_CALLBACK, ACCESS_DENIED_CALLBACK_OBJECT.
_OTHER_DENIES = frozenset({0x06, 0x0A, 0x0C})
EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
# SIDs every signed-in member of any principal holds.
_UNIVERSAL = frozenset({EVERYONE, AUTHENTICATED_USERS})
WELL_KNOWN = {
    "everyone": EVERYONE,
    "nt authority\\authenticated users": AUTHENTICATED_USERS,
    "builtin\\users": "S-1-5-32-545",
    "builtin\\administrators": "S-1-5-32-544",
}
_SID = re.compile(r"^S-1-\d+(-\d+)+$")
_PRINCIPAL = re.compile(r"^@?[a-z0-9][a-z0-9._-]{0,62}$")
LABEL_PREFIX = "nt:"


@dataclass(frozen=True, slots=True)
class Ace:
    """One entry of a DACL.

    Attributes:
        allow: An allow entry (False: a deny entry).
        sid: The SID it names.
        mask: The rights it grants or denies.
        flags: Its ACE flags (inheritance).
    """

    allow: bool
    sid: str
    mask: int
    flags: int = 0


def principal_label(principal: str) -> str:
    """The access label a principal reads in share-labelled collections.

    ``@legal`` reads ``nt:legal``; the user ``alice`` reads ``nt:u:alice`` (a group name
    cannot hold ``:``, so the two never meet).
    """
    if principal.startswith("@"):
        return LABEL_PREFIX + principal[1:]
    return f"{LABEL_PREFIX}u:{principal}"


def parse_descriptor(data: bytes) -> list[Ace] | None:
    """The DACL of a self-relative security descriptor ([MS-DTYP] 2.4.6), entries in order.

    None when the descriptor has no DACL (everyone may read). Entries other than plain
    allow and deny are kept as a deny for every reader when they are of a deny kind
    (object and callback ACEs carry conditions Docent cannot judge) and left out otherwise.

    Raises:
        ValueError: The bytes are not a security descriptor.
    """
    try:
        control, dacl_at = struct.unpack_from("<H12xI", data, 2)
        if not control & _DACL_PRESENT or dacl_at == 0:
            return None
        count = struct.unpack_from("<H", data, dacl_at + 4)[0]
        aces, at = [], dacl_at + 8
        for _ in range(count):
            kind, flags, size, mask = struct.unpack_from("<BBHI", data, at)
            if kind in (0, 1):
                aces.append(Ace(kind == 0, _sid(data, at + 8), mask, flags))
            elif kind in _OTHER_DENIES:
                aces.append(Ace(False, "(a conditional deny entry)", READ_RIGHTS, flags))
            if size < 8:
                raise ValueError("an ACE shorter than its header")
            at += size
    except struct.error as error:
        raise ValueError(f"not a security descriptor ({error})") from error
    return aces


def _sid(data: bytes, at: int) -> str:
    """The SID at ``at`` in its string form (S-1-5-21-...)."""
    revision, count = struct.unpack_from("<BB", data, at)
    authority = int.from_bytes(data[at + 2 : at + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, at + 8)
    return "-".join(["S", str(revision), str(authority), *map(str, subs)])


SidResolver = Callable[[str], str | None]
"""A SID for a ``DOMAIN\\name`` (None: unknown): the directory's, when one is configured."""


class PrincipalMap:
    """SIDs of the share and the Docent principals they stand for.

    Args:
        mapping: SID or ``DOMAIN\\name`` -> ``@group`` or user name.
        resolve: Finds the SID of a ``DOMAIN\\name`` that is not well known (the
            directory's lookup); without it such a name is refused.

    Raises:
        DocentError: A key is neither a SID nor a name that can be resolved, or a value is
            not a principal.
    """

    def __init__(self, mapping: Mapping[str, str], resolve: SidResolver | None = None) -> None:
        self.principals: dict[str, str] = {}
        for key, principal in mapping.items():
            if not _PRINCIPAL.fullmatch(principal) or len(principal_label(principal)) > 63:
                raise DocentError(
                    f"smb_principals: `{principal}` is not a Docent user or @group name.",
                    hint="map each SID to a user name (alice) or a group (@legal), "
                    "lowercase, at most 57 characters",
                )
            self.principals[_sid_of(key, resolve)] = principal

    @property
    def users(self) -> frozenset[str]:
        """The SIDs mapped to a user (not a group)."""
        return frozenset(s for s, p in self.principals.items() if not p.startswith("@"))

    def labels(self) -> dict[str, str]:
        """Each principal and the label it reads."""
        return {p: principal_label(p) for p in sorted(set(self.principals.values()))}


def _sid_of(key: str, resolve: SidResolver | None) -> str:
    if _SID.fullmatch(key):
        return key
    sid = WELL_KNOWN.get(key.lower()) or (resolve(key) if resolve else None)
    if sid is None:
        raise DocentError(
            f"smb_principals: `{key}` is not a SID and cannot be resolved to one.",
            hint="give its SID (S-1-5-21-...; `smbcacls --numeric` shows them); "
            "only well-known names (Everyone, BUILTIN\\Users) are known without one",
        )
    return sid


def readers(aces: Sequence[Ace] | None, principals: PrincipalMap) -> tuple[list[str], str]:
    """The principals that may read a file with this DACL, and why none may (or "").

    Args:
        aces: The DACL in order; None when the file has none (everyone may read).
        principals: The mapped SIDs.
    """
    mapped = principals.principals
    if aces is None:
        return sorted(set(mapped.values())), ""
    effective = [a for a in aces if not a.flags & INHERIT_ONLY_ACE and a.mask & READ_RIGHTS]
    allowed: set[str] = set()
    blocked: dict[str, str] = {}
    for sid, principal in mapped.items():
        decided = _decide(effective, sid, is_user=sid in principals.users, users=principals.users)
        if decided is True:
            allowed.add(principal)
        elif decided:
            blocked[principal] = decided
    # A principal two SIDs map to reads only if neither is denied.
    allowed -= set(blocked)
    if allowed:
        return sorted(allowed), ""
    if blocked:
        why = "; ".join(f"{p} by a deny entry for {s}" for p, s in sorted(blocked.items()))
        return [], f"the share denies reading to every mapped principal ({why})"
    return [], "the share lets no mapped principal read it"


def _decide(
    effective: Iterable[Ace], sid: str, *, is_user: bool, users: frozenset[str]
) -> bool | str:
    """True when ``sid``'s holders may read; the denying SID when a deny blocks them; else False."""
    token = _UNIVERSAL | {sid}
    for ace in effective:
        if ace.sid in token:
            return True if ace.allow else ace.sid
        # A deny for a SID some holder might also have (a group, or a user in the group).
        if not ace.allow and not (is_user and ace.sid in users):
            return ace.sid
    return False
