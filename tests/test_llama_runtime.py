"""The embedded model's start-up probe: a configuration that kills its process only kills
the probe's child, the next one is tried, and the choice is remembered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli.render import status as render_status
from app.settings import Settings
from models.chat import ChatConfig
from models.chat_llamacpp import LlamaCppBackend
from models.errors import WeightsError
from models.llama_runtime import (
    CACHE_NAME,
    CpuRuntimeError,
    RuntimeChoice,
    candidates,
    choose_runtime,
    cpu_info,
    cpu_variants,
    runtime_facts,
)
from models.weights import CHAT_SHA256, packaged_chat_model

ROOT = Path(__file__).resolve().parent.parent

# llama.cpp's scores on an AMX server: the AMX variant first, then the AVX-512 ones.
AMX_SCORES = {"x64": 1, "haswell": 64, "icelake": 1472, "zen4": 1984, "sapphirerapids": 3008}


def test_candidates_go_from_the_best_kernels_to_the_generic_ones() -> None:
    assert candidates(AMX_SCORES) == [
        RuntimeChoice("sapphirerapids", True),
        RuntimeChoice("sapphirerapids", False),
        RuntimeChoice("zen4", True),
        RuntimeChoice("x64", False),
    ]


def test_variants_the_cpu_cannot_run_are_never_tried() -> None:
    plan = candidates({"x64": 1, "haswell": 64, "icelake": 0, "sapphirerapids": 0})
    assert [c.variant for c in plan] == ["haswell", "haswell", "x64"]


def test_a_build_with_its_cpu_linked_in_varies_only_the_buffer_types() -> None:
    assert candidates({}) == [RuntimeChoice("", True), RuntimeChoice("", False)]
    assert candidates(AMX_SCORES, active="icelake") == [
        RuntimeChoice("icelake", True),
        RuntimeChoice("icelake", False),
    ]


def test_cpu_info_reads_the_model_and_the_vector_features(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
        "flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_vnni amx_tile amx_int8 amx_bf16\n"
    )
    info = cpu_info(cpuinfo)
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert info.vector_features == [
        "sse4_2", "avx", "avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16"
    ]  # fmt: skip


def test_the_installed_llama_cpp_carries_every_x86_64_level() -> None:
    variants = cpu_variants()
    assert {"x64", "haswell", "skylakex", "icelake", "sapphirerapids"} <= set(variants), (
        "llama-cpp-python was not built by deploy/llama-wheel.sh"
    )


@pytest.mark.slow
def test_a_configuration_that_dies_by_sigill_falls_back_and_is_remembered(
    tmp_path: Path,
) -> None:
    gguf = packaged_chat_model()
    report = choose_runtime(gguf, tmp_path, file_sha256=CHAT_SHA256, faults={0: "sigill"})
    outcome = report.tried[0][1]
    assert outcome == "died by SIGILL", report.tried
    assert report.tried[1][1].startswith("ok"), report.tried
    assert report.choice is not None and not report.choice.extra_bufts
    assert "fell back after" in report.summary() and "SIGILL" in report.summary()
    remembered = json.loads((tmp_path / CACHE_NAME).read_text())
    assert len(remembered) == 1
    again = choose_runtime(gguf, tmp_path, file_sha256=CHAT_SHA256)
    assert again.cached and again.choice == report.choice
    assert again.seconds < 0.5, "a remembered choice must not start a probe"
    facts = runtime_facts(tmp_path)
    assert facts["in use"].startswith(report.choice.label())


@pytest.mark.slow
def test_a_configuration_that_hangs_is_given_up_after_the_timeout(tmp_path: Path) -> None:
    report = choose_runtime(
        packaged_chat_model(), None, file_sha256=CHAT_SHA256, timeout=20, faults={0: "hang"}
    )
    assert report.tried[0][1] == "no answer within 20 s", report.tried
    assert report.choice is not None and report.tried[-1][1].startswith("ok")


@pytest.mark.slow
def test_when_nothing_runs_the_error_names_the_cpu_each_try_and_the_fix(tmp_path: Path) -> None:
    config = ChatConfig(runtime_dir=tmp_path, probe_faults=tuple((i, "sigill") for i in range(4)))
    backend = LlamaCppBackend(config)
    with pytest.raises(CpuRuntimeError) as caught:
        backend.preflight()
    error = caught.value
    assert cpu_info().model in error.message
    # Every candidate was tried (a process that already loaded kernels only varies the
    # buffer types: two tries; a fresh one goes down to the generic kernels).
    tried = error.message.split("Tried: ", 1)[1]
    assert tried.count("died by SIGILL") == tried.count(";") + 1 >= 2, tried
    assert "DOCENT_CHAT_BACKEND=ollama" in error.hint
    assert not (tmp_path / CACHE_NAME).exists(), "a failure must not be remembered"
    assert backend.describe()["state"] == "not loaded"


@pytest.mark.slow
def test_a_file_llama_cpp_refuses_is_a_weights_error_not_a_cpu_one(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    with pytest.raises(WeightsError, match=r"llama\.cpp cannot load"):
        choose_runtime(broken, None)


@pytest.mark.slow
def test_the_packaged_model_answers_through_the_normal_path_and_status_says_how(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    backend = LlamaCppBackend(settings.chat_config())
    assert backend.invoke("Name the capital of France.").strip()
    kernels = backend.describe()["kernels"]
    assert "kernels" in kernels and "probed now" in kernels
    from app.api import Docent

    text = render_status(Docent(settings).status())
    assert "Chat runtime: embedded llama.cpp" in text
    assert f"in use:           {backend.runtime.probe.choice.label()}" in text  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_native_crash_in_a_test_fails_that_test_and_the_suite_goes_on(tmp_path: Path) -> None:
    (tmp_path / "test_crashing.py").write_text(
        textwrap.dedent(
            """
            import os, signal

            def test_dies_in_native_code():
                os.kill(os.getpid(), signal.SIGILL)

            def test_after_the_crash():
                assert True
            """
        )
    )
    # The project's own pytest options (pyproject.toml), run on the file above.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-q",
         str(tmp_path / "test_crashing.py"), "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    summary = done.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed" in summary, done.stdout[-3000:]
    assert "crashed" in done.stdout and "test_dies_in_native_code" in done.stdout


@pytest.mark.slow
def test_the_status_page_says_so_when_no_configuration_runs(tmp_path: Path) -> None:
    from functools import cached_property

    from app.api import Docent
    from app.ui.present import health
    from models.chat import ChatBackend

    class CrashingCpuDocent(Docent):
        """Docent on a CPU where every llama.cpp configuration dies by SIGILL."""

        @cached_property
        def chat(self) -> ChatBackend:
            faults = tuple((index, "sigill") for index in range(4))
            return LlamaCppBackend(replace(self.settings.chat_config(), probe_faults=faults))

    docent = CrashingCpuDocent(Settings(data_dir=tmp_path))
    models = docent.models()
    assert "does not run on this CPU" in models.problem
    chat = next(
        check for check in health(docent.status(), models) if check.component == "Chat model"
    )
    assert not chat.ok and "DOCENT_CHAT_BACKEND=ollama" in chat.detail
