"""The site's LDAP directory (OpenLDAP, Active Directory): who may sign in, and their groups.

Docent speaks to one configured server through ``ldap3`` and never in clear: an
``ldaps://`` address is TLS from the first byte, an ``ldap://`` one is upgraded with
StartTLS before any bind, and the server's certificate is checked against
``ldap_ca_file`` (or the system's CAs) and its name. Plain LDAP is spoken only where the
site set ``ldap_insecure`` (a test directory, a lab).

A service account (``ldap_bind_dn``) searches; its password comes from a file or the
environment, never the command line. A person signs in by binding as themselves with the
password they typed, after the service account found exactly one entry of that name
under ``ldap_user_base`` matching ``ldap_user_filter``; the filter is where a site leaves
out disabled accounts (Active Directory: ``userAccountControl``), so a disabled person is
not found. Groups are the entries under ``ldap_group_base`` matching
``ldap_group_filter`` whose ``ldap_member_attribute`` holds the person's DN, and the
groups those groups are members of, to any depth (cycles are followed once).

A group's name becomes a Docent group name: lowercase ASCII, other characters as ``-``
(``Board Members`` is ``@board-members``). Nothing here touches Docent's own files: the
caller (``app.auth.directory_accounts``) mirrors what is found into the accounts.
"""

from __future__ import annotations

import math
import re
import ssl
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.auth.accounts import SignInError, validate_name
from models.errors import DocentError

if TYPE_CHECKING:
    from ldap3 import Connection

_PAGE = 500


class DirectoryError(DocentError):
    """The directory cannot be used: unreachable, refused TLS, or settings it rejects."""


class DirectoryUnavailable(SignInError):
    """A sign-in through the directory could not be checked (the server did not answer)."""


@dataclass(frozen=True)
class DirectoryConfig:
    """Where the directory is and how people and groups are found in it.

    Attributes:
        url: ``ldaps://host[:port]`` or ``ldap://host[:port]`` (StartTLS).
        ca_file: PEM file of the CA(s) that signed the server's certificate; None: system CAs.
        insecure: Speak plain LDAP to an ``ldap://`` address (tests only).
        bind_dn: The service account that searches.
        bind_password: Its password (from the environment), if not in ``bind_password_file``.
        bind_password_file: A file holding the service account's password.
        user_base: Where people are searched.
        user_filter: Which entries are people who may sign in (leave out disabled ones).
        user_attribute: The attribute holding the sign-in name (``uid``, ``sAMAccountName``).
        id_attribute: A stable id of a person (``entryUUID``, ``objectGUID``).
        group_base: Where groups are searched.
        group_filter: Which entries are groups.
        group_name_attribute: The attribute a Docent group's name is made from.
        member_attribute: The group attribute holding its members' DNs.
        timeout_seconds: Longest wait for the server to connect or answer.
    """

    url: str = ""
    bind_dn: str = ""
    user_base: str = ""
    group_base: str = ""
    ca_file: Path | None = None
    insecure: bool = False
    bind_password: str = ""
    bind_password_file: Path | None = None
    user_filter: str = "(objectClass=inetOrgPerson)"
    user_attribute: str = "uid"
    id_attribute: str = "entryUUID"
    group_filter: str = "(objectClass=groupOfNames)"
    group_name_attribute: str = "cn"
    member_attribute: str = "member"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class DirectoryPerson:
    """A person as the directory holds them now.

    Attributes:
        name: Their Docent user name (the sign-in attribute, lowercase).
        dn: Their entry's distinguished name.
        id: A stable id of the entry, so a name reused by someone else is told apart.
        groups: Their Docent group names, nested groups included.
    """

    name: str
    dn: str
    id: str
    groups: tuple[str, ...]


def group_name(value: str) -> str | None:
    """The Docent group name a directory group's name becomes (None: nothing usable)."""
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9._-]+", "-", ascii_only.lower()).strip("-._")[:63].rstrip("-._")
    return name or None


def _key(dn: str) -> str:
    """A DN as a dictionary key: its parts, lowercase, without the spaces around them."""
    from ldap3.utils.dn import parse_dn

    try:
        return ",".join(f"{a.lower()}={v.lower()}" for a, v, _ in parse_dn(dn))
    except Exception:  # a value ldap3 cannot parse still names one entry
        return dn.lower()


def _first(entry: dict[str, Any], attribute: str) -> str:
    values = entry.get("raw_attributes", {}).get(attribute) or [b""]
    raw = values[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return str(raw.hex())  # a binary id (Active Directory's objectGUID)
    return text if text.isprintable() else str(raw.hex())


class Directory:
    """The site's directory, reached through one server.

    Args:
        config: Where it is and how to search it.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        parts = urlsplit(config.url)
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "ldaps"
        self.port = parts.port or (636 if self.tls else 389)

    def _password(self) -> str:
        if self.config.bind_password_file is None:
            return self.config.bind_password
        try:
            return self.config.bind_password_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise DirectoryError(
                f"Cannot read the directory service account's password: {error}.",
                hint="check `ldap_bind_password_file`",
            ) from None

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection bound as the service account, over TLS unless ``insecure``."""
        import ldap3
        from ldap3.core.exceptions import LDAPException, LDAPInvalidCredentialsResult

        config = self.config
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(config.ca_file) if config.ca_file else None,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
        server = ldap3.Server(
            self.host,
            port=self.port,
            use_ssl=self.tls,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=config.timeout_seconds,
        )
        # An ldap:// address is upgraded with StartTLS before any bind, unless `insecure`.
        upgrade = not (self.tls or config.insecure)
        try:
            connection = ldap3.Connection(
                server,
                user=config.bind_dn,
                password=self._password(),
                auto_bind=ldap3.AUTO_BIND_TLS_BEFORE_BIND if upgrade else ldap3.AUTO_BIND_NO_TLS,
                raise_exceptions=True,
                # Whole seconds: ldap3 packs it into SO_RCVTIMEO.
                receive_timeout=math.ceil(config.timeout_seconds),
                read_only=True,
            )
        except LDAPInvalidCredentialsResult:
            raise DirectoryError(
                "The directory refused Docent's service account.",
                hint="check `ldap_bind_dn` and its password (`ldap_bind_password_file`)",
            ) from None
        except LDAPException as error:
            raise self._unreachable(error) from None
        try:
            yield connection
        except LDAPException as error:
            raise self._unreachable(error) from None
        finally:
            connection.unbind()

    def _unreachable(self, error: Exception) -> DirectoryUnavailable:
        how = "LDAPS" if self.tls else "plain LDAP" if self.config.insecure else "StartTLS"
        return DirectoryUnavailable(
            f"The directory at {self.config.url} could not be used over {how}: "
            f"{type(error).__name__}: {error}",
            hint="check that the server is up and its certificate is signed by `ldap_ca_file`; "
            "Docent never sends passwords over plain LDAP unless `ldap_insecure` is set "
            "(tests only). Local accounts still sign in",
        )

    def check(self) -> None:
        """Bind as the service account and read the entries the searches start from.

        Raises:
            DirectoryError: A base entry does not exist, or the service account is refused.
            DirectoryUnavailable: The server could not be reached or refused TLS.
        """
        from ldap3 import BASE
        from ldap3.core.exceptions import LDAPNoSuchObjectResult

        with self._connection() as connection:
            for setting, base in (
                ("ldap_user_base", self.config.user_base),
                ("ldap_group_base", self.config.group_base),
            ):
                try:
                    if base:
                        connection.search(base, "(objectClass=*)", BASE, attributes=[])
                except LDAPNoSuchObjectResult:
                    raise DirectoryError(
                        f"The directory has no entry `{base}`.", hint=f"check `{setting}`"
                    ) from None

    def authenticate(self, name: str, password: str) -> DirectoryPerson:
        """The person whose name and password these are, with their groups.

        Raises:
            SignInError: No such (enabled) person, or a wrong password (one message).
            DirectoryUnavailable: The server could not be reached or refused TLS.
        """
        from ldap3.core.exceptions import LDAPInvalidCredentialsResult

        refused = SignInError("Wrong user name or password.")
        if not password:
            raise refused  # an empty password would be an unauthenticated bind: no check
        with self._connection() as connection:
            found = self._find(connection, name)
            if found is None:
                raise refused
            try:
                connection.rebind(found["dn"], password)
            except LDAPInvalidCredentialsResult:
                raise refused from None
            connection.rebind(self.config.bind_dn, self._password())
            return self._person(connection, found)

    def person(self, name: str) -> DirectoryPerson | None:
        """The enabled person of that name and their groups, or None (no password checked).

        Raises:
            DirectoryUnavailable: The server could not be reached or refused TLS.
        """
        with self._connection() as connection:
            found = self._find(connection, name)
            return None if found is None else self._person(connection, found)

    def people(self) -> tuple[list[DirectoryPerson], int]:
        """Every enabled person with a usable name, and how many groups there are.

        Raises:
            DirectoryUnavailable: The server could not be reached or refused TLS.
        """
        config = self.config
        with self._connection() as connection:
            attributes = [config.user_attribute, config.id_attribute]
            entries = self._search(connection, config.user_base, config.user_filter, attributes)
            groups = self._groups(connection) if config.group_base else {}
        parents: dict[str, set[str]] = {}
        for dn, (_, members) in groups.items():
            for member in members:
                parents.setdefault(member, set()).add(dn)
        counts = Counter(_first(entry, config.user_attribute).lower() for entry in entries)
        found = []
        for entry in entries:
            name = _first(entry, config.user_attribute).lower()
            # Two entries of one name: neither is that account (as at sign-in).
            if _usable(name) and counts[name] == 1:
                held = _closure(_key(entry["dn"]), parents)
                member_of = tuple(sorted({n for dn in held if (n := groups[dn][0])}))
                found.append(self._made(entry, member_of))
        return found, len(groups)

    def _made(self, entry: dict[str, Any], groups: tuple[str, ...]) -> DirectoryPerson:
        name = _first(entry, self.config.user_attribute).lower()
        return DirectoryPerson(name, entry["dn"], _first(entry, self.config.id_attribute), groups)

    def _search(
        self, connection: Connection, base: str, query: str, attributes: list[str]
    ) -> list[dict[str, Any]]:
        """Every entry under ``base`` that ``query`` matches, read a page at a time."""
        from ldap3 import SUBTREE

        entries = connection.extend.standard.paged_search(
            base, query, SUBTREE, attributes=attributes, paged_size=_PAGE, generator=False
        )
        # ldap3 ends a paged search cut short by the server's limit without raising: a
        # partial list would read as people removed, and disable them.
        result = connection.result or {}
        if result.get("result", 0) not in (0, None):
            raise DirectoryError(
                f"The directory stopped the search under {base} before its end "
                f"({result.get('description') or result.get('result')}): Docent saw "
                f"{sum(e.get('type') == 'searchResEntry' for e in entries)} entries of more.",
                hint="raise the server's size and time limits for `ldap_bind_dn` (OpenLDAP: a "
                '`limits dn.exact="<bind dn>" size=unlimited time=unlimited` line; Active '
                "Directory: MaxPageSize and MaxResultSetSize) or narrow `ldap_user_filter`; "
                "nothing was changed",
            )
        return [e for e in entries if e.get("type") == "searchResEntry"]

    def _find(self, connection: Connection, name: str) -> dict[str, Any] | None:
        """The one entry of that sign-in name the user filter admits, or None."""
        from ldap3.utils.conv import escape_filter_chars

        if not _usable(name):
            return None
        config = self.config
        query = f"(&{config.user_filter}({config.user_attribute}={escape_filter_chars(name)}))"
        attributes = [config.user_attribute, config.id_attribute]
        entries = self._search(connection, config.user_base, query, attributes)
        # Two entries of one name: which is meant cannot be told, so neither signs in.
        return entries[0] if len(entries) == 1 else None

    def _person(self, connection: Connection, entry: dict[str, Any]) -> DirectoryPerson:
        """The person of ``entry``, with the groups they are in, nested groups resolved."""
        from ldap3.utils.conv import escape_filter_chars

        config = self.config
        names: set[str] = set()
        seen: set[str] = set()
        level = [entry["dn"]]
        while level and config.group_base:
            member = config.member_attribute
            either = "".join(f"({member}={escape_filter_chars(dn)})" for dn in level)
            query = f"(&{config.group_filter}(|{either}))"
            found = self._search(
                connection, config.group_base, query, [config.group_name_attribute]
            )
            level = [g["dn"] for g in found if _key(g["dn"]) not in seen]
            seen.update(_key(dn) for dn in level)
            names.update(
                n
                for g in found
                if (n := group_name(_first(g, config.group_name_attribute))) is not None
            )
        return self._made(entry, tuple(sorted(names)))

    def _groups(self, connection: Connection) -> dict[str, tuple[str | None, list[str]]]:
        """Every group by its DN's key: its Docent name and its members' keys."""
        config = self.config
        attributes = [config.group_name_attribute, config.member_attribute]
        entries = self._search(connection, config.group_base, config.group_filter, attributes)
        return {
            _key(entry["dn"]): (
                group_name(_first(entry, config.group_name_attribute)),
                [_key(m.decode("utf-8", "replace")) for m in _values(entry, config)],
            )
            for entry in entries
        }


def _values(entry: dict[str, Any], config: DirectoryConfig) -> list[bytes]:
    raw: dict[str, list[bytes]] = entry.get("raw_attributes", {})
    return list(raw.get(config.member_attribute, []))


def _usable(name: str) -> bool:
    try:
        validate_name(name)
    except DocentError:
        return False
    return True


def _closure(start: str, parents: dict[str, set[str]]) -> set[str]:
    """The groups ``start`` is in, directly or through other groups (each visited once)."""
    held: set[str] = set()
    level: Iterable[str] = parents.get(start, ())
    while level:
        fresh = {dn for dn in level if dn not in held}
        held.update(fresh)
        level = {parent for dn in fresh for parent in parents.get(dn, ())}
    return held
