"""Small chat models that run well under Ollama on ordinary office hardware.

The figures are approximate: taken from the public model cards and the Ollama library
for each default tag, rounded, and meant for choosing a model, not for capacity planning.
``ram_gb`` is what the Ollama server needs for the weights plus a 2-4k token context and
its runtime; check a pulled model with ``ollama show <tag>`` and ``ollama ps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3

# A chat model shares the machine with the OS, Chroma and the embedder, and the answer
# latency falls apart once the OS starts paging: use at most half of the RAM.
RAM_SHARE = 0.5

DEFAULT_OLLAMA_MODEL = "qwen2.5:1.5b"


@dataclass(frozen=True)
class CatalogEntry:
    """One recommended Ollama model (all figures approximate).

    Attributes:
        tag: The Ollama tag to ``ollama pull``.
        family: The model family.
        parameters_b: Parameter count, in billions.
        quantization: Quantization of the default tag.
        download_gb: Size of the pull, in GB.
        ram_gb: RAM the Ollama server needs to run it with a short context, in GB.
        context: Longest context the model was trained for, in tokens.
        license: The model's license, to check before commercial use.
        notes: What it is good at, or why to pick it.
    """

    tag: str
    family: str
    parameters_b: float
    quantization: str
    download_gb: float
    ram_gb: float
    context: int
    license: str
    notes: str


# fmt: off
# One entry per row reads as the table it is.
ENTRIES: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "smollm2:135m", "smollm2", 0.135, "F16", 0.27, 0.6, 8192, "Apache-2.0",
        "The embedded default's model: a smoke test, not a useful answerer.",
    ),
    CatalogEntry(
        "smollm2:360m", "smollm2", 0.36, "F16", 0.73, 1.2, 8192, "Apache-2.0",
        "Tiny English model; short extractive answers only.",
    ),
    CatalogEntry(
        "qwen2.5:0.5b", "qwen2", 0.49, "Q4_K_M", 0.40, 1.0, 32768, "Apache-2.0",
        "Smallest model that follows a RAG prompt; multilingual.",
    ),
    CatalogEntry(
        "llama3.2:1b", "llama", 1.24, "Q8_0", 1.3, 2.0, 131072, "Llama 3.2 Community",
        "Fast, fluent English; weaker at citing sources.",
    ),
    CatalogEntry(
        "qwen2.5:1.5b", "qwen2", 1.54, "Q4_K_M", 0.99, 2.0, 32768, "Apache-2.0",
        "Best small multilingual model; the recommended start.",
    ),
    CatalogEntry(
        "smollm2:1.7b", "smollm2", 1.7, "Q8_0", 1.8, 2.6, 8192, "Apache-2.0",
        "Open-data English model; good summaries.",
    ),
    CatalogEntry(
        "gemma2:2b", "gemma2", 2.6, "Q4_0", 1.6, 2.8, 8192, "Gemma Terms of Use",
        "Good English prose; short context.",
    ),
    CatalogEntry(
        "qwen2.5:3b", "qwen2", 3.09, "Q4_K_M", 1.9, 3.2, 32768, "Qwen Research License",
        "Strong multilingual answers; the license limits commercial use.",
    ),
    CatalogEntry(
        "llama3.2:3b", "llama", 3.21, "Q4_K_M", 2.0, 3.4, 131072, "Llama 3.2 Community",
        "Good instruction following and summaries in English.",
    ),
    CatalogEntry(
        "phi3.5:3.8b", "phi3", 3.82, "Q4_0", 2.2, 3.8, 131072, "MIT",
        "Best reasoning of the small models; slower on CPU.",
    ),
)
# fmt: on


def catalog() -> list[CatalogEntry]:
    """The recommended Ollama models, smallest first."""
    return list(ENTRIES)


def find(tag: str) -> CatalogEntry | None:
    """Return the catalog entry for an Ollama tag (``:latest`` and case ignored)."""
    wanted = tag.lower().removesuffix(":latest")
    return next((entry for entry in ENTRIES if entry.tag == wanted), None)


def recommend(ram_bytes: int) -> CatalogEntry:
    """Pick the largest catalog model that fits comfortably in a machine's RAM.

    Args:
        ram_bytes: Total RAM of the machine that runs Ollama.

    Returns:
        The entry with the most parameters whose RAM need is at most ``RAM_SHARE`` of
        the total; the smallest entry when none fits, since it is still the best bet.
    """
    budget_gb = ram_bytes * RAM_SHARE / GIB
    fitting = [entry for entry in ENTRIES if entry.ram_gb <= budget_gb]
    if not fitting:
        return min(ENTRIES, key=lambda entry: entry.ram_gb)
    return max(fitting, key=lambda entry: entry.parameters_b)


def smaller_than(tag: str) -> CatalogEntry:
    """Suggest a model to try when ``tag`` does not fit in the server's memory.

    Returns:
        The largest catalog entry needing less RAM than ``tag``; the default model for
        tags outside the catalog; the smallest entry when ``tag`` is already the smallest.
    """
    current = find(tag)
    if current is None:
        return next(entry for entry in ENTRIES if entry.tag == DEFAULT_OLLAMA_MODEL)
    lighter = [entry for entry in ENTRIES if entry.ram_gb < current.ram_gb]
    if not lighter:
        return current
    return max(lighter, key=lambda entry: entry.parameters_b)


def machine_ram(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Total RAM of this machine in bytes, from ``/proc/meminfo`` or ``sysconf``."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
