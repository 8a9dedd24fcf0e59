"""SMB shares as a source, against a real Samba smbd on loopback (tests/samba_server.py):
incremental sync, a share that stops mid-run, labels from NT ACLs set with smbcacls, and
a run that sends its password to no process's command line and contacts only the share."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import Docent
from app.auth.accounts import User
from app.cli.admin import _grants_table
from ingest.report import FileOutcome
from ingest.smb import ShareAddress
from models.embedder import Embedder
from models.errors import DocentError
from rag.retrieve import Filters
from tests.samba_server import ADDRESS, HR, LEGAL, PASSWORD, Samba

# Sockets stay closed but for loopback, and the share's own loopback address.
pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1", "::1", ADDRESS])]

MAPPING = {LEGAL: "@legal", HR: "@hr"}


@pytest.fixture
def samba(tmp_path: Path) -> Iterator[Samba]:
    server = Samba(tmp_path / "samba")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _docent(docent: Docent, samba: Samba, **settings: object) -> Docent:
    update = {"smb_credentials_file": samba.credentials, **settings}
    return Docent(docent.settings.model_copy(update=update), embedder=docent.embedder)


def _write(samba: Samba, name: str, text: str) -> None:
    path = samba.share / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _fill(samba: Samba) -> None:
    _write(samba, "contract.md", "# Contract\n\nThe lease of the harbour depot ends in 2031.\n")
    _write(samba, "pay/salaries.md", "# Salaries\n\nThe night nurses earn a winter bonus.\n")
    _write(samba, "notes.txt", "The fire drill is held every second Tuesday.\n")


def _state(docent: Docent) -> tuple[object, ...]:
    rows = sorted((r.source, r.doc_id, tuple(r.labels)) for r in docent.documents("legal"))
    ids = sorted(docent.index.collection("legal").chroma.get(include=[])["ids"])
    return tuple(rows), tuple(ids)


def test_a_share_syncs_like_a_folder(docent: Docent, samba: Samba) -> None:
    _fill(samba)
    share = _docent(docent, samba)

    first = share.ingest([samba.url], "legal")
    assert first.exit_code == 0 and first.counts()["added"] == 3
    assert {r.source for r in share.documents("legal")} == {
        "contract.md",
        "pay/salaries.md",
        "notes.txt",
    }
    again = share.ingest([samba.url], "legal")
    assert again.counts()["unchanged"] == 3 and again.chunks_embedded == 0

    _write(samba, "notes.txt", "The fire drill is held every first Monday.\n")
    (samba.share / "contract.md").rename(samba.share / "lease.md")
    (samba.share / "pay" / "salaries.md").unlink()
    changed = share.ingest([samba.url], "legal", prune=True)

    outcomes = {o.source: o for o in changed.files}
    assert outcomes["notes.txt"].status == "updated"
    assert outcomes["lease.md"].status == "updated" and "moved" in outcomes["lease.md"].reason
    assert changed.pruned == ["pay/salaries.md"]
    assert {r.source for r in share.documents("legal")} == {"lease.md", "notes.txt"}
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("docent-smb-*/*"))
    with pytest.raises(DocentError, match="is a file"):
        share.ingest([f"{samba.url}/notes.txt"], "legal")


def test_a_share_is_read_by_a_process_holding_many_files_open(docent: Docent, samba: Samba) -> None:
    # A long-running server or scheduler may hold more than 1024 descriptors: the share's
    # socket then gets a number select() refuses ("filedescriptor out of range").
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the descriptor limit here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        _fill(samba)
        report = _docent(docent, samba).ingest([samba.url], "legal")
        assert report.exit_code == 0 and report.counts()["added"] == 3
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_address_never_carries_the_password() -> None:
    with pytest.raises(DocentError, match="must not carry a user or password"):
        ShareAddress.parse("smb://clerk:secret@fileserver/legal")
    address = ShareAddress.parse("smb://fileserver/legal/Contracts%202024")
    assert address.root == "smb://fileserver/legal/Contracts 2024"
    assert address.unc("a/b.pdf") == "\\\\fileserver\\legal\\Contracts 2024\\a\\b.pdf"


def test_a_share_that_stops_mid_run_leaves_the_index_as_it_was(
    docent: Docent, samba: Samba
) -> None:
    _fill(samba)
    share = _docent(docent, samba)
    assert share.ingest([samba.url], "legal").exit_code == 0
    before = _state(share)
    _write(samba, "pay/salaries.md", "# Salaries\n\nThe day nurses earn a summer bonus.\n")
    (samba.share / "notes.txt").unlink()

    class StopTheShare:
        def start(self, files: int) -> None:
            pass

        def file_done(self, outcome: FileOutcome) -> None:
            samba.stop()  # the first file is settled: the share goes away

        def chunks_done(self, count: int) -> None:
            pass

    report = share.ingest([samba.url], "legal", prune=True, progress=StopTheShare())

    assert report.exit_code == 1
    assert "stopped answering" in report.interrupted and samba.url in report.interrupted
    assert report.pruned == [] and report.chunks_written == 0
    assert _state(share) == before


def test_labels_come_from_the_share_acls_and_follow_their_changes(
    docent: Docent, samba: Samba
) -> None:
    _fill(samba)
    samba.only("contract.md", LEGAL)
    samba.only("pay/salaries.md", HR)
    samba.only("notes.txt", LEGAL, HR, deny=HR)
    share = _docent(docent, samba, smb_principals=MAPPING)

    first = share.ingest([samba.url], "legal")

    assert first.exit_code == 0, first.interrupted
    labels = {r.source: r.labels for r in share.documents("legal")}
    assert labels == {"contract.md": ["nt:legal"], "pay/salaries.md": ["nt:hr"], "notes.txt": []}
    assert first.unreadable == ["notes.txt"]
    origins = {(g.principal, g.label): g.origin for g in share.grants.all()}
    assert origins == {("@legal", "nt:legal"): samba.url, ("@hr", "nt:hr"): samba.url}
    assert samba.url in _grants_table(share.grants.all())
    # A reader never retrieves a chunk of a file the share denies them.
    retriever = share.answers.retriever
    lawyer, nurse = User("lena", groups=("legal",)), User("nils", groups=("hr",))
    for user, denied in ((lawyer, "pay/salaries.md"), (nurse, "contract.md")):
        allowed = Filters(labels=share.grants.allowed(user, "legal"))
        for question in ("Who earns a winter bonus?", "When does the depot lease end?"):
            found = {p.source for p in retriever.retrieve("legal", question, 10, allowed)}
            assert denied not in found and "notes.txt" not in found

    samba.only("contract.md", HR)  # the permission changes on the share
    relabelled = share.ingest([samba.url], "legal")

    assert relabelled.chunks_embedded == 0
    outcome = next(o for o in relabelled.files if o.source == "contract.md")
    assert outcome.status == "updated" and "access labels now nt:hr" in outcome.reason
    allowed = Filters(labels=share.grants.allowed(lawyer, "legal"))
    found = retriever.retrieve("legal", "When does the depot lease end?", 10, allowed)
    assert "contract.md" not in {p.source for p in found}


def test_the_password_is_in_no_command_line_and_only_the_share_is_contacted(
    samba: Samba, tmp_path: Path, embedder: Embedder
) -> None:
    if shutil.which("strace") is None:
        pytest.skip("needs the Debian package strace: run `apt-get install strace`")
    _fill(samba)
    trace = tmp_path / "trace"
    env = os.environ | {
        "PYTHONPATH": str(Path.cwd()),
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
        "DOCENT_SMB_USERNAME": "root",
        "DOCENT_SMB_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "-m", "app.cli", "ingest", samba.url, "-c", "legal"]
    done = subprocess.run(
        ["strace", "-f", "-qq", "-s", "256", "-e", "trace=execve,connect,sendto",
         "-o", str(trace), *command],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    text = trace.read_text(errors="replace")
    assert PASSWORD not in text
    peers = set(re.findall(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)', text))
    peers |= {(p, a) for p, a in re.findall(r'sin6_port=htons\((\d+)\).*?"([0-9a-f:.]+)"', text)}
    assert peers == {(str(samba.port), samba.address)}, peers
