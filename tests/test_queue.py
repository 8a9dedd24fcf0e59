"""The model queue: one generation at a time, first come first served, places reported."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from models.chat import ChatConfig
from models.chat.llamacpp import LlamaCppBackend
from models.queue import FairQueue, queue_listener


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiters_are_served_in_arrival_order_and_told_their_place() -> None:
    queue = FairQueue()
    served: list[int] = []
    places: dict[int, list[int]] = {}

    def user(number: int) -> None:
        places[number] = []
        with queue_listener(places[number].append), queue.turn():
            served.append(number)

    with queue.turn():
        threads = []
        for number in range(5):
            thread = threading.Thread(target=user, args=(number,))
            thread.start()
            threads.append(thread)
            # The next user arrives only once this one stands in line.
            _wait_until(lambda n=number: queue.waiting == n + 1)
        assert queue.waiting == 5
    for thread in threads:
        thread.join(10)

    assert served == [0, 1, 2, 3, 4]
    for number in range(5):
        # Its place counts down to its turn: number + 1 ahead at first, 0 at the end.
        assert places[number][0] == number + 1
        assert places[number][-1] == 0
        assert places[number] == sorted(places[number], reverse=True)
    assert queue.waiting == 0


def test_no_wait_means_no_report_and_a_failure_passes_the_turn_on() -> None:
    queue = FairQueue()
    places: list[int] = []
    with queue_listener(places.append), pytest.raises(RuntimeError), queue.turn():
        raise RuntimeError("generation failed")
    with queue_listener(places.append), queue.turn():
        pass
    assert places == []


@pytest.mark.slow
def test_concurrent_generations_on_one_embedded_model_do_not_interfere() -> None:
    backend = LlamaCppBackend(ChatConfig(max_answer_tokens=24, temperature=0.0))
    prompts = [
        [SystemMessage("Answer in one sentence."), HumanMessage(f"What is {topic}?")]
        for topic in ("a library", "a river", "a violin")
    ]
    alone = ["".join(backend.stream(p)) for p in prompts]
    together: dict[int, str] = {}
    places: list[int] = []

    def ask(index: int) -> None:
        with queue_listener(places.append):
            together[index] = "".join(backend.stream(prompts[index]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert [together[i] for i in range(3)] == alone
    assert places, "someone waited in line"
    assert "waiting" not in backend.describe()["state"]
