"""A real PostgreSQL (Debian's ``postgresql``) on a loopback port, for the ``state_url`` tests.

``initdb`` and the server refuse to run as root, so as root (CI, the developers' machines)
they run as ``nobody`` in a folder of their own under /tmp (pytest's folders are closed to
other users); as anyone else they run as that user. The server listens on 127.0.0.1 only,
with no Unix socket, and trusts the one role ``docent`` made by ``initdb``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests import system

ROLE = "docent"
_serial = itertools.count()


def binaries() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (skips the test when PostgreSQL is missing)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    system.require(
        found[-1] if found else Path("/usr/lib/postgresql/VERSION/bin/pg_ctl"), "postgresql"
    )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str]:
    """A running server; yields the URL of its ``postgres`` database as role ``docent``."""
    bin_dir = binaries()
    folder = Path(tempfile.mkdtemp(prefix="docent-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody", "nogroup")
    data, port = folder / "data", _free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust"]
    subprocess.run(_as_server_user([*initdb, "-E", "UTF8"]), check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -F"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options]
    try:
        subprocess.run(_as_server_user([*start, "-w", "start"]), check=True, capture_output=True)
        yield f"postgresql://{ROLE}@127.0.0.1:{port}/postgres"
    finally:
        stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_server_user(stop), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"docent_{os.getpid()}_{next(_serial)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
