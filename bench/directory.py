"""The site's directory at the size of a hospital department: sign-in latency and group sync.

Run by hand (``python -m bench.directory``, also by ``make bench``); never a timed test.

* Directory: ``tests/ldap_server.py``'s OpenLDAP ``slapd`` on loopback, its tiny test
  directory plus a generated one loaded through ``ldapmodify``: ``--users`` people (1,000),
  ``--groups`` groups (200) nested as a tree five wide (five levels), every person in one to
  three groups, and ``--disabled`` people (10) the user filter leaves out.
* Sign-in: ``Gate.sign_in`` as the UI calls it, over StartTLS (``--ldaps`` for LDAPS), each
  of ``--times`` sign-ins (200) by another enabled person: a TLS handshake, the service
  account's bind, the search for the person, their bind, the group search a level at a
  time, the accounts file updated, the audit record written. A local account's sign-in
  (one argon2id check) is measured beside it, ``--local-times`` times (20).
* Group sync: ``docent directory sync --json`` in a subprocess (``bench/measure.py``), as
  a scheduler runs it: first on an empty accounts file, then again with nothing changed,
  and once more after the sign-ins. Both the command's wall time (interpreter start
  included) and the sync's own seconds; each run's count of people is checked against the
  directory's.
* Server limits: slapd answers at most 500 entries to a search by anyone but its root
  (``sizelimit`` 500, paged searches included), as a site's OpenLDAP does unless it lifts
  the limit for the service account. The bench lifts it (``limits`` in the database
  section); ``--slapd-default-limit`` keeps it, to see what a sync does then.
* Output: the figures, also written to ``bench/results/directory-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import ldap_server

BRANCHING = 5  # child groups per group: 200 groups nest five levels deep
PASSWORD = "bench-pass-1"


def user_name(n: int) -> str:
    """The uid of generated person ``n``."""
    return f"u{n:05d}"


def group_cn(n: int) -> str:
    """The cn of generated group ``n``."""
    return f"bench-group-{n:03d}"


def parent_group(n: int) -> int | None:
    """The group generated group ``n`` is a member of (None for the root, group 0)."""
    return None if n == 0 else (n - 1) // BRANCHING


@dataclass(frozen=True)
class Layout:
    """Who is in which group of a generated directory.

    Attributes:
        users: How many people.
        groups: How many groups.
        disabled: The people the user filter leaves out.
        memberships: Each person's groups, by their direct membership only.
    """

    users: int
    groups: int
    disabled: frozenset[int]
    memberships: dict[int, tuple[int, ...]]

    def nested_groups(self, person: int) -> set[str]:
        """Every group ``person`` is in, nested ones resolved (what a sign-in should find)."""
        found: set[str] = set()
        for start in self.memberships[person]:
            group: int | None = start
            while group is not None:
                found.add(group_cn(group))
                group = parent_group(group)
        return found

    def enabled(self) -> list[int]:
        """The people the user filter admits."""
        return [n for n in range(self.users) if n not in self.disabled]


def layout(users: int, groups: int, disabled: int, seed: int = 44) -> Layout:
    """Place ``users`` people in ``groups`` groups; ``disabled`` of them spread evenly.

    Person ``n`` is in group ``n % groups`` (so every group has a person, as
    ``groupOfNames`` needs a member) and in up to two more drawn at random.
    """
    if groups < 1 or users < groups:
        raise ValueError("need at least one group and a person for every group")
    rng = random.Random(seed)
    memberships = {
        n: tuple(sorted({n % groups, *rng.sample(range(groups), rng.randint(0, 2))}))
        for n in range(users)
    }
    step = users / disabled if disabled else 0
    gone = frozenset(int(i * step) for i in range(disabled))
    return Layout(users, groups, gone, memberships)


def ldif(plan: Layout, password: str = PASSWORD) -> str:
    """The LDIF that adds the plan's people and groups, for ``ldapmodify``."""
    people = [
        f"dn: {ldap_server.person(user_name(n))}\nchangetype: add\nobjectClass: inetOrgPerson\n"
        f"uid: {user_name(n)}\ncn: Person {n}\nsn: {n}\nuserPassword: {password}\n"
        + ("employeeType: disabled\n" if n in plan.disabled else "")
        for n in range(plan.users)
    ]
    members: dict[int, list[str]] = {g: [] for g in range(plan.groups)}
    for n, held in plan.memberships.items():
        for g in held:
            members[g].append(ldap_server.person(user_name(n)))
    for g in range(1, plan.groups):
        members[parent_group(g) or 0].append(ldap_server.group(group_cn(g)))
    # Children before parents: nothing requires it, but it reads as the tree is built.
    groups = [
        f"dn: {ldap_server.group(group_cn(g))}\nchangetype: add\nobjectClass: groupOfNames\n"
        f"cn: {group_cn(g)}\n" + "".join(f"member: {m}\n" for m in members[g])
        for g in reversed(range(plan.groups))
    ]
    return "\n".join(people + groups)


def lift_size_limit() -> None:
    """Let the service account read every entry of the test directory (see the docstring).

    The test directory's ``slapd.conf`` is written by ``tests/ldap_server.py``; the bench
    adds one ``limits`` line to its database section, the last section of that file.
    """
    written = ldap_server._config

    def config(folder: Path, tls: bool, size_limit: int | None = None) -> str:
        limit = f'limits dn.exact="{ldap_server.SERVICE_DN}" size=unlimited\n'
        return written(folder, tls, size_limit) + limit

    ldap_server._config = config


def timed(sign_in: Callable[[int], object], times: int) -> list[float]:
    """Seconds of each of ``times`` sign-ins ``sign_in(i)``, after one unmeasured warm-up."""
    sign_in(times)
    seconds = []
    for i in range(times):
        started = time.perf_counter()
        sign_in(i)
        seconds.append(time.perf_counter() - started)
    return seconds


def sync_command(env: dict[str, str], root: Path) -> dict[str, Any]:
    """``docent directory sync --json`` in a measured subprocess."""
    from bench.ingest import offline_env
    from bench.measure import run_child

    docent = Path(sys.executable).parent / "docent"
    child = run_child(
        [str(docent), "directory", "sync", "--json"], offline_env(**env), root, timeout=600
    )
    report = child.pop("report") or {}
    changes = report.get("changes", {})
    return child | {
        "people": report.get("people"),
        "groups": report.get("groups"),
        "sync_s": report.get("seconds"),
        "added": len(changes.get("added", [])),
        "changed": len(changes.get("changed", [])),
        "disabled": len(changes.get("disabled", [])),
    }


def measure(options: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Load the directory, sign in through it and locally, sync it twice."""
    from app.auth.gate import Gate
    from app.settings import Settings
    from bench.api import percentiles

    plan = layout(options.users, options.groups, options.disabled)
    if not options.slapd_default_limit:
        lift_size_limit()
    # The test directory's own people: alice, bob, dave and erin enabled, carol not.
    expected = len(plan.enabled()) + 4
    with ldap_server.slapd(root / "slapd") as server:
        started = time.perf_counter()
        server.modify(ldif(plan))
        load_s = time.perf_counter() - started
        secret = root / "password"
        secret.write_text(ldap_server.SERVICE_PASSWORD)
        values = {
            "data_dir": root / "data",
            "ldap_url": server.ldaps_url if options.ldaps else server.url,
            "ldap_ca_file": server.ca_file,
            "ldap_bind_dn": ldap_server.SERVICE_DN,
            "ldap_bind_password_file": secret,
            "ldap_user_base": ldap_server.PEOPLE,
            "ldap_user_filter": ldap_server.FILTER,
            "ldap_group_base": ldap_server.GROUPS,
        }
        env = {f"DOCENT_{key.upper()}": str(value) for key, value in values.items()}
        first = sync_command(env, root)
        again = sync_command(env, root)
        gate = Gate(Settings(**values))  # type: ignore[arg-type]
        people = plan.enabled()
        chosen = [people[i * len(people) // (options.times + 1)] for i in range(options.times + 1)]
        groups = set(gate.sign_in(user_name(chosen[0]), PASSWORD).user.groups)
        assert plan.nested_groups(chosen[0]) <= groups, groups  # nested groups resolved
        directory = timed(lambda i: gate.sign_in(user_name(chosen[i]), PASSWORD), options.times)
        gate.accounts.add("root", "break-glass-pass", role="admin")
        local = timed(lambda _: gate.sign_in("root", "break-glass-pass"), options.local_times)
        after = sync_command(env, root)
    return {
        "transport": "ldaps" if options.ldaps else "starttls",
        "users": options.users,
        "groups": options.groups,
        "disabled": options.disabled,
        "load_s": round(load_s, 2),
        "sign_ins": options.times,
        "directory": percentiles(directory),
        "local": percentiles(local) | {"sign_ins": options.local_times},
        "sync_first": first,
        "sync_unchanged": again,
        "sync_after_sign_ins": after,
        "people_expected": expected,
        "slapd_size_limit": 500 if options.slapd_default_limit else "unlimited",
        "complete": all(run["people"] == expected for run in (first, again, after)),
    }


def main() -> None:
    """Start the directory, measure, print the figures and save them."""
    import pytest

    from bench.results import save

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="People generated.")
    parser.add_argument("--groups", type=int, default=200, help="Groups generated (nested).")
    parser.add_argument("--disabled", type=int, default=10, help="Of them, disabled.")
    parser.add_argument("--times", type=int, default=200, help="Directory sign-ins measured.")
    parser.add_argument("--local-times", type=int, default=20, help="Local sign-ins measured.")
    parser.add_argument("--ldaps", action="store_true", help="LDAPS instead of StartTLS.")
    parser.add_argument(
        "--slapd-default-limit",
        action="store_true",
        help="Keep slapd's 500-entry size limit for the service account.",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as folder:
        try:
            figures = measure(options, Path(folder))
        except pytest.skip.Exception as missing:  # the harness's "not root" or "not installed"
            sys.exit(f"bench.directory: {missing}")
    figures["written"] = str(save("directory", figures))
    print(json.dumps(figures, indent=2))
    if not figures["complete"]:
        print(f"MISS: a sync saw fewer people than the {figures['people_expected']} enabled")


if __name__ == "__main__":
    main()
