"""The catalog of recommended Ollama models and the pick for a machine's RAM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.catalog import (
    DEFAULT_OLLAMA_MODEL,
    GIB,
    RAM_SHARE,
    catalog,
    find,
    machine_ram,
    recommend,
    smaller_than,
)


def test_entries_are_complete_and_plausible() -> None:
    entries = catalog()
    assert len({entry.tag for entry in entries}) == len(entries)
    assert [entry.parameters_b for entry in entries] == sorted(e.parameters_b for e in entries)
    for entry in entries:
        assert ":" in entry.tag
        assert 0 < entry.download_gb < entry.ram_gb
        # A 4-bit model holds about 0.55 GB a billion parameters; F16 about 2.
        assert 0.4 <= entry.download_gb / entry.parameters_b <= 2.2
        assert entry.context >= 8192
        assert entry.quantization in {"Q4_0", "Q4_K_M", "Q8_0", "F16"}
        assert entry.license
        assert entry.notes
    assert find(DEFAULT_OLLAMA_MODEL) is not None


@pytest.mark.parametrize(
    ("ram_gib", "tag"),
    [
        (0.5, "smollm2:135m"),  # nothing fits: the smallest is still the best bet
        (2, "qwen2.5:0.5b"),
        (4, "qwen2.5:1.5b"),
        (6, "gemma2:2b"),
        (8, "phi3.5:3.8b"),
        (64, "phi3.5:3.8b"),
    ],
)
def test_recommend_picks_the_largest_model_within_half_the_ram(ram_gib: float, tag: str) -> None:
    assert recommend(int(ram_gib * GIB)).tag == tag


@pytest.mark.parametrize("ram_gib", [2, 3, 4, 5, 6, 7, 8, 12, 16])
def test_recommendation_leaves_headroom_and_no_bigger_model_would(ram_gib: int) -> None:
    budget = ram_gib * RAM_SHARE
    best = recommend(ram_gib * GIB)
    assert best.ram_gb <= budget
    fitting = [entry for entry in catalog() if entry.ram_gb <= budget]
    assert all(entry.parameters_b <= best.parameters_b for entry in fitting)


def test_find_ignores_latest_and_case() -> None:
    assert find("Qwen2.5:1.5B:latest") == find("qwen2.5:1.5b")
    assert find("mistral:7b") is None


def test_smaller_than_suggests_a_lighter_model() -> None:
    assert smaller_than("phi3.5:3.8b").tag == "llama3.2:3b"
    assert smaller_than("qwen2.5:1.5b").tag == "qwen2.5:0.5b"
    assert smaller_than("smollm2:135m").tag == "smollm2:135m"
    assert smaller_than("llama3.1:70b").tag == DEFAULT_OLLAMA_MODEL


def test_machine_ram_reads_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16318480 kB\nMemFree:         1234 kB\n")
    assert machine_ram(meminfo) == 16318480 * 1024


def test_machine_ram_falls_back_to_sysconf(tmp_path: Path) -> None:
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert machine_ram(tmp_path / "absent") == physical
    # The kernel's MemTotal leaves out memory it reserved for itself: a little below.
    assert 0.8 * physical <= machine_ram() <= physical
