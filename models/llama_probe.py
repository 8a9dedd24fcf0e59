"""The child process of the llama.cpp start-up probe (``models.llama_runtime``).

Run as ``python -m models.llama_probe``: with ``--scores`` it prints llama.cpp's score of
each installed CPU variant; with ``--gguf`` it loads the model in one configuration, reads a
short prompt and writes a few tokens, and prints what it wrote. Whatever kills it (SIGILL in
a kernel the CPU cannot run, SIGSEGV, a hang) kills only this process.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

from models.llama_runtime import RuntimeChoice, activate, cpu_variants, library_dir, model_params

PROMPT = "The capital of France is"


def scores() -> dict[str, int]:
    """llama.cpp's own score of each variant: 0 when this CPU lacks one of its features."""
    lib = library_dir() or Path()
    found: dict[str, int] = {}
    for variant in cpu_variants(lib):
        module = ctypes.CDLL(str(lib / f"libggml-cpu-{variant}.so"))
        score = getattr(module, "ggml_backend_score", None)
        if score is not None:
            score.restype = ctypes.c_int
            found[variant] = int(score())
    return found


def run(gguf: Path, choice: RuntimeChoice, threads: int, fault: str) -> dict[str, object]:
    """Load ``gguf`` as ``choice`` says and let it write a few tokens."""
    started = time.perf_counter()
    activate(choice)
    from llama_cpp import Llama

    with model_params(choice):
        llama = Llama(str(gguf), n_ctx=256, n_batch=64, n_threads=threads, verbose=False)
    if fault == "sigill":
        os.kill(os.getpid(), signal.SIGILL)
    elif fault == "hang":
        time.sleep(3600)
    out = llama(PROMPT, max_tokens=4, temperature=0.0)
    text = out["choices"][0]["text"]  # type: ignore[index]
    return {"text": text, "seconds": round(time.perf_counter() - started, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.llama_probe")
    parser.add_argument("--scores", action="store_true")
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--variant", default="")
    parser.add_argument("--extra-bufts", default="1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fault", default="", choices=["", "sigill", "hang"])
    args = parser.parse_args(argv)
    if args.scores:
        answer: dict[str, object] = dict(scores())
    else:
        choice = RuntimeChoice(args.variant, args.extra_bufts == "1")
        answer = run(args.gguf, choice, args.threads, args.fault)
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
