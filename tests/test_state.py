"""Accounts, grants, API tokens and sessions behave the same in files and in PostgreSQL.

The behaviour tests run against both backends of ``app.auth.state``: the data folder's
files (``state_url`` empty) and a real PostgreSQL started on loopback by the tests. Then,
on PostgreSQL only: two replicas on one database see each other's changes at once,
concurrent changes lose nothing, and the schema is made once and versioned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from app.auth.access import AccessError, Grant, Grants
from app.auth.accounts import AccountError, Accounts, SessionExpired, SignInError, User
from app.auth.gate import Gate
from app.auth.sessions import SessionStore
from app.auth.state import FileState, StateStore
from app.auth.state_postgres import MIGRATIONS, PostgresState
from app.auth.tokens import ApiTokens, TokenError
from app.settings import Settings
from models.errors import DocentError
from tests import postgres_server, system
from tests.test_egress import _INET, egress

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One PostgreSQL for the module; each test gets a database of its own."""
    with postgres_server.postgres() as url:
        yield url


@pytest.fixture
def database(server: str) -> str:
    return postgres_server.fresh_database(server)


@pytest.fixture(params=["files", pytest.param("postgresql", marks=pytest.mark.slow)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "files":
        yield FileState(tmp_path / "data")
        return
    made = PostgresState(request.getfixturevalue("database"))
    yield made
    made.close()


def test_accounts_are_added_changed_and_removed(state: StateStore) -> None:
    accounts = Accounts(state.document("users"), FAST)
    accounts.add("alice", "correct horse", role="admin")
    accounts.add("bob", "battery staple", groups=("nurses", "ward-2"))
    with pytest.raises(AccountError, match="exists already"):
        accounts.add("bob", "battery staple")

    assert [u.name for u in accounts.users()] == ["alice", "bob"]
    assert accounts.authenticate("bob", "battery staple").groups == ("nurses", "ward-2")
    with pytest.raises(SignInError):
        accounts.authenticate("bob", "wrong password")
    assert accounts.edit("bob", groups=("doctors",)).groups == ("doctors",)
    accounts.passwd("bob", "new password 1")
    assert accounts.authenticate("bob", "new password 1").name == "bob"
    accounts.remove("bob")
    with pytest.raises(AccountError, match="No user"):
        accounts.find("bob")
    assert accounts.get("alice").is_admin


def test_grants_are_given_replaced_revoked_and_forgotten(state: StateStore) -> None:
    grants = Grants(state.document("grants"))
    grants.grant("alice", "ward")
    grants.grant("@nurses", "ward", "night", write=True)
    grants.grant("alice", "ward", write=True)  # replaces the read-only grant

    assert grants.all() == [
        Grant("@nurses", "ward", "night", True),
        Grant("alice", "ward", "ward", True),
    ]
    nurse = User("nina", groups=("nurses",))
    assert grants.allowed(nurse, "ward") == ("night",)
    assert grants.allowed(User("alice"), "ward", write=True) == ("ward",)
    assert grants.revoke("alice", "ward") == [Grant("alice", "ward", "ward", True)]
    with pytest.raises(AccessError, match="holds no grant"):
        grants.revoke("alice", "ward")
    assert grants.forget("@nurses") == [Grant("@nurses", "ward", "night", True)]
    assert grants.forget("@nurses") == [] and grants.all() == []


def test_tokens_are_verified_until_revoked(state: StateStore) -> None:
    tokens = ApiTokens(state.document("tokens"))
    secret, token = tokens.create("alice", "ticket-system", HOUR)
    other, _ = tokens.create("alice", "backup", HOUR)

    assert tokens.verify(secret).id == token.id
    assert tokens.revoke(token.id).revoked_at is not None
    with pytest.raises(TokenError):
        tokens.verify(secret)
    assert [t.name for t in tokens.revoke_user("alice")] == ["backup"]
    with pytest.raises(TokenError):
        tokens.verify(other)
    with pytest.raises(TokenError, match="No API token"):
        tokens.revoke("000000000000")


def test_sessions_resume_until_signed_out_or_the_account_changes(state: StateStore) -> None:
    accounts = Accounts(state.document("users"), FAST)
    accounts.add("carol", "correct horse")
    sessions = SessionStore(state)
    first = sessions.keep(accounts.sign_in("carol", "correct horse", HOUR))
    second = accounts.sign_in("carol", "correct horse", HOUR)
    cookie = sessions.keep(second)

    assert sessions.resume(cookie, accounts).user.name == "carol"
    sessions.end(second.token)
    with pytest.raises(SessionExpired):
        sessions.resume(cookie, accounts)
    with pytest.raises(SessionExpired):
        # A forged signature: its last character changed (never to the one it was).
        sessions.resume(first[:-1] + ("1" if first.endswith("0") else "0"), accounts)
    accounts.passwd("carol", "battery staple")
    with pytest.raises(SessionExpired):
        sessions.resume(first, accounts)


def _gate(tmp_path: Path, url: str, replica: str) -> Gate:
    # Each replica its own data folder and its own connections, as on two machines.
    return Gate(
        Settings(data_dir=tmp_path / replica, state_url=f"{url}?application_name={replica}")
    )


@pytest.mark.slow
def test_two_replicas_see_each_others_changes_at_once(tmp_path: Path, database: str) -> None:
    one, two = _gate(tmp_path, database, "one"), _gate(tmp_path, database, "two")
    assert one.state is not two.state
    one.accounts.add("dave", "correct horse", groups=("nurses",))
    assert two.accounts.get("dave").groups == ("nurses",)

    Grants(two.state.document("grants")).grant("@nurses", "ward")
    assert Grants(one.state.document("grants")).allowed(User("dave", groups=("nurses",)), "ward")

    secret, token = one.tokens.create("dave", "rota", HOUR)
    assert two.tokens.verify(secret).id == token.id
    two.tokens.revoke(token.id)
    with pytest.raises(TokenError):
        one.tokens.verify(secret)

    session = one.sign_in("dave", "correct horse")
    cookie = one.sessions.keep(session)
    assert two.sessions.resume(cookie, two.accounts).user.name == "dave"
    two.sign_out(session)
    with pytest.raises(SessionExpired):
        one.sessions.resume(cookie, one.accounts)
    assert not (tmp_path / "one" / "users.json").exists()
    assert not (tmp_path / "two" / "session.key").exists()


@pytest.mark.slow
def test_concurrent_changes_on_two_replicas_lose_nothing(tmp_path: Path, database: str) -> None:
    replicas = [_gate(tmp_path, database, name) for name in ("one", "two")]
    errors: list[BaseException] = []

    def work(gate: Gate, prefix: str) -> None:
        try:
            accounts = Accounts(gate.state.document("users"), FAST)
            grants = Grants(gate.state.document("grants"))
            for number in range(8):
                accounts.add(f"{prefix}{number}", "correct horse")
                grants.grant(f"{prefix}{number}", "ward")
                gate.tokens.create(f"{prefix}{number}", "rota", HOUR)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(gate, f"{name}-"))
        for gate in replicas
        for name in (f"{gate.settings.data_dir.name}a", f"{gate.settings.data_dir.name}b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    one = replicas[0]
    assert len(one.accounts.users()) == 32
    assert len(Grants(one.state.document("grants")).all()) == 32
    assert len(one.tokens.tokens()) == 32


@pytest.mark.slow
def test_the_schema_is_made_once_and_versioned(database: str) -> None:
    first, second = PostgresState(database), PostgresState(database)
    try:
        assert first.schema_version() == second.migrate() == len(MIGRATIONS)
        with psycopg.connect(database) as connection:
            rows = connection.execute("SELECT version FROM state_schema").fetchall()
        assert rows == [(number,) for number in range(1, len(MIGRATIONS) + 1)]
    finally:
        first.close()
        second.close()


def test_an_empty_state_url_keeps_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    Accounts(Gate(settings).state.document("users"), FAST).add("erin", "correct horse")
    assert Accounts(settings.accounts_path(), FAST).get("erin").name == "erin"


def test_a_state_url_must_name_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="state_url"):
        Settings(data_dir=tmp_path, state_url="mysql://docent@127.0.0.1/docent")


@pytest.mark.slow
def test_an_unreachable_database_names_the_setting(tmp_path: Path, server: str) -> None:
    url = server.rsplit(":", 1)[0] + ":1/postgres?connect_timeout=2"
    with pytest.raises(DocentError) as refused:
        Gate(Settings(data_dir=tmp_path, state_url=url)).accounts.users()
    assert "state_url" in (refused.value.hint or "")
    assert "127.0.0.1:1/postgres" in refused.value.message


@pytest.mark.slow
def test_the_cli_reaches_only_the_configured_database(tmp_path: Path, database: str) -> None:
    system.require("strace", "strace")
    env = os.environ | {
        "PYTHONPATH": str(Path.cwd()),
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
        "DOCENT_STATE_URL": database,
    }
    trace = tmp_path / "trace"
    add = [sys.executable, "-m", "app.cli", "users", "add", "frank", "--password-stdin"]
    traced = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace)]
    done = subprocess.run(
        [*traced, *add], env=env, input="correct horse\n", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]

    port = int(database.rsplit(":", 1)[1].split("/")[0])
    peers = {(m.group(2), int(m.group(1))) for m in _INET.finditer(trace.read_text())}
    assert peers == {("127.0.0.1", port)} and egress(trace) == []
    # A second process made the account; this one sees it, and the data folder stayed empty.
    assert Gate(Settings(data_dir=tmp_path / "data", state_url=database)).accounts.get("frank")
    assert not (tmp_path / "data" / "users.json").exists()
