"""The rule that keeps ``make test-fast`` fast: a test that loads a model, starts a process or
runs a server is marked ``slow`` (or ``browser``), and fails here when it is not.

What a test does is watched while it runs and while its fixtures are set up (a fixture that
starts a server makes every test that uses it slow):

- a model: the ``embedder`` fixture (loaded once a run, in the background), an
  ``Embedder`` that starts loading, or a weight file (``.gguf``, ``.safetensors``,
  ``.onnx``) opened;
- a process: ``subprocess``, ``os.fork``/``exec``/``posix_spawn`` (Python's audit events)
  and ``multiprocessing`` processes;
- a server: a socket that listens, even on loopback in a thread of the test process.

Work done in a thread is charged to the test or fixture that started the thread, and only
while that one runs, so a model a finished test left loading in the background is nobody's.
"""

from __future__ import annotations

import multiprocessing.process
import os
import socket
import sys
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SLOW_MARKS = ("slow", "browser", "install")
# Fixtures that load a model out of sight (in a background thread, once a run).
MODEL_FIXTURES = {"embedder": "uses the embedder fixture (the packaged embedder model)"}
WEIGHTS = (".gguf", ".safetensors", ".onnx")
PROCESS_EVENTS = ("subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec")


@dataclass
class Scope:
    """A test's call or a fixture's setup while it runs, and what slow things it did."""

    name: str
    running: bool = True
    seen: list[str] = field(default_factory=list)


class Watch:
    """Charges slow work to the scope that did it (see the module docstring)."""

    def __init__(self) -> None:
        self.stack: list[Scope] = []
        self.runner: threading.Thread | None = None
        self.costly: dict[tuple[str, str], str] = {}
        self.installed = False

    def scope(self) -> Scope | None:
        """The scope the current thread works for."""
        thread = threading.current_thread()
        if thread is self.runner:
            return self.stack[-1] if self.stack else None
        origin: Scope | None = getattr(thread, "_fast_loop_scope", None)
        return origin if origin is not None and origin.running else None

    def note(self, what: str) -> None:
        scope = self.scope()
        if scope is not None and what not in scope.seen:
            scope.seen.append(what)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.stack:
            return
        if event == "open":
            path = args[0]
            if isinstance(path, str | os.PathLike) and os.fspath(path).endswith(WEIGHTS):
                self.note(f"opens the model weights {Path(path).name}")
        elif event in PROCESS_EVENTS:
            self.note(f"starts a process ({event}: {args[0]!r})")

    def push(self, name: str) -> Scope:
        self.runner = threading.current_thread()
        scope = Scope(name)
        self.stack.append(scope)
        return scope

    def pop(self, scope: Scope) -> None:
        scope.running = False
        self.stack.remove(scope)


WATCH = Watch()


def _wrap(owner: Any, name: str, what: Callable[[Any], str | None]) -> None:
    """Note ``what(self)`` (when not None) each time ``owner.name`` is called."""
    original = getattr(owner, name)

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        said = what(self)
        if said:
            WATCH.note(said)
        return original(self, *args, **kwargs)

    setattr(owner, name, watched)


def _tag_thread(thread: threading.Thread) -> None:
    """Charge a new thread's work to the scope that starts it."""
    thread._fast_loop_scope = WATCH.scope()  # type: ignore[attr-defined]
    return None


def _process_start(process: multiprocessing.process.BaseProcess) -> str:
    return f"starts a process ({type(process).__name__})"


def _embedder_load(embedder: Any) -> str | None:
    if embedder._model is None and embedder._loader is None:
        return "loads the embedder model"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Start watching, once, in the process that runs the tests (not the xdist controller)."""
    runs_tests = hasattr(config, "workerinput") or config.getoption("dist", "no") == "no"
    if runs_tests and not WATCH.installed:
        WATCH.installed = True
        sys.addaudithook(WATCH.audit)  # audit hooks stay for the life of the process
        _wrap(threading.Thread, "start", _tag_thread)
        _wrap(multiprocessing.process.BaseProcess, "start", _process_start)
        _wrap(socket.socket, "listen", lambda _: "runs a server (a listening socket)")


def _watch_the_embedder() -> None:
    """Wrap ``Embedder.start_loading`` once ``models.embedder`` is imported (at collection)."""
    module = sys.modules.get("models.embedder")
    embedder = getattr(module, "Embedder", None)
    if embedder is not None and not getattr(embedder, "_fast_loop_watched", False):
        _wrap(embedder, "start_loading", _embedder_load)
        embedder._fast_loop_watched = True


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    _watch_the_embedder()
    scope = WATCH.push(f"fixture {fixturedef.argname}")
    try:
        return (yield)
    finally:
        WATCH.pop(scope)
        if scope.seen:
            WATCH.costly[(fixturedef.baseid, fixturedef.argname)] = scope.seen[0]


def _fixture_costs(item: pytest.Item) -> list[str]:
    info = getattr(item, "_fixtureinfo", None)
    found = []
    for name in getattr(item, "fixturenames", ()):
        if name in MODEL_FIXTURES:
            found.append(MODEL_FIXTURES[name])
            continue
        for definition in info.name2fixturedefs.get(name, ()) if info else ():
            cost = WATCH.costly.get((definition.baseid, definition.argname))
            if cost:
                found.append(f"uses the fixture {name}, which {cost}")
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    _watch_the_embedder()
    scope = WATCH.push(f"test {item.nodeid}")
    try:
        result = yield
    finally:
        WATCH.pop(scope)
    if not any(item.get_closest_marker(mark) for mark in SLOW_MARKS):
        costs = _fixture_costs(item) + scope.seen
        if costs:
            pytest.fail(
                "this test is not marked slow but it "
                + "; ".join(dict.fromkeys(costs))
                + ": mark it @pytest.mark.slow so that `make test-fast` stays fast",
                pytrace=False,
            )
    return result
