"""tests/fast_loop.py fails an unmarked test that starts a process or a server or opens model
weights, and no other."""

from __future__ import annotations

import pytest

TESTS = """
import socket
import subprocess
import sys
import threading

import pytest


@pytest.fixture(scope="module")
def server():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield listening


def test_starts_a_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_starts_a_process_from_a_thread():
    thread = threading.Thread(target=subprocess.run, args=([sys.executable, "-c", "pass"],))
    thread.start()
    thread.join()


def test_opens_model_weights(tmp_path):
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")


def test_uses_a_server(server):
    assert server.getsockname()


def test_uses_the_server_again(server):
    assert server.getsockname()


@pytest.mark.slow
def test_marked_slow(server):
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_quiet(tmp_path):
    (tmp_path / "note.txt").write_text("no process, no server")
"""


def test_unmarked_tests_that_start_a_process_or_use_a_server_fail(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_made_up=TESTS)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow")

    result = pytester.runpytest_inprocess(
        "-p", "tests.fast_loop", "-p", "no:cacheprovider", "-p", "no:langsmith_plugin"
    )

    result.assert_outcomes(passed=2, failed=5)
    failed = {r.nodeid.split("::")[-1]: r.longreprtext for r in result.reprec.getfailures()}
    assert set(failed) == {
        "test_starts_a_process",
        "test_starts_a_process_from_a_thread",
        "test_opens_model_weights",
        "test_uses_a_server",
        "test_uses_the_server_again",
    }
    assert "starts a process (subprocess.Popen" in failed["test_starts_a_process"]
    assert "opens the model weights tiny.gguf" in failed["test_opens_model_weights"]
    assert "uses the fixture server, which runs a server" in failed["test_uses_the_server_again"]
    assert all("mark it @pytest.mark.slow" in text for text in failed.values())
