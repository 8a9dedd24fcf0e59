"""The browser UI's pages through ``streamlit.testing``: real index, embedder and SmolLM2.

Each page runs as Streamlit runs it, in this process; the shared ``Docent`` is built by
the page from the ``DOCENT_*`` settings, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from app.api import Docent
from app.auth.access import Grants
from app.auth.accounts import AccountError, Accounts, Role, Session
from app.settings import Settings
from app.ui import resources
from models.embedder import Embedder
from tests import docgen
from tests.chroma_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LEAVE = "How many days of annual leave does every employee receive?"
TIMEOUT = 180
PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
MAIN = str(ROOT / "app" / "ui" / "main.py")


def account(name: str, role: Role = "admin") -> Session:
    """A session for ``name`` in the data folder in force, creating the account if needed."""
    accounts = Accounts(Path(os.environ["DOCENT_DATA_DIR"]) / "users.json", FAST)
    try:
        user = accounts.get(name)
    except AccountError:
        user = accounts.add(name, PASSWORD, role=role)
    return Session.start(user, timedelta(minutes=30))


def page(name: str, user: str = "admin", role: Role = "admin") -> AppTest:
    """One page of the UI, run alone as ``user`` signed in (``main.py`` adds the sign-in)."""
    at = AppTest.from_string(f"from app.ui import {name}\n{name}.page()", default_timeout=TIMEOUT)
    at.session_state["session"] = account(user, role)
    return at


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("docs") / "handbook.pdf"
    docgen.make_pdf(path, pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    return path.read_bytes()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, handbook: bytes) -> Iterator[Path]:
    """A data folder whose `default` collection holds the handbook, uploaded through the UI."""
    data = tmp_path_factory.mktemp("ui") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCENT_DATA_DIR", str(data))
        patch.setenv("DOCENT_CHAT_TEMPERATURE", "0")
        at = page("library").run()
        at.file_uploader[0].set_value(("handbook.pdf", handbook, "application/pdf")).run()
        next(b for b in at.button if b.label.startswith("Add to")).click().run()
        assert not at.exception, at.exception
        yield data


@pytest.fixture
def in_library(library: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(library))
    monkeypatch.setenv("DOCENT_CHAT_TEMPERATURE", "0")
    return library


def texts(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_main_opens_on_the_ask_page(in_library: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.session_state["session"] = account("admin")
    at.run()

    assert not at.exception
    assert at.title[0].value == "Ask your documents"
    assert at.selectbox(key="collection-picker").value == "default"
    assert "Signed in as **admin** (admin)" in [c.value for c in at.sidebar.caption]
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert at.title[0].value == "Sign in to Docent"


def test_sign_in_refuses_a_wrong_password_then_opens_the_app(in_library: Path) -> None:
    account("carol", "user")
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    assert at.title[0].value == "Sign in to Docent" and not at.chat_input

    at.text_input[0].set_value(" Carol")
    at.text_input[1].set_value("wrong password")
    at.button[0].click().run()
    assert at.error[0].value.startswith("Wrong user name or password"), at.error
    assert at.title[0].value == "Sign in to Docent"

    at.text_input[1].set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Ask your documents"
    assert "Signed in as **carol** (user)" in [c.value for c in at.sidebar.caption]


def test_oidc_sign_in_maps_the_verified_name_to_the_local_account(in_library: Path) -> None:
    account("erin", "user")
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback"}
    at.user = {"is_logged_in": False}
    at.run()
    assert "Sign in with your organisation" in [b.label for b in at.button]

    at.user = {"is_logged_in": True, "preferred_username": "Erin@example.org"}
    at.run()
    assert not at.exception and at.title[0].value == "Ask your documents"
    assert "Signed in as **erin** (user)" in [c.value for c in at.sidebar.caption]

    stranger = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    stranger.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback"}
    stranger.user = {"is_logged_in": True, "preferred_username": "mallory"}
    stranger.run()
    assert stranger.error[0].value == "No Docent account for “mallory”\\."
    assert stranger.title[0].value == "Sign in to Docent"


HEAVY = ("chromadb", "langchain_core", "torch", "llama_cpp", "app.api", "rag.store")


def imported_after(code: str, modules: tuple[str, ...]) -> set[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(shown.stdout.split())


def test_the_sign_in_page_needs_none_of_the_heavy_modules() -> None:
    # The sign-in page paints before chromadb, LangChain and the models are imported:
    # those take seconds, and ``resources.preload`` imports them in the background.
    code = (
        "from app.ui import ask, library, resources, signin, status, summarize\n"
        "from app.auth.gate import Gate\n"
        "from app.settings import Settings\n"
        "Gate(Settings()).accounts.users()"
    )
    assert imported_after(code, HEAVY) == set()


def test_the_background_preload_imports_what_the_pages_after_sign_in_use() -> None:
    code = "from app.ui.resources import _import_heavy\n_import_heavy()"
    used = ("chromadb", "langchain_core.language_models", "rag.answer", "rag.summarize")
    assert imported_after(code, used + resources.HEAVY_MODULES) == set(used) | set(
        resources.HEAVY_MODULES
    )


def test_without_accounts_the_sign_in_page_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))

    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()

    assert not at.exception and at.warning[0].value == "Docent has no accounts yet."
    assert "docent users add NAME --admin" in at.info[0].value
    assert not at.text_input, "no sign-in form while nobody could sign in"


def test_an_expired_session_returns_to_the_sign_in_page(in_library: Path) -> None:
    user = account("admin").user
    past = datetime.now(UTC) + timedelta(seconds=1)  # issued after the account's last change
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.session_state["session"] = Session(user, "stale", past, past + timedelta(seconds=1))
    time.sleep((past + timedelta(seconds=1) - datetime.now(UTC)).total_seconds())
    at.run()

    assert at.title[0].value == "Sign in to Docent"
    assert "session" not in at.session_state
    alone = page("library")
    alone.session_state["session"] = Session(user, "stale", past, past + timedelta(seconds=1))
    alone.run()
    assert alone.warning[0].value.startswith("Your session has ended") and not alone.dataframe


def test_a_user_sees_and_is_answered_from_granted_documents_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    files = tmp_path / "files"
    files.mkdir()
    (files / "canteen.md").write_text("# Canteen\n\nThe canteen opens at 11:30 every day.\n")
    (files / "vault.md").write_text("# Vault\n\nThe vault code is 7319 until March.\n")
    monkeypatch.setenv("DOCENT_DATA_DIR", str(data))
    monkeypatch.setenv("DOCENT_CHAT_TEMPERATURE", "0")
    monkeypatch.setenv("DOCENT_SYNC_FOLDER", str(files))
    setup = Docent(Settings.load(), embedder=embedder)
    setup.ingest([files / "canteen.md"], "default", labels=["public"])
    setup.ingest([files / "vault.md"], "default", labels=["secret"])
    account("dave", "user")
    Grants(data / "grants.json").grant("dave", "default", "public")

    library = page("library", "dave", "user").run()
    assert not library.exception
    assert list(library.dataframe[0].value["file"]) == ["canteen.md"]
    labels = [b.label for b in library.button]
    assert not any(label.startswith("Delete") for label in labels)
    assert not any(label.startswith("Re-sync") for label in labels)

    ask = page("ask", "dave", "user").run()
    ask.chat_input[0].set_value("What is the vault code?").run()
    assert not ask.exception
    assert "7319" not in texts(ask) and "vault.md" not in texts(ask)

    admin = page("library").run()
    assert sorted(admin.dataframe[0].value["file"]) == ["canteen.md", "vault.md"]
    assert "Delete a document…" in [b.label for b in admin.button]
    assert any(b.label.startswith("Re-sync") for b in admin.button)


def test_ask_streams_a_verified_answer_with_a_cited_passage(in_library: Path) -> None:
    at = page("ask").run()
    at.chat_input[0].set_value(LEAVE).run()

    assert not at.exception and not at.error
    assert "27" in texts(at)
    # Where the quote is from, in a neutral line: no green "Verified" badge for a quote.
    said = [str(c.value) for c in at.caption if "Quoted from" in str(c.value)]
    assert said == [":material/format_quote: Quoted from handbook\\.pdf\\, page 2\\."], said
    assert not at.success
    # Each sentence is a quote with its number, a button that opens the source beside it.
    assert any(m.value.startswith("> ") and "27 days" in m.value for m in at.markdown)
    marker = next(b for b in at.button if b.label == "\\[1\\]")
    marker.click().run()
    assert not at.exception
    # The source opens in its panel (a dialog titled "Source 1: Staff Handbook"): what is
    # quoted, and a way to close it.
    assert [m.value for m in at.markdown if m.value.startswith("**Quoted:**")], "no panel"
    assert any(b.label == "Close" for b in at.button)
    labels = [d.proto.label for d in at.get("download_button")]
    # Beside the quote, the page alone as a PDF of its own, one click away (the
    # conversation's export follows it); in the panel the whole original and the page.
    assert labels == [
        "Page 2 alone (PDF)",
        "Export as Markdown",
        "Download the original",
        "Page 2 alone (PDF)",
    ], labels


def test_follow_up_keeps_the_conversation_and_new_conversation_clears_it(
    in_library: Path,
) -> None:
    at = page("ask").run()
    at.chat_input[0].set_value("What is the boiling point of tungsten in kelvin?").run()
    at.chat_input[0].set_value("And of iron?").run()

    assert len(at.chat_message) == 4
    assert at.info[0].value.startswith("Not found in your documents")
    assert at.expander[0].label == "Closest passages"
    assert "handbook" in texts(at)

    at.button(key="new-conversation").click().run()
    assert len(at.chat_message) == 0


def test_ask_quotes_and_names_the_fix_when_the_chat_server_is_down(
    in_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_CHAT_BACKEND", "ollama")
    monkeypatch.setenv("DOCENT_CHAT_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("DOCENT_CHAT_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("DOCENT_ANSWER_MODE", "model")

    at = page("ask").run()
    at.chat_input[0].set_value(LEAVE).run()

    # The quotes still answer, and the reader is told why the model did not.
    assert not at.exception
    assert "27" in texts(at)
    assert at.info[0].value.startswith("Quoted from handbook"), at.info[0].value
    assert "answer is not shown\\: the model failed" in at.info[0].value
    assert "ollama serve" in at.info[0].value, at.info[0].value


def test_ask_on_an_empty_collection_points_to_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))

    at = page("ask").run()

    assert not at.exception
    assert at.info[0].value.startswith("No documents in default yet")


def test_summarize_shows_progress_result_and_a_markdown_download(in_library: Path) -> None:
    at = page("summarize").run()
    at.text_input[0].set_value("hand").run()
    at.segmented_control[0].set_value("short").run()
    next(b for b in at.button if b.label == "Summarize").click().run()

    assert not at.exception and not at.error
    assert at.subheader[0].value == "Summary of Staff Handbook"
    # Each point quoted with its page, and the reader told how the summary was made.
    assert "(p. 1)" in at.markdown[-1].value or any("(p. 1)" in m.value for m in at.markdown)
    assert "every point is quoted from the document" in " ".join(c.value for c in at.caption)
    assert at.get("download_button")


def test_summarize_on_an_empty_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))

    at = page("summarize").run()

    assert at.info[0].value.startswith("No documents in `default` yet")


def test_upload_reports_every_file_and_keeps_names_inside_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handbook: bytes
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("DOCENT_DATA_DIR", str(data))
    at = page("library").run()
    at.file_uploader[0].set_value(
        [
            ("../../handbook.pdf", handbook, "application/pdf"),
            ("broken.pdf", b"%PDF-1.4\nthis is not a PDF body", "application/pdf"),
            ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ]
    ).run()
    next(b for b in at.button if b.label.startswith("Add to")).click().run()

    assert not at.exception
    assert at.warning[0].value.startswith("3 files into")
    report = at.dataframe[0].value
    outcomes = dict(zip(report["file"], report["outcome"], strict=True))
    assert outcomes == {"handbook.pdf": "added", "broken.pdf": "failed", "tool.exe": "skipped"}
    assert all(report["reason"][i] for i in range(3) if report["outcome"][i] != "added")
    # What failed, then the fix, in one sentence; said in full under the table too.
    broken = dict(zip(report["file"], report["reason"], strict=True))["broken.pdf"]
    assert broken.startswith("the PDF is damaged or not a PDF; re-export or repair it"), broken
    assert "PDFium" not in broken and ".;" not in broken
    assert any(c.value.startswith("broken\\.pdf\\: the PDF is damaged") for c in at.caption)
    uploads = data / "uploads" / "default"
    # Only what the ingest accepted is kept; nothing is left under a temporary name.
    assert sorted(p.name for p in uploads.iterdir()) == ["handbook.pdf"]
    assert not (tmp_path / "handbook.pdf").exists()

    listing = at.dataframe[1].value
    assert list(listing["file"]) == ["handbook.pdf"] and list(listing["pages"]) == [3]
    # Deleting asks first: nothing chosen, then the document named on the button.
    at.button(key="delete-open").click().run()
    assert at.selectbox(key="delete-choice").value is None
    assert not any(b.label.startswith("Delete handbook") for b in at.button)
    at.selectbox(key="delete-choice").set_value("handbook.pdf").run()
    assert not at.warning[1:], "an upload does not come back by itself"
    next(b for b in at.button if b.label == "Delete handbook\\.pdf").click().run()
    assert at.info[-1].value.startswith("No documents in default yet")
    assert not any(b.label.startswith("Delete handbook") for b in at.button), "dialog closed"
    assert not (uploads / "handbook.pdf").exists()


def test_status_reports_each_component(in_library: Path) -> None:
    at = page("status").run()

    assert not at.exception
    components = [s.value for s in at.success]
    assert [c.split(":")[0] for c in components] == ["**Index**", "**Embedder**", "**Chat model**"]
    assert "llamacpp" in components[2]
    assert at.dataframe[0].value["documents"][0] == 1


def test_status_names_the_fix_when_ollama_is_down(
    in_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_CHAT_BACKEND", "ollama")
    monkeypatch.setenv("DOCENT_CHAT_BASE_URL", f"http://127.0.0.1:{free_port()}")

    at = page("status").run()

    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("**Chat model**")
    assert "ollama serve" in at.error[0].value.replace("\\", "")


def test_uploads_over_the_limit_are_refused_and_not_written(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_UPLOAD_MAX_MB", "1")
    at = page("library").run()
    at.file_uploader[0].set_value(
        [
            ("big.txt", b"The archive is in the basement.\n" * 40_000, "text/plain"),
            ("small.txt", b"The archive key is at the front desk.\n", "text/plain"),
        ]
    ).run()
    next(b for b in at.button if b.label.startswith("Add to")).click().run()

    report = at.dataframe[0].value
    columns = (report["file"], report["outcome"], report["reason"])
    rows = {f: (o, r) for f, o, r in zip(*columns, strict=True)}
    assert rows["small.txt"][0] == "added"
    assert rows["big.txt"] == ("skipped", "larger than the upload limit of 1 MB")
    assert [p.name for p in (data_dir / "uploads" / "default").iterdir()] == ["small.txt"]


def test_resync_of_the_configured_folder_reports_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "parking.md").write_text("# Parking\n\nThe car park opens at 06:30.\n")
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_SYNC_FOLDER", str(share))
    at = page("library").run()

    next(b for b in at.button if b.label.startswith("Re-sync into")).click().run()
    assert at.success[0].value == "1 file into default\\: 1 added\\."

    (share / "parking.md").unlink()
    next(b for b in at.button if b.label.startswith("Re-sync into")).click().run()
    gone = "0 files into default\\: nothing to do\\; 1 removed \\(file gone\\)\\."
    assert [s.value for s in at.success] == [gone]
    assert at.info[-1].value.startswith("No documents in default yet")


def test_deleting_a_shared_folder_document_asks_and_says_it_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "parking.md").write_text("# Parking\n\nThe car park opens at 06:30.\n")
    (share / "canteen.md").write_text("# Canteen\n\nThe canteen opens at 11:30.\n")
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_SYNC_FOLDER", str(share))
    at = page("library").run()
    next(b for b in at.button if b.label.startswith("Re-sync into")).click().run()

    at.button(key="delete-open").click().run()
    at.selectbox(key="delete-choice").set_value("parking.md").run()
    said = at.warning[-1].value
    assert "comes back at the next re-sync unless it is removed from the folder" in said
    next(b for b in at.button if b.label == "Delete parking\\.md").click().run()

    assert not at.exception
    assert list(at.dataframe[-1].value["file"]) == ["canteen.md"]
    assert at.toast[0].value == "Deleted parking\\.md."
    # The dialog closed: no document stands chosen under a delete button.
    assert not [s for s in at.selectbox if s.key == "delete-choice"]
    assert not any(b.label.startswith("Delete canteen") for b in at.button)
    assert (share / "parking.md").exists(), "the shared folder is never touched"

    at.button(key="delete-open").click().run()
    assert at.selectbox(key="delete-choice").value is None
    at.button(key="delete-cancel").click().run()
    assert not [s for s in at.selectbox if s.key == "delete-choice"]
