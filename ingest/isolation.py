"""Parsing each file in its own process, with time and memory limits.

Parsers are the part of Docent that touches hostile bytes: a crafted PDF can send pypdf
into an endless loop, a zip-bomb DOCX can inflate to gigabytes, a broken file can crash
a C extension. Each file is therefore parsed in a child of a fork server (started once,
with the loaders preloaded, so a child costs milliseconds), under an address-space cap,
and killed when it overruns its time. A file's time grows with the pages it reads by OCR
(the worker says when each starts; at ~0.4 OCR pages/s a 300-page scan needs far more than
a text PDF), up to a hard bound. Whatever happens, the caller gets either a
``ParsedDocument`` or a ``LoaderError`` whose message says why, and the batch goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest import ocr
from ingest.document import LoaderError, ParsedDocument
from ingest.loaders import PARSER_MODULES

Loader = Callable[[Path], ParsedDocument]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ingest.loaders", *PARSER_MODULES])


@dataclass(frozen=True)
class ParseLimits:
    """Limits for parsing one file.

    Attributes:
        timeout_seconds: Wall-clock time before the parser is killed.
        memory_bytes: Address space the parser may map (RLIMIT_AS).
        ocr_page_seconds: Time added for each page the parser reads by OCR.
        max_seconds: The bound on the whole file, OCR pages included.
    """

    timeout_seconds: float = 120.0
    memory_bytes: int = 2048 * 1024 * 1024
    ocr_page_seconds: float = 30.0
    max_seconds: float = 1800.0


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Keep a child from re-importing the caller's main module while it starts.

    multiprocessing re-imports the parent's ``__main__`` in each child: for ``docent``
    that is the whole CLI (Chroma, LangChain, ...) once per file, and for an integrator's
    script without an ``if __name__ == "__main__"`` guard it re-runs the script. Loaders
    never need ``__main__``, and a spec named ``__main__`` is what tells a child to skip it.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    original = getattr(main, "__spec__", None)
    main.__spec__ = ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = original


def _watch_parent(watch: Connection) -> None:
    """End this worker as soon as its parent is gone, even killed with SIGKILL.

    The parent holds the only write end of ``watch`` and never writes: the read end
    becomes readable (end of file) exactly when the parent's copy closes. The whole
    process group goes, so an OCR command the worker started dies with it.
    """

    def wait() -> None:
        watch.poll(None)
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


def _work(
    path: Path, loader: Loader, memory_bytes: int, conn: Connection, watch: Connection
) -> None:
    # Its own process group, so the OCR commands it starts die with it when it overruns.
    os.setpgid(0, 0)
    _watch_parent(watch)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    ocr.on_page(lambda: conn.send(("ocr-page", None)))
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", loader(path))
    except LoaderError as error:
        outcome = ("error", str(error))
    except MemoryError:
        outcome = ("memory", "")
    except RecursionError:
        outcome = ("error", "the file is nested too deeply to parse; it is damaged or crafted")
    except Exception as error:  # a parser bug or damaged file: report it, never crash the batch
        outcome = ("error", f"the file could not be parsed ({type(error).__name__}: {error})")
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("memory", ""))
    finally:
        conn.close()


def _memory_message(limits: ParseLimits) -> str:
    megabytes = limits.memory_bytes // (1024 * 1024)
    return (
        f"parsing needed more than {megabytes} MB of memory (a decompression bomb or a "
        "damaged file); if it is a genuine large file, raise DOCENT_PARSE_MEMORY_MB"
    )


def _timeout_message(seconds: float, ocr_pages: int) -> str:
    spent = f"{seconds:g} s" + (f" ({ocr_pages} pages read by OCR)" if ocr_pages else "")
    setting = "DOCENT_PARSE_MAX_SECONDS" if ocr_pages else "DOCENT_PARSE_TIMEOUT_SECONDS"
    return (
        f"parsing took longer than {spent} and was stopped (a damaged file or one crafted "
        f"to hang a parser); if it is a genuine large file, raise {setting}"
    )


def _await_outcome(conn: Connection, limits: ParseLimits) -> tuple[str, Any]:
    """The worker's outcome, giving it more time for each page it starts to OCR.

    Raises:
        LoaderError: The time ran out.
        EOFError: The worker died without an outcome.
    """
    started = time.monotonic()
    budget, ocr_pages = limits.timeout_seconds, 0
    while True:
        remaining = started + budget - time.monotonic()
        if remaining <= 0 or not conn.poll(remaining):
            raise LoaderError(_timeout_message(budget, ocr_pages))
        status, payload = conn.recv()
        if status != "ocr-page":
            return status, payload
        ocr_pages += 1
        extended = limits.timeout_seconds + ocr_pages * limits.ocr_page_seconds
        budget = min(extended, max(limits.max_seconds, limits.timeout_seconds))


def _receive(conn: Connection, process: Any, limits: ParseLimits) -> ParsedDocument:
    try:
        status, payload = _await_outcome(conn, limits)
    except EOFError:
        process.join()
        code = process.exitcode
        reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if code == -signal.SIGKILL:
            raise LoaderError(_memory_message(limits)) from None
        raise LoaderError(
            f"the parser crashed on this file ({reason}); it is damaged or crafted"
        ) from None
    if status == "ok":
        assert isinstance(payload, ParsedDocument)
        return payload
    if status == "memory":
        raise LoaderError(_memory_message(limits))
    raise LoaderError(str(payload))


def parse_isolated(path: Path, loader: Loader, limits: ParseLimits) -> ParsedDocument:
    """Parse one file in a child process under ``limits``.

    Args:
        path: The file.
        loader: A top-level function (it is pickled by reference) that parses the file.
        limits: Time and memory limits.

    Raises:
        LoaderError: The file could not be parsed; the message says why.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    watch, alive = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_work, args=(path, loader, limits.memory_bytes, sender, watch), daemon=True
    )
    with _main_not_reimported():
        process.start()
    sender.close()
    watch.close()
    try:
        return _receive(receiver, process, limits)
    finally:
        receiver.close()
        alive.close()
        if process.is_alive():
            process.kill()
        # Before join: until the worker is reaped its pid (the group's id) cannot be reused.
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        process.join()
        process.close()
