"""`docent doctor`: check every component of the configured deployment, and name each fix.

Each check builds the real client the way Docent does and asks it to do a small real
thing (write to the index, hash the weights, preflight the chat model), so a green run
means the next ingest or question will not fail for a reason the doctor could have seen.
Nothing here loads the embedder into memory or writes to a user's collection.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.settings import Settings
from models.errors import DocentError
from models.weights import EMBEDDER_WEIGHTS_FILE, verify_weights
from rag.connect import IndexConfig, connect_server

# Below this much free space an ingest run can fill the disk mid-write.
MIN_FREE_BYTES = 2 * 1024**3
SCRATCH_PREFIX = "docent-doctor-"


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: The component checked (``index``, ``embedder``, ``chat``, ``cpu``, ``disk``,
            ``directory``).
        ok: Whether it is ready.
        detail: What was found.
        fix: What to do about it (empty when ``ok``).
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(settings: Settings, *, min_free_bytes: int = MIN_FREE_BYTES) -> list[Check]:
    """Check the index, the embedder weights, the chat backend, the free disk space, and the
    site's directory where one is configured.

    Args:
        settings: The deployment's settings.
        min_free_bytes: Free space in ``data_dir`` below which the disk check fails.
    """
    checks = [
        check_index(settings.index_config()),
        check_embedder(settings),
        check_chat(settings),
        check_cpu(settings),
        check_disk(settings.data_dir, min_free_bytes),
        check_directory(settings),
    ]
    return [check for check in checks if check is not None]


def check_directory(settings: Settings) -> Check | None:
    """The site's directory takes the service account over TLS and holds the search bases."""
    config = settings.directory_config()
    if config is None:
        return None
    from app.auth.directory import Directory

    try:
        Directory(config).check()
    except DocentError as error:
        return Check("directory", False, error.message, error.hint or "")
    return Check("directory", True, f"{config.url}: the service account signs in and searches")


def check_index(config: IndexConfig) -> Check:
    """The index answers and accepts writes; its local folder (BM25, lock) is writable."""
    try:
        _check_writable(config.path)
        if not config.host:
            from rag.registry_copy import damage
            from rag.store import index_damaged

            if found := damage(config.path):
                raise index_damaged(found, str(config.path.resolve()))
            where = config.path.resolve()
            return Check("index", True, f"embedded index in {where} is sound and writable")
        _check_server_writes(config)
    except DocentError as error:
        return Check("index", False, error.message, error.hint or "")
    return Check(
        "index",
        True,
        f"Chroma server {config.url} answered and accepted a scratch write; "
        f"BM25 and lock folder {config.path.resolve()} is writable",
    )


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        raise DocentError(
            f"Cannot write to {folder}: {error.strerror or error}.",
            hint=f"give the user running Docent write access to {folder}, "
            "or point `data_dir` / `index_dir` elsewhere",
        ) from None


def _check_server_writes(config: IndexConfig) -> None:
    from rag.chroma_function import DocentEmbeddingFunction

    client = connect_server(config)
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    try:
        client.heartbeat()
        scratch = client.create_collection(
            name,
            embedding_function=DocentEmbeddingFunction(None),  # type: ignore[arg-type]
        )
        scratch.add(ids=["probe"], embeddings=np.ones((1, 4), dtype=np.float32))
        if scratch.count() != 1:
            raise DocentError(f"The Chroma server at {config.url} lost a scratch write.")
    except DocentError:
        raise
    except Exception as error:  # the server's own refusals come in several types
        raise DocentError(
            f"The Chroma server at {config.url} answers but refused a write: {error}",
            hint="check the server's disk and logs (`docker compose logs chroma`)",
        ) from None
    finally:
        # It may not exist; the cleanup must not mask the error that brought us here.
        with contextlib.suppress(Exception):
            client.delete_collection(name)


def check_embedder(settings: Settings) -> Check:
    """The embedder's weights are present and match the pinned sha256."""
    config = settings.embedder_config()
    try:
        path = config.resolved_dir() / EMBEDDER_WEIGHTS_FILE
        verify_weights(path, config.sha256)
    except DocentError as error:
        return Check("embedder", False, error.message, error.hint or "")
    state = "sha256 matches the pin" if config.sha256 else "present (no hash pinned)"
    return Check("embedder", True, f"{path}: {state}")


def check_chat(settings: Settings) -> Check:
    """The chat backend answers and has its model (loads a GGUF for ``llamacpp``)."""
    from models.chat import chat_backend

    try:
        backend = chat_backend(settings.chat_config())
        backend.preflight()
    except DocentError as error:
        return Check("chat", False, error.message, error.hint or "")
    info = backend.describe()
    detail = f"{info['backend']} {info['model']} at {info['where']}: ready"
    if "kernels" in info:
        detail += f"; {info['kernels']}"
    return Check("chat", True, detail)


def check_cpu(settings: Settings) -> Check | None:
    """The CPU, its vector features and the llama.cpp build (embedded backend only)."""
    config = settings.chat_config()
    if config.backend != "llamacpp":
        return None
    from models.llama_runtime import runtime_facts

    facts = runtime_facts(config.runtime_dir)
    detail = "; ".join([facts.pop("cpu")] + [f"{name}: {value}" for name, value in facts.items()])
    return Check("cpu", True, detail)


def check_disk(data_dir: Path, min_free_bytes: int) -> Check:
    """The data folder's disk has at least ``min_free_bytes`` free."""
    existing = data_dir.resolve()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1024**3:.1f} GiB free in {existing}"
    if free < min_free_bytes:
        return Check(
            "disk",
            False,
            f"only {detail}, below {min_free_bytes / 1024**3:.1f} GiB",
            "free space on that disk or move `data_dir` to a larger one",
        )
    return Check("disk", True, detail)


def report(checks: list[Check]) -> str:
    """The checks as terminal lines: one per check, and the fix under each failure."""
    lines = []
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"     Fix: {check.fix}")
    failed = sum(not check.ok for check in checks)
    lines.append("All checks passed." if not failed else f"{failed} problem(s) found.")
    return "\n".join(lines)
