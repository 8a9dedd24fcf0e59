"""The malloc arena cap (rag.arenas): glibc makes no more arenas than allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # each test starts a Python

# Counts glibc's heaps after eight threads each held a malloc'd buffer at once.
_PROBE = """
import ctypes, os, sys, tempfile, threading
from rag.arenas import cap_arenas
capped = cap_arenas() if sys.argv[1] == "cap" else False
hold, ready = threading.Barrier(9), threading.Barrier(9)
def work():
    buffer = bytearray(50_000)  # below the mmap threshold: from the thread's arena
    ready.wait(); hold.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads: thread.start()
ready.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream)); libc.fclose(ctypes.c_void_p(stream))
hold.wait()
print(capped, open(path).read().count("<heap nr="))
os.unlink(path)
"""


def _heaps(mode: str, **env: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ).stdout.split()
    return out[0], int(out[1])


def test_capped_process_makes_at_most_two_arenas_where_glibc_would_make_more() -> None:
    assert _heaps("cap") == ("True", 2)
    capped, heaps = _heaps("free")
    assert capped == "False" and heaps > 2


def test_malloc_arena_max_in_the_environment_is_left_to_rule() -> None:
    capped, heaps = _heaps("cap", MALLOC_ARENA_MAX="4")
    assert capped == "False" and heaps <= 4
