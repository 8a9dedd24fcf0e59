"""Sign-in and groups from the site's directory, against a real OpenLDAP on loopback.

The directory is ``tests/ldap_server.py``'s: nested groups, a cycle, a disabled person.
Each test that changes it starts its own server. Sessions, API tokens and grants are
Docent's real ones; API tokens are used through the real HTTP application.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.api import Docent
from app.auth.accounts import AccountError, SessionExpired, SignInError
from app.auth.directory import Directory, DirectoryPerson, DirectoryUnavailable, group_name
from app.auth.directory_accounts import mirror_rows
from app.auth.gate import Gate
from app.doctor import Check
from app.settings import Settings
from models.embedder import Embedder
from tests import ldap_server
from tests.cli_run import run
from tests.ldap_server import PASSWORDS, SERVICE_DN, SERVICE_PASSWORD, Slapd
from tests.test_egress import _INET, _INET6

ALICE_GROUPS = ("everyone", "legal", "staff")


def directory_settings(server: Slapd, root: Path, **extra: object) -> Settings:
    """Settings that sign people in through ``server``, its password in a file."""
    secret = root / "ldap-password"
    secret.write_text(SERVICE_PASSWORD + "\n")
    values: dict[str, object] = {
        "data_dir": root / "data",
        "ldap_url": server.url,
        "ldap_ca_file": server.ca_file,
        "ldap_bind_dn": SERVICE_DN,
        "ldap_bind_password_file": secret,
        "ldap_user_base": ldap_server.PEOPLE,
        "ldap_user_filter": ldap_server.FILTER,
        "ldap_group_base": ldap_server.GROUPS,
        "ldap_timeout_seconds": 5.0,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Slapd]:
    with ldap_server.slapd(tmp_path / "slapd") as running:
        yield running


def _records(settings: Settings) -> list[dict[str, object]]:
    return [json.loads(line) for line in settings.audit_path().open()]


# The parts that need no server.


def test_a_directory_group_name_becomes_a_docent_group_name() -> None:
    assert group_name("Board Members") == "board-members"
    assert group_name("Recht & Verträge") == "recht-vertrage"
    assert group_name("  --Legal_Team.EU ") == "legal_team.eu"
    assert group_name("***") is None
    assert group_name("x" * 100) == "x" * 63


def test_a_name_taken_over_by_another_entry_is_a_new_account() -> None:
    def person(uid: str, groups: tuple[str, ...] = ()) -> DirectoryPerson:
        return DirectoryPerson("dave", f"uid=dave,o={uid}", uid, groups)

    rows: dict[str, dict[str, object]] = {"root": {"role": "admin", "hash": "h"}}
    added = mirror_rows(rows, [person("id-1", ("a",))], complete=True, now="t1")
    same = mirror_rows(rows, [person("id-1", ("a",))], complete=True, now="t2")
    other = mirror_rows(rows, [person("id-2")], complete=True, now="t3")
    gone = mirror_rows(rows, [], complete=True, now="t4")
    back = mirror_rows(rows, [person("id-2", ("b",))], complete=False, now="t5")

    assert (added.added, same.changed, other.replaced) == (["dave"], [], ["dave"])
    assert rows["dave"]["created_at"] == "t3" and gone.disabled == ["dave"]
    assert back.enabled == ["dave"] and rows["dave"]["groups"] == ["b"]
    assert "disabled_at" not in rows["dave"] and rows["root"] == {"role": "admin", "hash": "h"}
    assert mirror_rows(rows, [person("x")], complete=False, now="t6").replaced == ["dave"]
    kept = mirror_rows(rows, [DirectoryPerson("root", "uid=root", "r", ())], complete=False, now="")
    assert kept.local_kept == ["root"] and rows["root"]["role"] == "admin"


def test_ldap_settings_must_name_a_tls_or_ldap_url_and_where_to_search() -> None:
    with pytest.raises(ValueError, match="ldaps:// or ldap://"):
        Settings(ldap_url="http://dc1", ldap_bind_dn="cn=x", ldap_user_base="o=x")
    with pytest.raises(ValueError, match="ldap_bind_dn and ldap_user_base"):
        Settings(ldap_url="ldaps://dc1")
    assert Settings().directory_config() is None
    secret = Settings(
        ldap_url="ldaps://dc1", ldap_bind_dn="cn=x", ldap_user_base="o=x", ldap_bind_password="pw"
    )
    assert "pw" not in repr(secret)


# Against the real server.


@pytest.mark.slow
def test_people_sign_in_over_starttls_and_ldaps_with_their_nested_groups(
    server: Slapd, tmp_path: Path
) -> None:
    settings = directory_settings(server, tmp_path)
    gate = Gate(settings)

    session = gate.sign_in("alice", PASSWORDS["alice"])
    assert session.user.source == "directory" and session.user.groups == ALICE_GROUPS
    assert gate.accounts.resume(session).groups == ALICE_GROUPS
    over_ldaps = Gate(settings.model_copy(update={"ldap_url": server.ldaps_url}))
    assert over_ldaps.sign_in("bob", PASSWORDS["bob"]).user.groups == ("everyone", "staff")
    # A cycle of groups ends; a name with a space becomes a Docent group name.
    assert gate.sign_in("erin", PASSWORDS["erin"]).user.groups == ("loop-a", "loop-b")
    assert gate.sign_in("dave", PASSWORDS["dave"]).user.groups == ("board-members",)

    messages = set()
    for name, password in [
        ("alice", "wrong"),
        ("alice", ""),  # an unauthenticated bind would "succeed"
        ("nobody", "x"),
        ("carol", PASSWORDS["carol"]),  # disabled: the user filter leaves her out
        ("alice)(uid=*", "x"),
    ]:
        with pytest.raises(SignInError) as refused:
            gate.sign_in(name, password)
        messages.add(refused.value.message)
    assert messages == {"Wrong user name or password."}
    signed = [r for r in _records(settings) if r["event"] == "sign_in"]
    assert [r["ok"] for r in signed] == [True] * 4 + [False] * 5
    assert sorted(json.loads(settings.accounts_path().read_text())["users"]) == [
        "alice",
        "bob",
        "dave",
        "erin",
    ]
    assert {r["provider"] for r in signed} == {"ldap"}
    assert signed[0]["groups"] == list(ALICE_GROUPS)
    # An entry found by a second name of its own opens no account (not even its first).
    server.modify(f"dn: {ldap_server.person('dave')}\nchangetype: modify\nadd: uid\nuid: dv\n")
    with pytest.raises(SignInError):
        gate.sign_in("dv", PASSWORDS["dave"])
    # The directory keeps the password: Docent stores no hash for its people.
    rows = json.loads(settings.accounts_path().read_text())["users"]
    assert "hash" not in rows["alice"] and rows["alice"]["dn"] == ldap_server.person("alice")


@pytest.mark.slow
def test_a_sync_finds_the_same_nested_groups_as_a_sign_in(server: Slapd, tmp_path: Path) -> None:
    settings = directory_settings(server, tmp_path)
    docent = Docent(settings, embedder=None)  # type: ignore[arg-type]
    docent.accounts.add("erin", "erin-local-1")  # a local account wins over the directory's

    outcome = docent.sync_directory()

    users = {u.name: u for u in docent.accounts.users()}
    assert sorted(users) == ["alice", "bob", "dave", "erin"] and outcome.people == 4
    assert outcome.groups == 6 and sorted(outcome.changes.added) == ["alice", "bob", "dave"]
    assert outcome.changes.local_kept == ["erin"] and users["erin"].source == "local"
    directory = Directory(settings.directory_config())  # type: ignore[arg-type]
    for name in ("alice", "bob", "dave"):
        assert users[name].groups == directory.authenticate(name, PASSWORDS[name]).groups
    # The role is Docent's and stays; groups and passwords are the directory's.
    assert docent.edit_user("alice", role="admin").is_admin
    for change in (
        lambda: docent.edit_user("alice", groups=("board",)),
        lambda: docent.set_password("alice", "another-pass-1"),
    ):
        with pytest.raises(AccountError, match="kept there"):
            change()
    assert docent.sync_directory().changes.added == []
    assert docent.accounts.get("alice").is_admin


@pytest.mark.slow
def test_plain_ldap_is_refused_unless_the_site_sets_ldap_insecure(tmp_path: Path) -> None:
    with ldap_server.slapd(tmp_path / "plain", tls=False) as plain:
        refused = Gate(directory_settings(plain, tmp_path))
        with pytest.raises(DirectoryUnavailable, match="ldap_insecure") as error:
            refused.sign_in("alice", PASSWORDS["alice"])
        assert "StartTLS" in error.value.message and not refused.accounts.path.exists()
        allowed = Gate(directory_settings(plain, tmp_path, ldap_insecure=True))
        assert allowed.sign_in("alice", PASSWORDS["alice"]).user.groups == ALICE_GROUPS


@pytest.mark.slow
def test_a_server_certificate_not_signed_by_the_configured_ca_is_refused(
    server: Slapd, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    settings = directory_settings(
        server, tmp_path, ldap_ca_file=ldap_server.make_certificates(other)
    )
    for url in (server.url, server.ldaps_url):
        gate = Gate(settings.model_copy(update={"ldap_url": url}))
        with pytest.raises(DirectoryUnavailable):
            gate.sign_in("alice", PASSWORDS["alice"])


@pytest.mark.slow
def test_a_grant_to_a_directory_group_opens_a_collection_to_its_nested_members(
    server: Slapd,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = directory_settings(server, tmp_path)
    docent = Docent(settings, embedder=embedder)
    share = tmp_path / "share"
    share.mkdir()
    (share / "lease.md").write_text("# Lease\n\nThe lease of the office ends in 2031.\n")
    docent.ingest([share], "legal")
    code, _, err = _cli(settings, monkeypatch, capsys)("grant", "@staff", "legal")
    assert code == 0, err

    alice = docent.gate.sign_in("alice", PASSWORDS["alice"]).user  # legal, inside staff
    erin = docent.gate.sign_in("erin", PASSWORDS["erin"]).user
    assert [d.source for d in docent.documents("legal", user=alice)] == ["lease.md"]
    with pytest.raises(Exception, match="does not exist"):
        docent.documents("legal", user=erin)


def _env(settings: Settings) -> dict[str, str]:
    """The settings as the CLI reads them from the environment."""
    values = settings.model_dump(exclude_defaults=True)
    return {f"DOCENT_{key.upper()}": str(value) for key, value in values.items()}


def _cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``docent ARGV`` run with ``settings`` (from the environment, as a site sets them)."""
    for name, value in _env(settings).items():
        monkeypatch.setenv(name, value)
    return lambda *argv: run(capsys, *argv)


@pytest.mark.slow
def test_disabled_and_removed_people_lose_sessions_and_tokens_at_the_next_sync(
    server: Slapd,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.http_setup import bearer, client

    settings = directory_settings(server, tmp_path)
    docent_cli = _cli(settings, monkeypatch, capsys)
    docent = Docent(settings, embedder=embedder)
    gate = docent.gate
    cookies = {
        n: gate.sessions.keep(gate.sign_in(n, PASSWORDS[n])) for n in ("alice", "bob", "dave")
    }
    tokens = {n: docent.create_token(n, "t", timedelta(days=1))[0] for n in cookies}
    docent.grant("dave", "legal")
    server.disable("bob")
    server.remove("dave")
    with client(docent) as http:
        for name in cookies:  # nothing changed yet: the next sync or sign-in decides
            assert http.get("/api/v1/collections", headers=bearer(tokens[name])).is_success

        code, out, err = docent_cli("directory", "sync")

        assert code == 0, err
        assert "Disabled (sessions ended, tokens revoked): bob, dave." in out
        for name in ("bob", "dave"):
            with pytest.raises(SessionExpired):
                gate.sessions.resume(cookies[name], gate.accounts)
            assert http.get("/api/v1/collections", headers=bearer(tokens[name])).status_code == 401
        assert gate.sessions.resume(cookies["alice"], gate.accounts).user.name == "alice"
        assert http.get("/api/v1/collections", headers=bearer(tokens["alice"])).is_success
    listed = docent_cli("users", "list")[1]
    assert re.search(r"bob .*directory \(disabled\)", listed), listed
    with pytest.raises(AccountError, match="no enabled person `bob`"):
        docent.create_token("bob", "again", timedelta(days=1))
    # Another entry takes the name `dave`: a new account, without the old one's grant.
    server.modify(
        f"dn: {ldap_server.person('dave')}\nchangetype: add\nobjectClass: inetOrgPerson\n"
        "uid: dave\ncn: Dave\nsn: Two\nuserPassword: dave-two-1\n"
    )
    assert docent.sync_directory().changes.replaced == ["dave"]
    assert [g.principal for g in docent.grants.all()] == []
    events = [r["event"] for r in _records(settings)]
    assert events.count("directory_disable") == 2 and events.count("directory_sync") == 2
    assert "directory_replace" in events


@pytest.mark.slow
def test_a_disabled_person_loses_session_and_token_at_their_next_sign_in(
    server: Slapd,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.http_setup import bearer, client

    settings = directory_settings(server, tmp_path)
    docent = Docent(settings, embedder=embedder)
    gate = docent.gate
    # A token for a person who never signed in: the directory is asked first.
    code, token, err = _cli(settings, monkeypatch, capsys)("tokens", "create", "bob")
    assert code == 0 and "Token" in err, err
    token = token.strip()
    assert docent.accounts.get("bob").groups == ("everyone", "staff")
    cookie = gate.sessions.keep(gate.sign_in("bob", PASSWORDS["bob"]))
    with client(docent) as http:
        assert http.get("/api/v1/collections", headers=bearer(token)).is_success
    server.disable("bob")

    with pytest.raises(SignInError):
        gate.sign_in("bob", PASSWORDS["bob"])

    with pytest.raises(SessionExpired):
        gate.sessions.resume(cookie, gate.accounts)
    with client(docent) as http:
        assert http.get("/api/v1/collections", headers=bearer(token)).status_code == 401
    # A disabled account can still be removed (its grants with it).
    assert _cli(settings, monkeypatch, capsys)("users", "rm", "bob", "--yes")[0] == 0


@pytest.mark.slow
def test_a_local_administrator_signs_in_while_the_directory_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ldap_server.slapd(tmp_path / "slapd") as down:
        settings = directory_settings(down, tmp_path)
        gate = Gate(settings)
        gate.sign_in("alice", PASSWORDS["alice"])
    gate.accounts.add("root", "break-glass-1", role="admin")

    assert gate.sign_in("root", "break-glass-1").user.is_admin
    with pytest.raises(DirectoryUnavailable, match="Local accounts still sign in"):
        gate.sign_in("alice", PASSWORDS["alice"])
    code, _, err = _cli(settings, monkeypatch, capsys)("directory", "sync")
    assert code == 1 and "could not be used" in err and "Fix:" in err
    sync = [r for r in _records(settings) if r["event"] == "directory_sync"]
    assert sync[-1]["ok"] is False
    assert gate.accounts.get("alice").groups == ALICE_GROUPS  # kept until the next sync


@pytest.mark.slow
def test_a_directory_sync_contacts_the_configured_server_only(
    server: Slapd, tmp_path: Path
) -> None:
    if shutil.which("strace") is None:
        pytest.skip("needs the Debian package strace: run `apt-get install strace`")
    settings = directory_settings(server, tmp_path)
    trace = tmp_path / "trace"
    command = [sys.executable, "-m", "app.cli", "directory", "sync"]
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *command],
        env=os.environ | _env(settings) | {"PYTHONPATH": str(Path.cwd())},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    peers = set()
    for line in trace.read_text().splitlines():
        if found := _INET.search(line) or _INET6.search(line):
            peers.add((found.group(2), int(found.group(1))))
    assert peers == {("127.0.0.1", server.port)}, peers


@pytest.mark.slow
def test_the_sign_in_page_signs_a_directory_person_in_without_any_local_account(
    server: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    for name, value in _env(directory_settings(server, tmp_path)).items():
        monkeypatch.setenv(name, value)
    main = str(Path(__file__).resolve().parent.parent / "app" / "ui" / "main.py")
    at = AppTest.from_file(main, default_timeout=180).run()
    assert not at.warning, "a directory is configured: people can sign in"
    assert "organisation's user name" in at.caption[0].value

    at.text_input[0].set_value("Alice")
    at.text_input[1].set_value(PASSWORDS["alice"])
    at.button[0].click().run()

    assert not at.exception and at.title[0].value != "Sign in to Docent"
    assert "Signed in as **alice** (user)" in [c.value for c in at.sidebar.caption]


@pytest.mark.slow
def test_the_doctor_checks_the_directory_and_names_the_fix(tmp_path: Path) -> None:
    from app.doctor import check_directory

    assert check_directory(Settings(data_dir=tmp_path)) is None
    with ldap_server.slapd(tmp_path / "slapd") as running:
        settings = directory_settings(running, tmp_path)
        assert check_directory(settings) == Check(
            "directory", True, f"{running.url}: the service account signs in and searches"
        )
        wrong = check_directory(settings.model_copy(update={"ldap_group_base": "ou=x,o=y"}))
        assert wrong is not None and not wrong.ok and wrong.fix == "check `ldap_group_base`"
    down = check_directory(settings)
    assert down is not None and not down.ok and "Local accounts still sign in" in down.fix


@pytest.mark.slow
def test_a_sync_the_server_cuts_short_fails_and_disables_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # slapd's default limit is 500 entries a search: with it, people past the first
    # 500 were taken for removed and disabled. Here the limit is 2, the directory larger.
    with ldap_server.slapd(tmp_path / "slapd", size_limit=2) as limited:
        settings = directory_settings(limited, tmp_path)
        docent_cli = _cli(settings, monkeypatch, capsys)
        gate = Docent(settings).gate
        cookie = gate.sessions.keep(gate.sign_in("alice", PASSWORDS["alice"]))
        gate.sign_in("bob", PASSWORDS["bob"])

        code, out, err = docent_cli("directory", "sync")

        assert code != 0, out
        assert "stopped the search" in err and "size" in err.lower(), err
        assert "nothing was changed" in err, err
        assert gate.sessions.resume(cookie, gate.accounts).user.name == "alice"
        listed = docent_cli("users", "list")[1]
        assert "disabled" not in listed, listed
