"""The HTTP API under load: concurrent clients streaming cited answers from one server.

Run by hand (``python -m bench.api``); never a timed test.

* Corpus: the sample documents in ``data/samples/``, ingested into a fresh temporary index.
* Server: ``docent serve``'s application on uvicorn on loopback, in this process, over one
  ``Docent`` with the embedded model (llama.cpp answers one generation at a time).
* Clients: ``--clients`` threads, each with its own ``httpx`` connection, ask
  ``--questions`` questions in turn (client ``c`` starts at question ``c``) through
  ``POST /api/v1/collections/samples/ask`` with ``"stream": true``, reading the SSE
  stream to the final ``answer`` event.
* Timings: to the first streamed byte of the body and to the end of the stream; errors
  are non-200 responses, ``error`` events, or a stream without an ``answer``.
* Time outside the chain: per request, the end-to-end time minus the answer chain's own
  ``timings.total`` reported in that answer. Over HTTP it holds the token check, rate
  limit, audit records, JSON, SSE and the loopback hop; directly, only ``Docent``'s own
  access check and audit record. The HTTP layer's overhead is the difference, per
  percentile, in the same run (target: at most 50 ms at p95).
* Direct baseline, same run, same questions: ``Docent.stream_answer`` in the same number
  of threads, with no HTTP. Then both again with one client (``--serial`` questions),
  where nothing else competes for the two cores.
* Output: the figures, also written to ``bench/results/api-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from app.api import Docent
from app.auth.tokens import ApiTokens
from app.settings import Settings
from bench.load import QUESTIONS
from tests.http_server import running

RESULTS = Path(__file__).parent / "results"
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
COLLECTION = "samples"


def ask_http(http: httpx.Client, question: str) -> dict[str, Any]:
    """One streamed question: first byte, end, the chain's own total, or the error."""
    started = time.perf_counter()
    first, final, error = None, None, ""
    body = {"question": question, "stream": True}
    with http.stream("POST", f"/api/v1/collections/{COLLECTION}/ask", json=body) as response:
        if response.status_code != 200:
            response.read()
            return {"error": f"{response.status_code}: {response.text[:200]}"}
        buffer = ""
        for piece in response.iter_text():
            first = first or time.perf_counter()
            buffer += piece
        for block in buffer.strip().split("\n\n"):
            name, _, rest = block.partition("\n")
            if name == "event: answer":
                final = json.loads(rest.removeprefix("data: "))
            elif name == "event: error":
                error = rest
    end = time.perf_counter()
    if final is None:
        return {"error": error or "no answer event"}
    return {
        "first_byte": (first or end) - started,
        "end": end - started,
        "chain": float(final["timings"].get("total", 0.0)),
        "status": final["status"],
    }


def ask_direct(docent: Docent, question: str) -> dict[str, Any]:
    """One question through ``Docent.stream_answer``, no HTTP."""
    started = time.perf_counter()
    first, chain = None, 0.0
    for part in docent.stream_answer(COLLECTION, question):
        if isinstance(part, str) and first is None:
            first = time.perf_counter()
        elif not isinstance(part, str):
            chain = float(part.timings.get("total", 0.0))
    end = time.perf_counter()
    return {"first_byte": (first or end) - started, "end": end - started, "chain": chain}


def crowd(clients: int, questions: int, ask: Callable[[int, str], dict[str, Any]]) -> list[Any]:
    """Every client's questions, clients in parallel threads; the results in any order."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for turn in range(questions):
            question = QUESTIONS[(number + turn) % len(QUESTIONS)]
            try:
                outcome = ask(number, question)
            except Exception as error:  # a bench counts every failure, it does not stop
                outcome = {"error": f"{type(error).__name__}: {error}"}
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1)}


def summarize(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The figures of one phase."""
    good = [r for r in results if "error" not in r]
    figures = {
        "requests": len(results),
        "errors": len(results) - len(good),
        "error_samples": [r["error"] for r in results if "error" in r][:3],
        "seconds": round(seconds, 1),
        "first_byte": percentiles([r["first_byte"] for r in good]),
        "end": percentiles([r["end"] for r in good]),
    }
    if good and "chain" in good[0]:
        figures["outside_chain"] = percentiles([max(0.0, r["end"] - r["chain"]) for r in good])
    return figures


def timed(clients: int, questions: int, ask: Callable[[int, str], dict[str, Any]]) -> Any:
    """One phase's figures."""
    started = time.perf_counter()
    results = crowd(clients, questions, ask)
    return summarize(results, time.perf_counter() - started)


def main() -> None:
    """Ingest the samples, then load the API and the direct path in turn; print figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--questions", type=int, default=25, help="questions per client")
    parser.add_argument("--serial", type=int, default=10, help="questions of the 1-client phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), chat_temperature=0.0, api_rate_per_minute=10**6)
        docent = Docent(settings)
        docent.ingest([SAMPLES], COLLECTION)
        docent.accounts.add("bench", "bench-password", role="admin")
        token = ApiTokens(settings.tokens_path()).create("bench", "bench", timedelta(hours=1))[0]
        docent.ask(COLLECTION, QUESTIONS[0])  # the model loads before anything is timed
        figures: dict[str, Any] = {"clients": args.clients, "questions": args.questions}
        with running(docent) as url:
            sessions = [
                httpx.Client(
                    base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=900
                )
                for _ in range(args.clients)
            ]
            for phase, clients, questions in [
                ("concurrent", args.clients, args.questions),
                ("serial", 1, args.serial),
            ]:
                figures[phase] = {
                    "http": timed(clients, questions, lambda n, q: ask_http(sessions[n], q)),
                    "direct": timed(clients, questions, lambda n, q: ask_direct(docent, q)),
                }
                figures[phase]["http_layer_ms"] = {
                    key: round(
                        figures[phase]["http"]["outside_chain"][key]
                        - figures[phase]["direct"]["outside_chain"][key],
                        1,
                    )
                    for key in ("p50_ms", "p95_ms")
                }
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"api-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
