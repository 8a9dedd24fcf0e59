"""Fewer glibc malloc arenas for the process that holds the embedded index.

glibc gives each new thread its own malloc arena, up to eight per core. Chroma's Rust
runtime and onnxruntime each run pools of threads, and memory freed in one arena is not
reused by a thread of another, so a process that reads a 100k-row registry from Chroma
kept ~300 MB more resident than the rows needed. Measured on one 100k-row registry read
(2 cores): 423 MB resident with glibc's default, 263 MB with two arenas, and the read
took 10 s instead of 24 s (``bench/README.md``, "Memory"). ``MALLOC_ARENA_MAX`` in the
environment, when set, is left to rule; on a C library without ``mallopt`` nothing changes.
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter number for the arena limit (glibc's malloc.h).
M_ARENA_MAX = -8
ARENAS = 2
_capped = False


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc create at most ``arenas`` malloc arenas from now on; True if it took."""
    global _capped
    if _capped or os.environ.get("MALLOC_ARENA_MAX"):
        return _capped
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    _capped = bool(mallopt(M_ARENA_MAX, arenas))
    return _capped
