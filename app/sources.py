"""Where an ingest reads from: local paths as they are, or an SMB share built from settings.

The share's account comes from ``smb_credentials_file`` or from ``DOCENT_SMB_USERNAME`` /
``DOCENT_SMB_PASSWORD`` (never from the command line, where any local user could read it
in the process list); its SIDs map to Docent principals through ``smb_principals``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import DocentError

if TYPE_CHECKING:
    from app.settings import Settings
    from ingest.smb import SmbCredentials, SmbShare

SCHEME = "smb://"


def is_share(location: str | Path) -> bool:
    """Whether a location given to ``docent ingest`` is an SMB share address."""
    return isinstance(location, str) and location.lower().startswith(SCHEME)


def open_share(locations: Sequence[str | Path], settings: Settings) -> SmbShare | None:
    """The SMB share among the locations, connected; None when all are local paths.

    Raises:
        DocentError: A share is given with other locations, or it cannot be opened.
    """
    shares = [str(location) for location in locations if is_share(location)]
    if not shares:
        return None
    if len(locations) > 1:
        raise DocentError(
            "An SMB share is ingested on its own, not with other paths.",
            hint="run `docent ingest` once per share or folder",
        )
    from ingest.acl import PrincipalMap
    from ingest.smb import SmbShare

    principals = PrincipalMap(settings.smb_principals) if settings.smb_principals else None
    return SmbShare(shares[0], credentials(settings), principals, settings.smb_timeout_seconds)


def credentials(settings: Settings) -> SmbCredentials:
    """The share account: from ``smb_credentials_file``, else the ``smb_username`` settings.

    Raises:
        DocentError: Neither is set, or the file cannot be read.
    """
    from ingest.smb import SmbCredentials, read_credentials_file

    if settings.smb_credentials_file is not None:
        return read_credentials_file(settings.smb_credentials_file)
    if not settings.smb_username:
        raise DocentError(
            "No account to read the SMB share with.",
            hint="set smb_credentials_file (username=, password=, domain= lines), or "
            "DOCENT_SMB_USERNAME and DOCENT_SMB_PASSWORD in the environment",
        )
    return SmbCredentials(
        settings.smb_username, settings.smb_password.get_secret_value(), settings.smb_domain
    )
