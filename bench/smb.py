"""Sync of an SMB share on loopback: first run, unchanged, 1% changed, 1% permissions changed.

Run by hand (``python -m bench.smb``, also by ``make bench``); never a timed test. Needs
root and Debian's ``samba`` and ``smbclient`` (``make system-packages-bench``).

* Share: ``tests/samba_server.py``'s ``smbd`` on a loopback address of its own, its share
  (``vfs objects = acl_xattr``) filled with ``--files`` small text and Markdown files
  (1,000; about 1-2 KB of English-like text each, folders of 100). ``--acl-share`` of them
  (25%) carry an NT ACL set with ``smbcacls`` as the tests set them: read by the legal
  group, by HR, by both, or with HR denied (which leaves it to no one). The rest keep the
  share's default ACL, whose ``Everyone`` entry Docent maps to ``@staff``.
* Runs: each ``docent ingest smb://... -c share --json`` in a measured subprocess
  (``bench/measure.py``), with ``smb_principals`` mapping the SIDs to Docent groups: the
  first sync, an unchanged sync, a sync after 1% of the files changed (a paragraph added),
  and one after 1% of the files' ACLs changed (a permission change is a relabel in place:
  the run must embed nothing). Beside them the same files copied to a local folder: its
  first ingest and its unchanged re-run, the per-file cost an SMB sync is compared with.
* Output: a table, and ``bench/results/smb-<time>.json``.

    .venv/bin/python -m bench.smb                    # 1,000 files, ~10 min on 2 cores
    .venv/bin/python -m bench.smb --files 10000      # the issue's size, a quiet machine
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.samba_server import HR, LEGAL, Samba

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = "share"
EVERYONE = "S-1-1-0"
PRINCIPALS = {LEGAL: "@legal", HR: "@hr", EVERYONE: "@staff"}
# The ACLs a file of the share may carry: (readers, denied). A deny entry for HR leaves the
# file to no one: labels cannot say "legal but not HR" of a person in both groups.
Acl = tuple[tuple[str, ...], str]
ACLS: tuple[Acl, ...] = (
    ((LEGAL,), ""), ((HR,), ""), ((LEGAL, HR), ""), ((LEGAL, HR), HR), ((HR,), HR),
)  # fmt: skip
Result = dict[str, Any]


def file_names(count: int) -> list[str]:
    """The share's files, relative to its root: folders of 100, half text, half Markdown."""
    return [f"dept{n // 1000:02d}/team{n // 100 % 10}/doc{n:05d}.{'md' if n % 2 else 'txt'}"
            for n in range(count)]  # fmt: skip


def write_files(folder: Path, names: list[str], seed: int = 7) -> int:
    """Write the files ``names`` under ``folder``; return the bytes written."""
    from bench.scale import Writer

    writer = Writer(seed, "english")
    written = 0
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        size = int(min(1500 * math.exp(writer.rng.gauss(0, 0.5)), 8000))
        title, paragraphs = writer.heading(), writer.paragraphs(size)
        head = f"# {title}\n\n" if path.suffix == ".md" else f"{title}\n\n"
        written += path.write_text(head + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return written


def acl_plan(names: list[str], share: float, seed: int = 44) -> dict[str, Acl]:
    """Which files get an ACL of their own, and which: ``{name: (readers, denied)}``."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(names, round(len(names) * share)))
    return {name: ACLS[i % len(ACLS)] for i, name in enumerate(chosen)}


def pick(names: list[str], share: float, seed: int, avoid: Collection[str] = ()) -> list[str]:
    """``share`` of ``names`` (at least one), none of them in ``avoid``."""
    free = [name for name in names if name not in avoid]
    return sorted(random.Random(seed).sample(free, max(1, round(len(names) * share))))


def regranted(acl: Acl | None) -> Acl:
    """The ACL a permission change gives a file: legal's files go to HR, the rest to legal."""
    return ((HR,), "") if acl == ((LEGAL,), "") else ((LEGAL,), "")


def set_acls(samba: Samba, acls: dict[str, Acl]) -> float:
    """Set each file's ACL with ``smbcacls`` (four at a time); return the seconds taken."""
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        done = pool.map(
            lambda item: samba.only(item[0], *item[1][0], deny=item[1][1]), acls.items()
        )
        list(done)
    return time.perf_counter() - started


def ingest(source: str, data: Path, env: dict[str, str], timeout: float) -> Result:
    """One ``docent ingest`` of ``source``, measured; its counts and per-file seconds."""
    from bench.ingest import offline_env
    from bench.measure import run_child

    docent = Path(sys.executable).parent / "docent"
    argv = [str(docent), "ingest", source, "--collection", COLLECTION, "--json"]
    child = run_child(argv, offline_env(DOCENT_DATA_DIR=str(data), **env), ROOT, timeout)
    report = child.pop("report") or {}
    files = report.get("files", [])
    keys = ("added", "updated", "unchanged", "skipped", "failed", "chunks_written",
            "chunks_embedded", "seconds")  # fmt: skip
    figures = child | {key: report.get(key) for key in keys}
    figures["relabelled"] = sum("access labels" in f.get("reason", "") for f in files)
    figures["unreadable"] = len(report.get("unreadable", []))
    if report.get("interrupted"):
        figures["interrupted"] = report["interrupted"]
    return figures


def per_file_ms(run: Result, files: int) -> Result:
    """A run's wall and pipeline time per file of the share, in ms."""
    return {
        "wall_ms_per_file": round(1000 * run["wall_s"] / files, 2),
        "pipeline_ms_per_file": round(1000 * (run.get("seconds") or 0) / files, 2),
    }


def append_paragraph(folder: Path, names: list[str]) -> None:
    """Change files the way an editor does: a paragraph added at the end."""
    for name in names:
        with (folder / name).open("a", encoding="utf-8") as handle:
            handle.write(f"\nRevised: the clause {name} now names a second reviewer.\n")


def measure(options: argparse.Namespace, root: Path) -> Result:
    """Fill the share, run every sync, and the local folder's beside them."""
    names = file_names(options.files)
    samba = Samba(root / "samba")
    figures: Result = {"files": options.files, "bytes": write_files(samba.share, names)}
    local = root / "local"
    shutil.copytree(samba.share, local, copy_function=shutil.copyfile)
    acls = acl_plan(names, options.acl_share)
    env = {
        "DOCENT_SMB_CREDENTIALS_FILE": str(samba.credentials),
        "DOCENT_SMB_PRINCIPALS": json.dumps(PRINCIPALS),
    }
    runs: Result = {}
    samba.start()
    try:
        figures["acl_files"], figures["acl_set_s"] = len(acls), round(set_acls(samba, acls), 1)
        data = root / "data-smb"
        runs["smb_first"] = ingest(samba.url, data, env, options.timeout)
        runs["smb_unchanged"] = ingest(samba.url, data, env, options.timeout)
        runs["local_first"] = ingest(str(local), root / "data-local", {}, options.timeout)
        runs["local_unchanged"] = ingest(str(local), root / "data-local", {}, options.timeout)
        changed = pick(names, options.change_share, seed=1)
        append_paragraph(samba.share, changed)
        time.sleep(0.01)  # a new mtime on every file system's clock
        runs["smb_changed"] = ingest(samba.url, data, env, options.timeout) | {
            "files_changed": len(changed)
        }
        regrants = pick(names, options.change_share, seed=2, avoid=set(changed))
        set_acls(samba, {name: regranted(acls.get(name)) for name in regrants})
        runs["smb_permissions"] = ingest(samba.url, data, env, options.timeout) | {
            "files_changed": len(regrants)
        }
    finally:
        samba.stop()
    for name, run in runs.items():
        run |= per_file_ms(run, options.files)
        if name in ("smb_changed", "smb_permissions") and run.get("seconds") is not None:
            run["s_per_changed_file"] = round(run["seconds"] / run["files_changed"], 3)
    return figures | {"runs": runs}


def table(figures: Result) -> str:
    """The runs as a Markdown table."""
    columns = ("wall_s", "seconds", "wall_ms_per_file", "pipeline_ms_per_file", "added",
               "updated", "unchanged", "relabelled", "chunks_embedded", "unreadable",
               "other_cpu_share")  # fmt: skip
    lines = ["| run | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, run in figures["runs"].items():
        lines.append(f"| {name} | " + " | ".join(str(run.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    """Measure, print the table and save the figures."""
    import pytest

    from bench.results import save

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="Files on the share.")
    parser.add_argument("--acl-share", type=float, default=0.25, help="Of them, with an ACL.")
    parser.add_argument("--change-share", type=float, default=0.01, help="Changed per run.")
    parser.add_argument("--timeout", type=float, default=7200, help="Seconds per ingest.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-smb-") as folder:
        try:
            figures = measure(options, Path(folder))
        except pytest.skip.Exception as missing:  # the harness's "not root" or "not installed"
            sys.exit(f"bench.smb: {missing}")
    figures["written"] = str(save("smb", figures))
    print(table(figures))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
