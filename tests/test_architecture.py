"""The rooms import only in the allowed directions (docs/architecture.md, "The rooms").

Imports are read with ``ast`` from every product module, including those made inside
functions and under ``TYPE_CHECKING``: a lazy import crosses a boundary all the same.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("models", "rag", "ingest", "app")
# What each room may import of Docent's own packages (a room may always import itself).
ALLOWED = {
    "models": set[str](),
    "rag": {"models"},
    "ingest": {"models", "rag"},
    "app": {"models", "rag", "ingest"},
}
OWN = {*ROOMS, "tests", "bench"}
# The store (its Index and Collection) is the only door to Chroma; connect and
# chroma_function open its clients and embedding function for it.
STORE = {"rag/store.py", "rag/collection.py"}
CHROMA_MODULES = {*STORE, "rag/connect.py", "rag/chroma_function.py"}
# The faces of app/: each calls app's core (api, settings, auth, ...) and never another
# face, but for the CLI starting the others' servers. The core imports no face.
FACES = ("app.cli", "app.ui", "app.http")
LAUNCHERS = {"app.ui.launch", "app.http.server"}


def modules() -> Iterator[Path]:
    """Every Python file of the product rooms."""
    for room in ROOMS:
        yield from sorted((ROOT / room).rglob("*.py"))


@functools.cache
def nodes(path: Path) -> list[ast.AST]:
    """Every node of a file's syntax tree."""
    return list(ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted module name)`` of every import in a file."""
    for node in nodes(path):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # ``from app.ui import launch`` may name a module: count it as ``app.ui.launch``.
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def crossings(path: Path) -> list[str]:
    """The imports of ``path`` that cross the allowed directions, as messages."""
    room = name(path).split("/")[0]
    found = []
    for line, module in imported(path):
        top = module.split(".")[0]
        if top in OWN and top != room and top not in ALLOWED[room]:
            found.append(f"{name(path)}:{line} imports {module} ({room} may not import {top})")
        if top == "chromadb" and name(path) not in CHROMA_MODULES:
            found.append(f"{name(path)}:{line} imports {module} (only rag/store.py speaks Chroma)")
        if top == "streamlit" and room != "app":
            found.append(f"{name(path)}:{line} imports {module} (Streamlit belongs to app/)")
        if room == "app":
            found.extend(face_crossing(path, line, module))
    return found


def face(dotted: str) -> str | None:
    """The face (``app.cli``, ``app.ui``, ``app.http``) a module belongs to, if any."""
    return next((f for f in FACES if dotted == f or dotted.startswith(f + ".")), None)


def launches(mine: str | None, module: str) -> bool:
    """Whether ``module`` is (or is in) a launcher the CLI may import."""
    return mine == "app.cli" and any(module == x or module.startswith(x + ".") for x in LAUNCHERS)


def face_crossing(path: Path, line: int, module: str) -> list[str]:
    """An import of one face by another face, or of a face by app's core."""
    mine = face(".".join(path.relative_to(ROOT).with_suffix("").parts))
    theirs = face(module)
    if theirs is None or theirs == mine or launches(mine, module):
        return []
    who = f"the face {mine}" if mine else "app's core"
    return [f"{name(path)}:{line} imports {module} ({who} may not import the face {theirs})"]


def raw_store_uses(path: Path) -> list[str]:
    """Uses of ``Collection.chroma`` (the raw Chroma collection) outside the store."""
    if name(path) in STORE:
        return []
    return [
        f"{name(path)}:{node.lineno} reads `.chroma` (use rag.store.Collection's methods)"
        for node in nodes(path)
        if isinstance(node, ast.Attribute) and node.attr == "chroma"
    ]


# Domain work a face leaves to app.api.Docent, which audits it once for every caller.
DOMAIN_WRITES = {
    "audit": {"append"},
    "accounts": {"add", "edit", "passwd", "remove"},
    "grants": {"grant", "revoke", "forget"},
}
DOMAIN_FUNCTIONS = {"recover", "stage_uploads", "forget_uploads"}
# The HTTP API's record of each request it served is the face's own log.
FACE_RECORDS = {("app/http/security.py", "api")}


def domain_work(path: Path) -> list[str]:
    """Audit records, account, grant, upload or repair writes made by a face itself."""
    if face(".".join(path.relative_to(ROOT).with_suffix("").parts)) is None:
        return []
    found = []
    for node in nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module:
            done = [alias.name for alias in node.names if alias.name in DOMAIN_FUNCTIONS]
            found += [f"{name(path)}:{node.lineno} imports {node.module}.{n}" for n in done]
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        held = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if node.func.attr not in DOMAIN_WRITES.get(held, set()):
            continue
        first = node.args[0] if node.args else None
        event = first.value if isinstance(first, ast.Constant) else None
        if (name(path), event) not in FACE_RECORDS:
            found.append(f"{name(path)}:{node.lineno} calls {held}.{node.func.attr}")
    return [f"{message} (a face calls app.api.Docent, which audits)" for message in found]


def test_every_room_imports_only_in_the_allowed_directions() -> None:
    found = [message for path in modules() for message in crossings(path)]
    assert found == []


def test_only_the_store_touches_the_chroma_collection() -> None:
    found = [message for path in modules() for message in raw_store_uses(path)]
    assert found == []


@pytest.mark.parametrize(
    ("where", "source", "wrong"),
    [
        ("rag/answer_x.py", "from app.api import Docent\n", "rag may not import app"),
        ("models/chat_x.py", "def f():\n    import rag.store\n", "models may not import rag"),
        ("rag/retrieve_x.py", "from ingest.pipeline import Ingestor\n", "rag may not import"),
        ("app/x.py", "import chromadb\n", "only rag/store.py speaks Chroma"),
        ("rag/x.py", "import streamlit as st\n", "Streamlit belongs to app/"),
        ("app/x.py", "from app.ui import present\n", "app's core may not import the face"),
        ("app/ui/x.py", "from app.cli import render\n", "app.ui may not import the face"),
        ("app/http/x.py", "from app.ui.launch import serve\n", "may not import the face app.ui"),
    ],
)
def test_a_crossing_import_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str, wrong: str
) -> None:
    path = _module(tmp_path, monkeypatch, where, source)

    assert [message for message in crossings(path) if wrong in message]


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str) -> Path:
    """A product module ``where`` of ``source`` in a tree of its own."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def test_a_raw_chroma_read_outside_the_store_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _module(
        tmp_path, monkeypatch, "rag/x.py", "def f(c):\n    return c.chroma.get(include=[])\n"
    )

    assert raw_store_uses(path) == [
        "rag/x.py:2 reads `.chroma` (use rag.store.Collection's methods)"
    ]


def test_faces_leave_audited_work_to_the_api() -> None:
    found = [message for path in modules() for message in domain_work(path)]
    assert found == []


@pytest.mark.parametrize(
    ("where", "source", "wrong"),
    [
        ("app/cli/x.py", "def f(d):\n    d.audit.append('user_add', 'cli')\n", "audit.append"),
        ("app/ui/x.py", "def f(d):\n    d.grants.forget('alice')\n", "grants.forget"),
        ("app/http/x.py", "def f(accounts):\n    accounts.add('a', 'p')\n", "accounts.add"),
        ("app/ui/x.py", "from ingest.pipeline import recover\n", "ingest.pipeline.recover"),
        ("app/http/x.py", "from app.uploads import forget_uploads\n", "forget_uploads"),
    ],
)
def test_domain_work_in_a_face_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str, wrong: str
) -> None:
    path = _module(tmp_path, monkeypatch, where, source)
    core = _module(tmp_path, monkeypatch, "app/x.py", source)

    assert [message for message in domain_work(path) if wrong in message]
    assert domain_work(core) == []
