"""``python -m tests.llama_server ARGS``: llama-cpp-python's OpenAI-compatible server, run
with the CPU kernels Docent's start-up probe chose (a portable llama.cpp build loads its
CPU kernels at run time, and the stock server does not load any)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from models.llama_runtime import activate, choose_runtime, model_params


def main() -> None:
    model = Path(sys.argv[sys.argv.index("--model") + 1])
    choice = choose_runtime(model, None).choice
    assert choice is not None  # choose_runtime raises when nothing runs
    activate(choice)
    sys.argv[0] = "llama_cpp.server"
    with model_params(choice):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
