"""An SMB share as an ingest's source (``ingest.source.Source``), through smbprotocol.

``docent ingest smb://server[:port]/share/folder`` walks the share with ``smbclient`` (the
size and last-write time of each file come with the folder's listing, so an unchanged run
reads no file), copies each file it must parse into a private spool while hashing it (the
parser needs a path; the copy is removed once parsed, so at most the files in flight are
on local disk), and with a ``PrincipalMap`` reads each file's DACL for its access labels.

Only the named server is contacted: NTLM is used (Kerberos would ask a KDC) and DFS
referrals, which could send the client to other servers, are not followed. Credentials
come from a file or the environment through the settings, never from the command line.

A failure of one file (access denied, deleted meanwhile) fails that file; any other
failure (the server stopped, the connection dropped) raises ``SourceUnavailable`` and ends
the run, with nothing taken for gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from ingest.acl import PrincipalMap, parse_descriptor, principal_label, readers
from ingest.source import Readable, SourceFile, SourceUnavailable
from models.errors import DocentError

_BLOCK = 1 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")


@dataclass(frozen=True)
class SmbCredentials:
    """The account Docent reads the share as (a read-only account is enough).

    ``repr`` never shows the password.
    """

    username: str
    password: str = field(repr=False)
    domain: str = ""

    @property
    def login(self) -> str:
        """The user name as NTLM takes it (``DOMAIN\\user`` when a domain is set)."""
        return f"{self.domain}\\{self.username}" if self.domain else self.username


def read_credentials_file(path: Path) -> SmbCredentials:
    """Credentials from a file in smbclient's ``-A`` format (``username=``, ``password=``,
    ``domain=`` lines), which should be readable by Docent's account alone.

    Raises:
        DocentError: The file is missing or names no user.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DocentError(
            f"Cannot read the SMB credentials file {path} ({error.strerror}).",
            hint="set smb_credentials_file to a file of username=, password= and domain= lines",
        ) from error
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip().lower()] = value.strip()
    if not values.get("username"):
        raise DocentError(
            f"The SMB credentials file {path} has no username= line.",
            hint="write username=, password= and domain= lines, one each",
        )
    return SmbCredentials(values["username"], values.get("password", ""), values.get("domain", ""))


@dataclass(frozen=True)
class ShareAddress:
    """``smb://server[:port]/share[/folder]``, parsed.

    Raises:
        DocentError: The address names no share, or carries credentials.
    """

    server: str
    port: int
    share: str
    folder: str  # within the share, ``/``-separated, "" for its top

    @classmethod
    def parse(cls, url: str) -> ShareAddress:
        """Parse an ``smb://`` address (see the class docstring)."""
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise DocentError(
                "An SMB address must not carry a user or password.",
                hint="put them in the file named by smb_credentials_file, or in "
                "DOCENT_SMB_USERNAME and DOCENT_SMB_PASSWORD",
            )
        names = [unquote(n) for n in parts.path.split("/") if n]
        if parts.scheme != "smb" or not parts.hostname or not names:
            raise DocentError(
                f"`{url}` is not an SMB share address.", hint="write smb://server/share/folder"
            )
        return cls(parts.hostname, parts.port or 445, names[0], "/".join(names[1:]))

    @property
    def root(self) -> str:
        """The address as registry rows name their root."""
        port = "" if self.port == 445 else f":{self.port}"
        folder = f"/{self.folder}" if self.folder else ""
        return f"smb://{self.server}{port}/{self.share}{folder}"

    def unc(self, source: str = "") -> str:
        """The UNC path of a file ``source`` below the folder (the folder itself for "")."""
        names = [n for n in f"{self.folder}/{source}".split("/") if n]
        return "\\\\" + "\\".join([self.server, self.share, *names])


class SmbShare:
    """A folder of an SMB share as an ingest's source.

    Args:
        url: ``smb://server[:port]/share/folder``.
        credentials: The account to read the share as.
        principals: Maps the DACLs' SIDs to Docent principals; when given, each file's
            labels are those of the principals that may read it (``ingest.acl``).
        timeout_seconds: How long a connection may take to open.

    Raises:
        DocentError: The address is invalid, the server cannot be reached, the sign-in is
            refused, or the folder does not exist.
    """

    def __init__(
        self,
        url: str,
        credentials: SmbCredentials,
        principals: PrincipalMap | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        import smbclient

        _wait_by_poll()
        self.address = ShareAddress.parse(url)
        self.principals = principals
        self._cache: dict[str, Any] = {}  # this source's own connections, closed by close()
        # What every call names its connection by (smbclient keys sessions by server:port).
        self._kw: dict[str, Any] = {"connection_cache": self._cache, "port": self.address.port}
        self._spool = Path(tempfile.mkdtemp(prefix="docent-smb-"))
        # No DFS: a referral could send the client to a server nobody configured.
        smbclient.ClientConfig(skip_dfs=True)
        try:
            smbclient.register_session(
                self.address.server,
                username=credentials.login,
                password=credentials.password,
                port=self.address.port,
                connection_timeout=int(timeout_seconds),
                connection_cache=self._cache,
                auth_protocol="ntlm",
            )
            top = smbclient.stat(self.address.unc(), **self._kw)
        except Exception as error:
            self.close()
            raise DocentError(
                f"Cannot open {self.address.root}: {_said(error)}.",
                hint="check the address, that the server answers, and the account in "
                "smb_credentials_file (or DOCENT_SMB_USERNAME / DOCENT_SMB_PASSWORD)",
            ) from error
        if not stat.S_ISDIR(top.st_mode):
            self.close()
            raise DocentError(
                f"{self.address.root} is a file; Docent ingests a share's folders.",
                hint="give the folder that holds it (smb://server/share/folder)",
            )

    def files(self) -> Iterator[SourceFile]:
        """Every file below the folder, hidden files and folders left out, in name order."""
        return self._walk("")

    def roots(self) -> set[str]:
        """The share folder, as its registry rows name it."""
        return {self.address.root}

    def read(self, file: SourceFile) -> Readable:
        """Copy the file into the spool while hashing it (removed by ``Readable.discard``).

        Raises:
            OSError: The file cannot be read, or was written to while it was copied.
            SourceUnavailable: The share stopped answering.
        """
        import smbclient

        suffix = PurePosixPath(file.source).suffix
        handle, name = tempfile.mkstemp(suffix=suffix, dir=self._spool)
        os.close(handle)  # reopened by name below: one descriptor a file would pile up
        spooled = Path(name)
        digest = hashlib.sha256()

        def copy() -> None:
            with (
                smbclient.open_file(
                    self.address.unc(file.source),
                    mode="rb",
                    share_access="rwd",
                    **self._kw,
                ) as remote,
                spooled.open("wb") as local,
            ):
                while block := remote.read(_BLOCK):
                    digest.update(block)
                    local.write(block)

        try:
            self._call(copy)
            after = self._call(lambda: self._stat(file.source))
        except BaseException:
            spooled.unlink(missing_ok=True)
            raise
        if (after.size, after.mtime_ns) != (file.size, file.mtime_ns):
            spooled.unlink(missing_ok=True)
            raise OSError("it was written to while it was read; it is read again next run")
        return Readable(digest.hexdigest(), spooled, spooled=True)

    def exists(self, root: str, source: str) -> bool:
        """Whether a registry row's file is there; a row of another share counts as there."""
        if root != self.address.root:
            return (Path(root) / source).exists() if "://" not in root else True
        try:
            self._call(lambda: self._stat(source))
        except OSError:
            return False
        return True

    def changed(self, file: SourceFile) -> bool:
        """Never: the parser reads the very bytes that were hashed (the spooled copy)."""
        return False

    def close(self) -> None:
        """Close this source's connections and remove its spool."""
        import smbclient

        with contextlib.suppress(Exception):
            smbclient.reset_connection_cache(fail_on_error=False, **self._kw)
        shutil.rmtree(self._spool, ignore_errors=True)

    def _walk(self, folder: str) -> Iterator[SourceFile]:
        import smbclient
        from smbprotocol.exceptions import SMBOSError

        unc = self.address.unc(folder)
        try:
            entries = self._call(
                lambda: sorted(smbclient.scandir(unc, **self._kw), key=lambda e: e.name)
            )
        except SMBOSError as error:
            # Its files would look deleted: the run stops rather than take them for gone.
            raise SourceUnavailable(
                f"Cannot list {self.address.root}/{folder} ({_said(error)}); the run stopped "
                "and nothing was taken for deleted.",
                hint="let the share's account list and read every folder to be indexed",
            ) from error
        for entry in entries:
            if entry.name.startswith("."):
                continue
            source = f"{folder}/{entry.name}" if folder else entry.name
            link = entry.is_symlink()
            if not link and entry.is_dir():
                yield from self._walk(source)
                continue
            info = entry.smb_info
            yield SourceFile(
                self.address.root,
                f"{self.address.root}/{source}",
                source,
                info.end_of_file,
                _ns(info.last_write_time),
                link,
                "",
                _ns(info.change_time),
                self._labels(source) if self.principals and not link else None,
            )

    def _labels(self, source: str) -> tuple[str, ...]:
        assert self.principals is not None
        descriptor = self._call(lambda: read_descriptor(self.address.unc(source), self._kw))
        try:
            aces = parse_descriptor(descriptor)
        except ValueError:
            return ()  # a DACL Docent cannot read lets no one read here
        allowed, _ = readers(aces, self.principals)
        return tuple(sorted(principal_label(p) for p in allowed))

    def _stat(self, source: str) -> _Stat:
        import smbclient

        found = smbclient.stat(self.address.unc(source), **self._kw)
        return _Stat(found.st_size, found.st_mtime_ns // 1000 * 1000)

    def _call(self, action: Callable[[], T]) -> T:
        """Run one SMB exchange: a file's own failure is an OSError, any other ends the run."""
        from smbprotocol.exceptions import SMBException, SMBOSError

        try:
            return action()
        except SMBOSError:
            raise
        # A dropped connection or refused reconnection: SMBException, or an OSError (socket)
        # or ValueError ("Failed to connect") from smbprotocol's transport.
        except (SMBException, OSError, ValueError) as error:
            raise SourceUnavailable(
                f"The share {self.address.root} stopped answering during the run "
                f"({_said(error)}); the index is left as it was for every file not yet "
                "read, and nothing was taken for deleted.",
                hint="run the same ingest again once the share is back",
            ) from error


@dataclass(frozen=True, slots=True)
class _Stat:
    size: int
    mtime_ns: int


def read_descriptor(unc: str, connection: dict[str, Any]) -> bytes:
    """A file's security descriptor with its DACL (self-relative, as the server sends it)."""
    from smbclient._io import SMBFileTransaction, SMBRawIO
    from smbprotocol.file_info import InfoType
    from smbprotocol.open import (
        InfoAdditionalInformation,
        SMB2QueryInfoRequest,
        SMB2QueryInfoResponse,
    )

    raw = SMBRawIO(unc, mode="r", share_access="rwd", desired_access=0x00020000, **connection)
    request = SMB2QueryInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["output_buffer_length"] = 65536
    request["additional_information"] = InfoAdditionalInformation.DACL_SECURITY_INFORMATION

    def receive(sent: Any) -> bytes:
        response = SMB2QueryInfoResponse()
        response.unpack(raw.fd.connection.receive(sent)["data"].get_value())
        return bytes(response["buffer"].get_value())

    request["file_id"] = raw.fd.file_id
    with SMBFileTransaction(raw) as transaction:
        transaction += (request, receive)
    return bytes(transaction.results[0])


def _ns(moment: datetime) -> int:
    """A listing's time as nanoseconds since the epoch (SMB keeps 100 ns; this, 1 µs)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _said(error: BaseException) -> str:
    return str(error) or type(error).__name__


class _PollSelect:
    """``select.select`` for smbprotocol's socket, waited on with ``poll``: ``select``
    refuses a descriptor numbered 1024 or above ("filedescriptor out of range in
    select()"), which a long-running process holding many files open (the server, the
    scheduler) reaches, and then no share could be read."""

    @staticmethod
    def select(
        rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
    ) -> tuple[list[Any], list[Any], list[Any]]:
        import select

        poller = select.poll()
        for sock in rlist:
            poller.register(sock, select.POLLIN | select.POLLPRI)
        ready = {fd for fd, _ in poller.poll(None if timeout is None else timeout * 1000)}
        # A hang-up or error counts as readable: the read that follows sees it.
        return [sock for sock in rlist if sock.fileno() in ready], [], []


def _wait_by_poll() -> None:
    """Make smbprotocol wait on its socket with ``poll`` (``_PollSelect``)."""
    from smbprotocol import transport

    transport.select = _PollSelect  # type: ignore[assignment]
