"""A real Samba ``smbd`` for the tests: a private smb.conf, passdb and share in a temp dir.

It listens on a loopback address of its own (127.x.y.z, inside 127.0.0.0/8) on a high port,
which Docent uses, and on 445 at that address too: ``smbcacls``, which sets the files' NT
ACLs (kept by ``vfs objects = acl_xattr``), has no option for another port. No nmbd.
smbd must run as root (it changes to the signed-in user for each request).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.system import require

USER = "root"
PASSWORD = "Docent-share-pw-7"
# Docent's label of a share's files is decided by these SIDs (a site's domain groups).
LEGAL = "S-1-5-21-1000-2000-3000-1101"
HR = "S-1-5-21-1000-2000-3000-1102"

# A loopback address of this test process's own, so two test runs never share port 445.
ADDRESS = f"127.{os.getpid() % 250 + 1}.{random.randint(1, 250)}.{random.randint(2, 250)}"

_CONF = """[global]
  server role = standalone server
  workgroup = DOCENT
  smb ports = 445 {port}
  interfaces = {address}/8
  bind interfaces only = yes
  disable netbios = yes
  server min protocol = SMB2
  private dir = {root}/private
  lock directory = {root}/lock
  state directory = {root}/state
  cache directory = {root}/cache
  pid directory = {root}/pid
  ncalrpc dir = {root}/ncalrpc
  log file = {root}/smbd.log
  passdb backend = tdbsam:{root}/private/passdb.tdb
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
[docs]
  path = {root}/share
  read only = no
  vfs objects = acl_xattr
  acl_xattr:ignore system acls = yes
"""


class Samba:
    """One smbd serving the share ``docs`` from ``self.share``."""

    def __init__(self, root: Path) -> None:
        require("smbd", "samba")
        require("smbcacls", "smbclient")
        if os.geteuid() != 0:
            pytest.skip("smbd must run as root to serve a share (it switches users)")
        self.root = root
        self.share = root / "share"
        self.address = ADDRESS
        self.port = _free_port()
        for name in ("share", "private", "lock", "state", "cache", "pid", "ncalrpc"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.conf = root / "smb.conf"
        self.conf.write_text(_CONF.format(port=self.port, address=self.address, root=root))
        self.credentials = root / "credentials"
        self.credentials.write_text(f"username={USER}\npassword={PASSWORD}\ndomain=DOCENT\n")
        self.credentials.chmod(0o600)
        subprocess.run(
            ["smbpasswd", "-c", str(self.conf), "-a", "-s", USER],
            input=f"{PASSWORD}\n{PASSWORD}\n",
            text=True,
            check=True,
            capture_output=True,
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The share's address as Docent takes it."""
        return f"smb://{self.address}:{self.port}/docs"

    def start(self) -> None:
        """Start smbd and wait until it answers."""
        self.process = subprocess.Popen(
            ["smbd", f"--configfile={self.conf}", "--foreground", "--no-process-group"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends its children too
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection((self.address, self.port), timeout=1).close()
                return
            time.sleep(0.1)
        raise AssertionError(f"smbd did not start: {(self.root / 'smbd.log').read_text()}")

    def stop(self) -> None:
        """Stop smbd (and the children serving connections, in its process group)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def cacls(self, name: str, *arguments: str) -> str:
        """Run ``smbcacls`` on a file of the share (``--set ACL:...`` and the like)."""
        done = subprocess.run(
            ["smbcacls", f"//{self.address}/docs", name, "-A", str(self.credentials),
             "--numeric", *arguments],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def only(self, name: str, *readers: str, deny: str = "") -> None:
        """Give a file a DACL letting only ``readers`` (SIDs) read, ``deny`` refused first."""
        entries = [f"ACL:{deny}:DENIED/0x0/READ"] if deny else []
        entries += [f"ACL:{sid}:ALLOWED/0x0/READ" for sid in readers]
        entries.append("ACL:S-1-5-18:ALLOWED/0x0/FULL")  # SYSTEM: the owner may still edit
        self.cacls(name, "--set", ",".join(entries))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
