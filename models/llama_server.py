"""``python -m models.llama_server [--model FILE.gguf] [OPTIONS]``: llama-cpp-python's own
OpenAI-compatible server, started so that it runs with Docent's llama.cpp build.

Docent's llama.cpp is built portable: it loads the CPU kernels for the machine at run
time, and ``python -m llama_cpp.server`` loads none ("no backends are loaded"). This runs
the same server after the start-up probe has chosen and loaded the kernels that answer on
this CPU (``models.llama_runtime``). Every option but ``--model`` is the server's own
(``--model_alias``, ``--host``, ``--port``, ``--n_ctx``...); without ``--model`` it serves
the packaged SmolLM2. Point Docent at it with ``DOCENT_CHAT_BACKEND=openai``,
``DOCENT_CHAT_BASE_URL=http://HOST:PORT/v1`` and ``DOCENT_CHAT_MODEL`` the alias.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from models.llama_runtime import activate, choose_runtime, model_params
from models.weights import packaged_chat_model


def main(argv: list[str]) -> None:
    """Serve the model named by ``--model`` (default the packaged one) until stopped."""
    if "--model" not in argv:
        argv = ["--model", str(packaged_chat_model()), *argv]
    model = Path(argv[argv.index("--model") + 1])
    choice = choose_runtime(model, None).choice
    assert choice is not None  # choose_runtime raises when nothing runs
    activate(choice)
    sys.argv = ["llama_cpp.server", *argv]
    with model_params(choice):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
