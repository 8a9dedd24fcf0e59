"""The session cookie's server side: signed values, the session store, one-time codes."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from app.auth.accounts import Accounts, Session, SessionExpired
from app.auth.sessions import SessionStore
from app.ui import cookies, wording
from ingest.report import FileOutcome, IngestReport

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    made = Accounts(tmp_path / "users.json", FAST)
    made.add("carol", "correct horse battery")
    return made


def test_a_kept_session_resumes_from_its_cookie_until_signed_out(
    tmp_path: Path, accounts: Accounts
) -> None:
    store = SessionStore(tmp_path)
    session = accounts.sign_in("carol", "correct horse battery", timedelta(minutes=5))
    cookie = store.keep(session)

    again = store.resume(cookie, accounts)
    assert again.user.name == "carol" and again.token == session.token
    assert session.token not in (tmp_path / "sessions.json").read_text()
    for path in ("sessions.json", "session.key"):
        assert stat.S_IMODE((tmp_path / path).stat().st_mode) == 0o600
    store.end(session.token)
    with pytest.raises(SessionExpired):
        store.resume(cookie, accounts)


def test_forged_expired_and_stale_cookies_open_nothing(tmp_path: Path, accounts: Accounts) -> None:
    store = SessionStore(tmp_path)
    session = accounts.sign_in("carol", "correct horse battery", timedelta(minutes=5))
    cookie = store.keep(session)
    token, _, signature = cookie.partition(".")
    for forged in (f"{token}.{'0' * len(signature)}", token, "", f"x{token}.{signature}"):
        with pytest.raises(SessionExpired):
            store.resume(forged, accounts)
    past = Session.start(session.user, timedelta(seconds=-1))
    with pytest.raises(SessionExpired):
        store.resume(store.keep(past), accounts)
    accounts.passwd("carol", "another good password")
    with pytest.raises(SessionExpired):
        store.resume(cookie, accounts)


def test_a_code_is_traded_for_the_cookie_once() -> None:
    code = cookies.handoff("value.sig", 600)
    assert cookies.redeem(code) == ("value.sig", 600)
    assert cookies.redeem(code) is None
    assert cookies.redeem("made-up") is None
    header = cookies.header("value.sig", 600, secure=False)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Max-Age=600" in header
    assert "Secure" in cookies.header("v", 1, secure=True)


def test_upload_reasons_are_said_once_in_plain_words() -> None:
    scanned = FileOutcome(
        "a.pdf",
        "a.pdf",
        "skipped",
        "no extractable text (pages 1: no text layer; needs OCR)",
        pages=1,
        notes=["pages 1: no text layer; needs OCR"],
    )
    rows = wording.upload_rows(
        IngestReport("board", files=[scanned, FileOutcome("b.docx", "b.docx", "added")])
    )
    assert rows[0]["reason"] == "no readable text; pages 1: scanned, so its text cannot be read"
    assert rows[0]["pages"] == "1" and rows[1]["pages"] == ""
    assert "OCR" not in str(rows) and "chunk" not in str(rows)
    assert (
        wording.plain("labelled `board`, see `docent grant`")
        == "labelled “board”, see “docent grant”"
    )
