"""Files through an ingest's stages: parsed and chunked, then embedded, then stored.

The caller (``ingest.pipeline``) decides on its own thread what each file needs and
submits the files to parse; ``parse_workers`` threads each wait on one file's isolated
parser and chunk it, and one embedding thread gathers the chunks of the files that are
ready into windows of up to ``window`` chunks (a large file's chunks over several windows,
the small files of a share many to a window), so the embedder's sessions have work to
share and the caller stores each window in a few large writes instead of several small
ones per file. The caller stores one window while the next is embedded and the next
files are parsed; all three stages overlap.

What is in flight is bounded by the caller (``in_flight``): it stores finished windows
before it submits more, so memory holds a few dozen files, never the share.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

P = TypeVar("P")  # a file to parse
R = TypeVar("R")  # a parsed file: its chunks, or why it has none
_END = object()


@dataclass(slots=True)
class Part(Generic[R]):
    """A run of one parsed file's chunks, ``start`` to ``end``, in a window.

    A file without chunks (its parse failed) is one empty part, first and last.
    """

    item: R
    start: int
    end: int
    first: bool
    last: bool


@dataclass(slots=True)
class Window(Generic[R]):
    """Parts of files with the vectors of their chunks, one row per chunk in order.

    ``embedded`` counts the texts the embedder ran (identical chunks run once).
    """

    parts: list[Part[R]]
    vectors: np.ndarray
    embedded: int


class Flow(Generic[P, R]):
    """Parse, chunk and embed files in background threads, ahead of the caller.

    Args:
        prepare: Parses and chunks one file (runs in a parse thread).
        chunks: Number of chunks of a prepared file.
        embed: Vectors of chunks given as ``(file, start, end)`` runs, one row per chunk,
            and the number of texts it embedded (runs in the embedding thread).
        workers: Files parsed at once.
        window: Most chunks embedded and handed back at once.
    """

    def __init__(
        self,
        prepare: Callable[[P], R],
        chunks: Callable[[R], int],
        embed: Callable[[Sequence[tuple[R, int, int]]], tuple[np.ndarray, int]],
        workers: int,
        window: int,
    ) -> None:
        self._prepare, self._chunks, self._embed = prepare, chunks, embed
        self.window = max(window, 1)
        self._inbox: queue.Queue[object] = queue.Queue()
        self._parsed: queue.Queue[object] = queue.Queue()
        self._out: queue.Queue[object] = queue.Queue()
        self._stop = threading.Event()
        self.in_flight = 0  # files submitted and not yet handed back whole
        self._closed = False
        self._workers = [
            threading.Thread(target=self._parse_loop, name="ingest-parse", daemon=True)
            for _ in range(max(workers, 1))
        ]
        self._embedder = threading.Thread(target=self._embed_loop, name="ingest-embed", daemon=True)
        for thread in (*self._workers, self._embedder):
            thread.start()

    def submit(self, plan: P) -> None:
        """Queue one file to parse."""
        self.in_flight += 1
        self._inbox.put(plan)

    def close(self) -> None:
        """No more files: the stages finish what was submitted, then end."""
        if not self._closed:
            self._closed = True
            for _ in self._workers:
                self._inbox.put(_END)

    def ready(self) -> Iterator[Window[R]]:
        """The windows embedded already, without waiting for more."""
        while True:
            try:
                got = self._out.get_nowait()
            except queue.Empty:
                return
            yield self._handed(got)

    def next(self) -> Window[R] | None:
        """The next embedded window, waiting for it; None when no file is in flight."""
        if self.in_flight == 0:
            return None
        return self._handed(self._out.get())

    def _handed(self, got: object) -> Window[R]:
        if isinstance(got, BaseException):
            raise got
        assert isinstance(got, Window)
        self.in_flight -= sum(part.last for part in got.parts)
        return got

    def stop(self) -> None:
        """Stop the threads after the file each is on (the caller is leaving early)."""
        self._stop.set()
        self.close()
        self._parsed.put(_END)  # wakes the embedding thread if it waits for a file
        for thread in self._workers:
            thread.join()
        self._embedder.join()

    def _parse_loop(self) -> None:
        while not self._stop.is_set():
            plan = self._inbox.get()
            if plan is _END:
                break
            try:
                self._parsed.put(self._prepare(plan))  # type: ignore[arg-type]
            except BaseException as error:  # handed to the caller through the embedder
                self._parsed.put(error)
                break
        self._parsed.put(_END)

    def _embed_loop(self) -> None:
        waiting: deque[tuple[R, int]] = deque()  # parsed files and the first chunk not embedded
        ended = 0
        try:
            while not self._stop.is_set():
                if not waiting:
                    got = self._parsed.get()
                    if got is _END:
                        ended += 1
                        if ended >= len(self._workers):
                            return
                        continue
                    if isinstance(got, BaseException):
                        raise got
                    waiting.append((got, 0))  # type: ignore[arg-type]
                ended += self._take_ready(waiting)
                self._out.put(self._window(waiting))
                if ended >= len(self._workers) and not waiting:
                    return
        except BaseException as error:  # handed to the caller
            self._out.put(error)

    def _take_ready(self, waiting: deque[tuple[R, int]]) -> int:
        """Move the files parsed meanwhile into ``waiting``, up to a window's chunks; ends seen."""
        ended = 0
        room = self.window - sum(self._chunks(item) - start for item, start in waiting)
        while room > 0:
            try:
                got = self._parsed.get_nowait()
            except queue.Empty:
                break
            if got is _END:
                ended += 1
                continue
            if isinstance(got, BaseException):
                raise got
            waiting.append((got, 0))  # type: ignore[arg-type]
            room -= self._chunks(got)  # type: ignore[arg-type]
        return ended

    def _window(self, waiting: deque[tuple[R, int]]) -> Window[R]:
        """Embed up to ``window`` chunks from the front of ``waiting``."""
        parts: list[Part[R]] = []
        room = self.window
        while waiting and (room > 0 or self._chunks(waiting[0][0]) == waiting[0][1]):
            item, start = waiting[0]
            total = self._chunks(item)
            end = min(total, start + room)
            parts.append(Part(item, start, end, first=start == 0, last=end == total))
            room -= end - start
            if end == total:
                waiting.popleft()
            else:
                waiting[0] = (item, end)
        runs = [(part.item, part.start, part.end) for part in parts if part.end > part.start]
        vectors, embedded = self._embed(runs)
        return Window(parts, vectors, embedded)
