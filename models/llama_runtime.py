"""Which llama.cpp CPU kernels this machine runs, chosen by a probe that cannot crash Docent.

The customer's server CPU is unknown when the software is built. Docent's llama.cpp is
built once for every x86-64 level (``deploy/llama-wheel.sh``: ``GGML_BACKEND_DL`` with
``GGML_CPU_ALL_VARIANTS``), one ``libggml-cpu-<variant>.so`` each; llama.cpp scores each
variant by the CPU's ``cpuid`` bits. ``cpuid`` can promise more than the kernel allows: a
virtual machine may report AMX while the OS never enabled its tile state, and the first AMX
instruction then kills the process with SIGILL. So before a process first uses a GGUF,
``choose_runtime`` runs it once in a child process (``models.llama_probe``) per candidate
configuration, best first, and keeps the first that answers; the choice is remembered per
CPU, llama.cpp version and file, so later starts skip the probe.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from models.chat.base import ChatBackendError
from models.errors import WeightsError
from models.weights import sha256_file

# Vector features worth naming when someone asks which kernels run and why.
VECTOR_FEATURES = (
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_vbmi",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
CACHE_NAME = "llama-runtime.json"
# Bump when the probe or the candidate order changes, so older choices are probed again.
_PROBE_VERSION = 1
_BUILTIN = ""  # a llama.cpp whose CPU backend is linked in (not a GGML_BACKEND_DL build)
_GENERIC = "x64"


class CpuRuntimeError(ChatBackendError):
    """No configuration of llama.cpp runs on this CPU."""


@dataclass(frozen=True)
class RuntimeChoice:
    """One way to run llama.cpp here.

    Attributes:
        variant: The CPU kernels' variant (``icelake``, ``x64``...), or ``""`` for a
            llama.cpp build with its CPU backend linked in.
        extra_bufts: Whether llama.cpp may use its extra weight buffer types (AMX tiles,
            repacked weights); off is slower on some CPUs and safe on all.
    """

    variant: str
    extra_bufts: bool

    def label(self) -> str:
        """How the choice reads in ``docent status``."""
        kernels = self.variant or "built-in"
        return f"{kernels} kernels, extra buffer types {'on' if self.extra_bufts else 'off'}"


@dataclass
class ProbeReport:
    """What the probe found: the choice in use and every configuration tried for it."""

    choice: RuntimeChoice | None
    tried: list[tuple[str, str]] = field(default_factory=list)
    cached: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: the configuration in use and how it was found."""
        if self.choice is None:
            return "no configuration runs: " + "; ".join(f"{c}: {o}" for c, o in self.tried)
        how = "remembered from an earlier probe" if self.cached else "probed now"
        fell = [f"{c}: {o}" for c, o in self.tried if not o.startswith("ok")]
        back = f"; fell back after {'; '.join(fell)}" if fell else ""
        return f"{self.choice.label()} ({how}{back})"


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the kernel reports it."""

    model: str
    flags: tuple[str, ...]

    @property
    def vector_features(self) -> list[str]:
        """The SIMD features among ``VECTOR_FEATURES`` that the kernel reports."""
        present = set(self.flags)
        return [name for name in VECTOR_FEATURES if name in present]


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """This machine's CPU model and flags (``/proc/cpuinfo`` on Linux)."""
    model, flags = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        for line in cpuinfo.read_text(errors="replace").splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif name in ("flags", "Features") and not flags:
                flags = value
    return CpuInfo(model=model, flags=tuple(sorted(set(flags.split()))))


def library_dir() -> Path | None:
    """The folder of llama-cpp-python's shared libraries, found without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def cpu_variants(lib: Path | None = None) -> list[str]:
    """The CPU kernel variants the installed llama.cpp carries (empty: a built-in CPU)."""
    lib = lib if lib is not None else library_dir()
    if lib is None:
        return []
    prefix, suffix = "libggml-cpu-", ".so"
    return sorted(
        path.name[len(prefix) : -len(suffix)]
        for path in lib.glob(f"{prefix}*{suffix}")
        if path.is_file()
    )


def llama_version() -> str:
    """The installed llama-cpp-python version, or ``"not installed"``."""
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return "not installed"


def candidates(scores: dict[str, int], active: str | None = None) -> list[RuntimeChoice]:
    """The configurations to try, most capable first, safest last.

    The best-scored variant with extra buffer types, then without them, then the next
    variant llama.cpp rates lower (which on an AMX machine lacks the AMX kernels), then the
    generic x86-64 kernels. A process that already loaded a variant can only vary the
    buffer types.

    Args:
        scores: llama.cpp's score per variant (0: the CPU lacks a feature it needs).
        active: The variant already loaded into this process, if any.
    """
    if active is not None:
        return [RuntimeChoice(active, True), RuntimeChoice(active, False)]
    if not scores:
        return [RuntimeChoice(_BUILTIN, True), RuntimeChoice(_BUILTIN, False)]
    ranked = [name for name, score in sorted(scores.items(), key=lambda kv: -kv[1]) if score > 0]
    plan: list[RuntimeChoice] = []
    if ranked:
        plan += [RuntimeChoice(ranked[0], True), RuntimeChoice(ranked[0], False)]
    if len(ranked) > 1 and ranked[1] != _GENERIC:
        plan.append(RuntimeChoice(ranked[1], True))
    if _GENERIC in scores and _GENERIC not in ranked[:1]:
        plan.append(RuntimeChoice(_GENERIC, False))
    return plan


class _Process:
    """What this process has loaded: one CPU variant at most, for its whole life."""

    lock = threading.Lock()
    variant: str | None = None


def activate(choice: RuntimeChoice, lib: Path | None = None) -> None:
    """Load ``choice``'s CPU kernels into this process (before any model loads).

    Raises:
        CpuRuntimeError: llama.cpp could not load the variant's library.
    """
    with _Process.lock:
        if _Process.variant is not None or choice.variant == _BUILTIN:
            _Process.variant = _Process.variant or choice.variant
            return
        lib = lib if lib is not None else library_dir()
        path = (lib or Path()) / f"libggml-cpu-{choice.variant}.so"
        import llama_cpp  # noqa: F401  (loads libggml.so.0, which the call below must share)
        from llama_cpp._logger import set_verbose

        set_verbose(False)  # llama.cpp would log the library it loads to stderr

        # By soname, not by path: the wheel holds libggml.so and libggml.so.0 as two files,
        # and libllama uses the second; loading the first would make a second registry.
        ggml = ctypes.CDLL("libggml.so.0")
        ggml.ggml_backend_load.restype = ctypes.c_void_p
        ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
        if not ggml.ggml_backend_load(str(path).encode()):
            raise CpuRuntimeError(
                f"llama.cpp could not load its CPU kernels from {path}.",
                hint="reinstall llama-cpp-python with deploy/llama-wheel.sh (make venv)",
            )
        _Process.variant = choice.variant


_params_lock = threading.Lock()


@contextlib.contextmanager
def model_params(choice: RuntimeChoice) -> Iterator[None]:
    """While a ``Llama`` is built inside, its model parameters follow ``choice``.

    llama-cpp-python's ``Llama`` does not take ``use_extra_bufts``; it starts from
    ``llama_model_default_params()``, so that function is wrapped for the duration.
    """
    import llama_cpp.llama_cpp as low

    with _params_lock:
        original = low.llama_model_default_params

        def defaults() -> low.llama_model_params:
            params: low.llama_model_params = original()
            params.use_extra_bufts = choice.extra_bufts
            return params

        low.llama_model_default_params = defaults  # type: ignore[assignment]
        try:
            yield
        finally:
            low.llama_model_default_params = original  # type: ignore[assignment]


def _cache_key(cpu: CpuInfo, file_sha256: str) -> str:
    parts = [str(_PROBE_VERSION), cpu.model, " ".join(cpu.flags), llama_version(), file_sha256]
    return "|".join(parts)


def _read_cache(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, scratch = tempfile.mkstemp(prefix=".runtime-", dir=path.parent)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    Path(scratch).replace(path)


def _outcome(code: int | None, stderr: str, timeout: float | None) -> str:
    if timeout is not None:
        return f"no answer within {timeout:.0f} s"
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"died by {signal.Signals(-code).name}"
        return f"died by signal {-code}"
    last = stderr.strip().splitlines()[-1:] or [f"exit code {code}"]
    return f"failed: {last[0][:200]}"


def _run_child(args: list[str], timeout: float) -> tuple[dict[str, object] | None, str]:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    command = [sys.executable, "-m", "models.llama_probe", *args]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return None, _outcome(None, "", timeout)
    if done.returncode != 0:
        return None, _outcome(done.returncode, done.stderr, None)
    try:
        lines = done.stdout.strip().splitlines()
        return json.loads(lines[-1]), "ok"
    except (ValueError, IndexError):
        return None, f"failed: no answer on stdout ({done.stderr.strip()[-200:]})"


def variant_scores(timeout: float = 30.0) -> dict[str, int]:
    """llama.cpp's score of each installed CPU variant, asked in a child process."""
    if not cpu_variants():
        return {}
    answer, _ = _run_child(["--scores"], timeout)
    if not answer:
        # The scoring itself failed: try the generic kernels only.
        return {_GENERIC: 1} if _GENERIC in cpu_variants() else {}
    return {str(k): int(v) for k, v in answer.items() if isinstance(v, int)}  # type: ignore[call-overload]


def choose_runtime(
    gguf: Path,
    cache_dir: Path | None,
    *,
    file_sha256: str | None = None,
    threads: int = 2,
    timeout: float | None = None,
    faults: dict[int, str] | None = None,
) -> ProbeReport:
    """Find (or recall) a llama.cpp configuration that runs ``gguf`` on this CPU.

    Args:
        gguf: The model file the process is about to load.
        cache_dir: Where choices are remembered; None probes every time.
        file_sha256: The file's sha256 when known; else it is computed.
        threads: Threads the probe uses.
        timeout: Seconds one probe may take; by default 60 plus 30 per GB of model.
        faults: Test hook: configuration index -> ``sigill`` or ``hang``, passed to that
            child so that it really dies by the signal or never answers.

    Raises:
        CpuRuntimeError: Every configuration died or failed; names the CPU, each try and the fix.
    """
    started = time.perf_counter()
    cpu = cpu_info()
    key = _cache_key(cpu, file_sha256 or sha256_file(gguf))
    cache_path = cache_dir / CACHE_NAME if cache_dir is not None else None
    cache = _read_cache(cache_path) if cache_path is not None else {}
    if (entry := cache.get(key)) and not faults:
        choice = RuntimeChoice(str(entry["variant"]), bool(entry["extra_bufts"]))
        tried = [tuple(pair) for pair in entry.get("tried", [])]  # type: ignore[attr-defined]
        return ProbeReport(choice, tried, cached=True, seconds=time.perf_counter() - started)  # type: ignore[arg-type]
    limit = timeout if timeout is not None else 60.0 + 30.0 * gguf.stat().st_size / 1e9
    report = ProbeReport(choice=None)
    for index, choice in enumerate(candidates(variant_scores(), _Process.variant)):
        args = ["--gguf", str(gguf), "--variant", choice.variant, "--threads", str(threads)]
        args += ["--extra-bufts", "1" if choice.extra_bufts else "0"]
        if faults and index in faults:
            args += ["--fault", faults[index]]
        answer, outcome = _run_child(args, limit)
        if answer is not None:
            outcome = f"ok in {float(answer.get('seconds', 0)):.1f} s"  # type: ignore[arg-type]
        report.tried.append((choice.label(), outcome))
        if answer is not None:
            report.choice = choice
            break
    report.seconds = time.perf_counter() - started
    if report.choice is None and all(o.startswith("failed") for _, o in report.tried):
        # Nothing died: the file itself is what llama.cpp refuses, in every configuration.
        raise WeightsError(
            f"llama.cpp cannot load {gguf}: {report.tried[-1][1]}",
            hint="point DOCENT_CHAT_GGUF_PATH at a GGUF chat model",
        )
    if report.choice is None:
        raise CpuRuntimeError(
            f"llama.cpp does not run on this CPU ({cpu.model}; "
            f"{', '.join(cpu.vector_features) or 'no vector features'}), "
            f"llama-cpp-python {llama_version()}. Tried: "
            + "; ".join(f"{c}: {o}" for c, o in report.tried)
            + ".",
            hint="serve the model with Ollama instead (DOCENT_CHAT_BACKEND=ollama), "
            "and send `docent doctor`'s output to your Docent maintainer",
        )
    if cache_path is not None:
        cache[key] = {
            **asdict(report.choice),
            "tried": report.tried,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write_cache(cache_path, cache)
    return report


def runtime_facts(cache_dir: Path | None) -> dict[str, str]:
    """What ``docent status`` shows of the embedded runtime, without loading or probing.

    Args:
        cache_dir: Where the probe remembers its choices (``ChatConfig.runtime_dir``).
    """
    cpu = cpu_info()
    variants = cpu_variants()
    facts = {
        "cpu": cpu.model,
        "vector features": ", ".join(cpu.vector_features) or "none reported",
        "llama.cpp": f"llama-cpp-python {llama_version()}, "
        + (f"{len(variants)} CPU variants chosen at run time" if variants else "CPU built in"),
    }
    prefix = _cache_key(cpu, "")
    cache = _read_cache(cache_dir / CACHE_NAME) if cache_dir is not None else {}
    found = [entry for key, entry in cache.items() if key.startswith(prefix)]
    if found:
        latest = max(found, key=lambda entry: str(entry.get("when", "")))
        choice = RuntimeChoice(str(latest["variant"]), bool(latest["extra_bufts"]))
        facts["in use"] = f"{choice.label()} (probed {latest.get('when', '')})"
    else:
        facts["in use"] = "not probed yet: the first question runs the start-up probe"
    return facts
