"""The portable llama.cpp build against one compiled for this machine's CPU (``-march=native``).

Run by hand (``python -m bench.llama_kernels --native DIR``) or by ``make bench`` without a
native build (then only the portable figures are printed); never a timed test.

Both load the packaged SmolLM2 the way Docent does (its 8-bit copy, through
``LlamaCppBackend`` and the start-up probe) in a child process each, and measure:

* prompt reading: tokens/s on a 512-token prompt (the cost of the first token of an answer);
* time to first token: a ~380-token prompt (an answer's sources) to its first streamed token;
* generation: tokens/s over 32 written tokens.

The two builds run alternately, several rounds each, and medians are compared, so load from
the rest of the machine falls on both alike. A native build for ``--native`` is made with
``CMAKE_ARGS=-DLLAVA_BUILD=OFF pip wheel --no-deps --no-binary :all: llama-cpp-python==V``,
then ``pip install --no-deps --target DIR`` of that wheel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
PROMPT_TOKENS = 512
ANSWER_PROMPT_TOKENS = 380
WRITTEN_TOKENS = 32
SENTENCE = (
    "Full-time employees receive 25 days of annual leave per calendar year, and part-time "
    "employees receive a share of it in proportion to their contracted hours. "
)


def measure(rounds: int) -> dict[str, Any]:
    """In this process: load the model as Docent does and time it ``rounds`` times."""
    from app.settings import Settings
    from models.chat.llamacpp import LlamaCppBackend

    with tempfile.TemporaryDirectory() as data:
        backend = LlamaCppBackend(Settings(data_dir=Path(data)).chat_config())
        llama = backend.runtime.llama()
        tokens = llama.tokenize((SENTENCE * 40).encode())
        long_prompt, answer_prompt = tokens[:PROMPT_TOKENS], tokens[:ANSWER_PROMPT_TOKENS]
        reading, first, writing = [], [], []
        for _ in range(rounds):
            llama.reset()
            started = time.perf_counter()
            llama.eval(long_prompt)
            reading.append(len(long_prompt) / (time.perf_counter() - started))
            llama.reset()
            started = time.perf_counter()
            stream = llama.create_completion(
                answer_prompt, max_tokens=WRITTEN_TOKENS, temperature=0.0, stream=True
            )
            count = 0
            for _chunk in stream:
                if count == 0:
                    first.append(time.perf_counter() - started)
                    began = time.perf_counter()
                count += 1
            writing.append(max(count - 1, 1) / (time.perf_counter() - began))
        probe = backend.runtime.probe
        return {
            "kernels": probe.summary() if probe else "",
            "prompt_tokens_per_s": statistics.median(reading),
            "first_token_s": statistics.median(first),
            "written_tokens_per_s": statistics.median(writing),
        }


def _child(native: Path | None, rounds: int) -> dict[str, Any]:
    env = dict(os.environ)
    if native is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(native), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "bench.llama_kernels", "--child", str(rounds)],
        capture_output=True, text=True, env=env, check=True, timeout=1800,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--native", type=Path, help="folder holding a native llama_cpp")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two builds")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    runs: dict[str, list[dict[str, Any]]] = {"portable": [], "native": []}
    for _ in range(args.rounds):
        runs["portable"].append(_child(None, 3))
        if args.native:
            runs["native"].append(_child(args.native, 3))
    summary: dict[str, Any] = {"load_average": os.getloadavg()[0]}
    for build, results in runs.items():
        if results:
            keys = ("prompt_tokens_per_s", "first_token_s", "written_tokens_per_s")
            summary[build] = {key: statistics.median(r[key] for r in results) for key in keys}
            summary[build]["kernels"] = results[-1]["kernels"]
    if args.native:
        portable, native = summary["portable"], summary["native"]
        summary["portable_vs_native"] = {
            "prompt_reading": portable["prompt_tokens_per_s"] / native["prompt_tokens_per_s"],
            "first_token": portable["first_token_s"] / native["first_token_s"],
            "writing": portable["written_tokens_per_s"] / native["written_tokens_per_s"],
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llama_kernels.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
