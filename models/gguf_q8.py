"""The packaged 4-bit chat model, converted once to 8-bit for faster prompt reading.

On a CPU, what the first token of an answer waits for is llama.cpp reading the prompt,
and it reads the packaged SmolLM2 GGUF's weights faster stored as Q8_0 than as their
Q4_1 (docs/architecture.md, "Decisions"). Q8_0 holds every Q4_1 weight to within 1/254
of its block's largest one: on a test prompt its greedy text equals that of the weights
decoded to f16 exactly, which the Q4_1 kernels (they round the activations to 8 bits)
did not reproduce. The copy costs some disk and memory, is built with llama.cpp's own
quantizer on first load, and is kept in the models folder of the data directory, named
by the source's sha256, so a changed source is converted again.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path

from models.errors import WeightsError
from models.weights import sha256_file

# Bump when the conversion changes, so copies made by an older Docent are not reused.
_VERSION = 1


def q8_copy(source: Path, cache_dir: Path, sha256: str | None = None) -> Path:
    """Return the Q8_0 copy of the GGUF ``source``, converting it on first use.

    Args:
        source: A GGUF already verified by the caller.
        cache_dir: Where the copy is kept.
        sha256: The source's sha256 when known (it names the copy); else it is computed.

    Raises:
        WeightsError: llama.cpp could not convert the file.
    """
    digest = (sha256 or sha256_file(source))[:16]
    target = cache_dir / f"{source.stem}-{digest}.Q8_0-v{_VERSION}.gguf"
    if target.is_file():
        return target
    import llama_cpp
    from llama_cpp._logger import set_verbose

    set_verbose(False)  # the quantizer logs every tensor otherwise
    cache_dir.mkdir(parents=True, exist_ok=True)
    descriptor, scratch = tempfile.mkstemp(prefix=".convert-", suffix=".gguf", dir=cache_dir)
    os.close(descriptor)
    try:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        params.nthread = os.cpu_count() or 1
        code = llama_cpp.llama_model_quantize(
            str(source).encode(), scratch.encode(), ctypes.byref(params)
        )
        if code != 0:
            raise WeightsError(
                f"llama.cpp could not convert {source} to 8-bit (code {code}).",
                hint="set DOCENT_CHAT_Q8=false to load the 4-bit file as it is",
            )
        Path(scratch).replace(target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target
