"""Local accounts: argon2 hashes, sign-in errors, file permissions, sessions, and the CLI."""

from __future__ import annotations

import json
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from app.auth.access import Grants
from app.auth.accounts import AccountError, Accounts, Session, SessionExpired, SignInError, User
from app.cli import cli

PASSWORD = "correct horse battery"
# Cheap parameters for the tests that are not about cost; the CLI uses the defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    return Accounts(tmp_path / "data" / "users.json", FAST)


def test_only_an_argon2_hash_is_stored_in_a_private_file(accounts: Accounts) -> None:
    user = accounts.add("alice", PASSWORD, groups=("legal", "legal"))

    text = accounts.path.read_text()
    stored = json.loads(text)["users"]["alice"]
    assert user == User("alice", "user", ("legal",))
    assert PASSWORD not in text
    assert stored["hash"].startswith("$argon2id$")
    assert stat.S_IMODE(accounts.path.stat().st_mode) == 0o600
    assert [p.name for p in accounts.path.parent.iterdir() if p.name.startswith(".")] == []


def test_sign_in_checks_the_password_and_hides_which_part_was_wrong(accounts: Accounts) -> None:
    accounts.add("root", PASSWORD, role="admin")

    assert accounts.authenticate("root", PASSWORD) == User("root", "admin", ())
    with pytest.raises(SignInError) as wrong:
        accounts.authenticate("root", PASSWORD + "!")
    with pytest.raises(SignInError) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    assert wrong.value.message == unknown.value.message == "Wrong user name or password."


def test_an_unknown_user_costs_as_much_as_a_wrong_password(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "users.json")  # the real parameters
    accounts.add("root", PASSWORD)

    def seconds(name: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            with pytest.raises(SignInError):
                accounts.authenticate(name, "not the password")
            times.append(time.perf_counter() - started)
        # The fastest of five: what the work costs, whatever else the machine is doing.
        return min(times)

    known, unknown = seconds("root"), seconds("nobody")
    # Skipping the hash would make the unknown name ~1000 times faster.
    assert unknown > known / 2 and known > 0.005


def test_names_and_passwords_are_checked(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="not a valid user name"):
        accounts.add("Robert'); DROP", PASSWORD)
    with pytest.raises(AccountError, match="too short"):
        accounts.add("bob", "short")
    accounts.add("bob", PASSWORD)
    with pytest.raises(AccountError, match="exists already"):
        accounts.add("bob", PASSWORD)


def test_passwd_replaces_the_password_and_ends_older_sessions(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD)
    session = accounts.sign_in("alice", PASSWORD, timedelta(hours=1))
    assert accounts.resume(session) == User("alice")

    accounts.passwd("alice", "a new passphrase")

    with pytest.raises(SignInError):
        accounts.authenticate("alice", PASSWORD)
    assert accounts.authenticate("alice", "a new passphrase").name == "alice"
    with pytest.raises(SessionExpired):
        accounts.resume(session)


def test_edit_changes_role_and_groups_and_rm_removes(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD)
    session = accounts.sign_in("alice", PASSWORD, timedelta(hours=1))

    assert accounts.edit("alice", role="admin", groups=("hr",)) == User("alice", "admin", ("hr",))
    with pytest.raises(SessionExpired):
        accounts.resume(session)
    accounts.remove("alice")
    assert accounts.users() == []
    with pytest.raises(SignInError):
        accounts.authenticate("alice", PASSWORD)
    with pytest.raises(AccountError, match="No user"):
        accounts.remove("alice")


def test_sessions_expire() -> None:
    now = datetime(2026, 1, 1, 9, tzinfo=UTC)
    session = Session.start(User("alice"), timedelta(minutes=30), now)

    assert session.valid(now) and session.valid(now + timedelta(minutes=29))
    assert not session.valid(now + timedelta(minutes=30))
    assert not session.valid(now - timedelta(seconds=1))
    assert len(session.token) >= 40
    assert Session.start(User("alice"), timedelta(minutes=1)).token != session.token


def test_resume_refuses_an_expired_session(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD)
    session = accounts.sign_in("alice", PASSWORD, timedelta(minutes=5))

    with pytest.raises(SessionExpired):
        accounts.resume(session, session.expires_at + timedelta(seconds=1))


def test_cli_manages_users_without_passwords_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    typed = f"{PASSWORD}\n{PASSWORD}\n"

    added = runner.invoke(cli, ["users", "add", "root", "--admin"], input=typed)
    piped = runner.invoke(cli, ["users", "add", "bob", "--password-stdin"], input=PASSWORD + "\n")
    first = runner.invoke(cli, ["users", "add", "eve", "--first", "--password-stdin"], input="x")
    argument = runner.invoke(cli, ["users", "add", "eve", "--password", PASSWORD])
    mismatch = runner.invoke(cli, ["users", "add", "eve"], input=f"{PASSWORD}\nother\n")
    listed = runner.invoke(cli, ["users", "list", "--json"])

    assert added.exit_code == piped.exit_code == first.exit_code == 0, added.output
    assert "nothing to do" in first.output
    assert argument.exit_code == 2 and "No such option" in argument.output
    assert mismatch.exit_code != 0
    assert json.loads(listed.output) == [
        {"name": "bob", "role": "user", "groups": [], "source": "local", "disabled": False},
        {"name": "root", "role": "admin", "groups": [], "source": "local", "disabled": False},
    ]
    accounts = Accounts(tmp_path / "data" / "users.json")
    assert accounts.authenticate("bob", PASSWORD).role == "user"

    changed = runner.invoke(
        cli, ["users", "passwd", "bob", "--password-stdin"], input="new pass 1\n"
    )
    granted = runner.invoke(cli, ["grant", "root", "legal"])
    removed = runner.invoke(cli, ["users", "rm", "root", "--yes"])
    assert changed.exit_code == granted.exit_code == removed.exit_code == 0
    assert "1 grant(s)" in removed.output
    assert accounts.authenticate("bob", "new pass 1").name == "bob"
    assert [u.name for u in accounts.users()] == ["bob"]
    assert Grants(tmp_path / "data" / "grants.json").all() == []


def test_first_admin_with_a_generated_password_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    command = ["users", "add", "admin", "--admin", "--first", "--generate"]

    made = runner.invoke(cli, command)
    again = runner.invoke(cli, command)

    assert made.exit_code == again.exit_code == 0, made.output
    password = made.output.split("Password: ", 1)[1].split()[0]
    assert len(password) >= 16 and "docent users passwd admin" in made.output
    assert "nothing to do" in again.output and password not in again.output
    accounts = Accounts(tmp_path / "data" / "users.json")
    assert accounts.authenticate("admin", password).is_admin
    assert password not in (tmp_path / "data" / "users.json").read_text()
