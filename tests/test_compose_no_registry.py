"""The install without a registry, as far as it can be checked without building images.

The README's "Without a registry" section is read, not retyped: its `.env` lines are run in
a scratch copy of the install files, and `docker-compose config` (Debian's 1.29, the one
that section names) resolves the stack they describe. That stack must need no registry,
answer with the app image's embedded model, and give podman 4.3 health checks it passes
whole. The backup and restore commands must need no registry image either, bring `front`
back after the app and the API restart, and avoid what hangs docker-compose 1.29.
Building and running the images is tests/test_install.py's (`make test-install`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.system import require

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
OVERRIDE = ROOT / "deploy" / "compose.no-registry.yml"
# What the section builds (podman names a local image localhost/...).
LOCAL_IMAGES = {
    "localhost/docent:0.1.0",
    "localhost/docent-chroma:1.5.9",
    "localhost/docent-nginx:bookworm",
}


def section(title: str) -> str:
    """The README's section headed ``### title``, up to the next heading of its level."""
    return README.split(f"### {title}", 1)[1].split("\n### ", 1)[0]


def blocks(text: str) -> list[str]:
    """The bash blocks of ``text``."""
    return re.findall(r"```bash\n(.*?)```", text, re.DOTALL)


NO_REGISTRY = section("Without a registry: podman and local base images")
BACKUP = section("Backup and restore")


def run_block() -> list[str]:
    """The commands of the section's block that runs the stack."""
    found = [block for block in blocks(NO_REGISTRY) if "up -d" in block]
    assert len(found) == 1, "the section should have one block that starts the stack"
    return found[0].splitlines()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack `docker-compose config` resolves from the section's own `.env` lines."""
    require(Path(shutil.which("docker-compose") or "/usr/bin/docker-compose"), "docker-compose")
    site = tmp_path_factory.mktemp("site")
    for name in ("docker-compose.yml", ".env.example", "deploy/compose.no-registry.yml"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, site / name)
    env_lines = [
        line.split("#", 1)[0]
        for line in run_block()
        if re.match(r"(cp \.env\.example|sed -i .* \.env|echo .* >> \.env)", line)
    ]
    assert len(env_lines) >= 3, env_lines
    script = "\n".join(["set -e", *env_lines])
    subprocess.run(["bash", "-c", script], cwd=site, check=True, timeout=60)
    env = (site / ".env").read_text()
    assert re.search(r"^DOCENT_INDEX_TOKEN=[0-9a-f]{64}$", env, re.MULTILINE)
    resolved = subprocess.run(
        ["docker-compose", "config"],  # the files come from COMPOSE_FILE in .env
        cwd=site,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resolved.returncode == 0, resolved.stderr
    config = yaml.safe_load(resolved.stdout)
    assert isinstance(config, dict)
    return config


@pytest.mark.slow
def test_the_stack_needs_only_the_images_built_here(stack: dict[str, Any]) -> None:
    images = {name: service["image"] for name, service in stack["services"].items()}
    assert set(images.values()) <= LOCAL_IMAGES, images
    built = "\n".join(blocks(NO_REGISTRY)[0].splitlines())
    for image in LOCAL_IMAGES:
        assert image.removeprefix("localhost/") in built, f"{image} is not built by the section"


@pytest.mark.slow
def test_the_app_and_the_api_answer_with_the_embedded_model(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in ("app", "api", "ingest"):
        assert services[name]["environment"]["DOCENT_CHAT_BACKEND"] == "llamacpp", name
    # The stand-ins the others wait on: the app image, doing nothing, healthy.
    assert services["ollama"]["healthcheck"]["test"] == ["CMD", "true"]
    assert services["ollama-pull"]["command"] == ["exit 0"]


@pytest.mark.slow
def test_podman_gets_health_checks_it_passes_whole(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD":
            spaced = [arg for arg in test[1:] if " " in arg]
            assert not spaced, f"{name}: podman 4.3 splits {spaced} at its spaces"


def test_the_section_says_how_compose_reaches_podman_and_runs_its_checks() -> None:
    commands = "\n".join(run_block())
    assert "podman system service" in commands and "DOCKER_HOST=unix://" in commands
    assert "podman healthcheck run" in commands  # hosts without systemd
    assert "up -d --no-build" in commands  # never a build or pull through the socket
    assert "export CONTAINERS_CONF" in blocks(NO_REGISTRY)[0]
    assert "systemctl enable --now podman.socket" in NO_REGISTRY


def test_backup_and_restore_need_no_registry_and_bring_the_front_back() -> None:
    backup, restore = blocks(BACKUP)
    for block in (backup, restore):
        assert not re.search(r"ollama/ollama|chromadb/|nginx:", block), block
        starts = [i for i, line in enumerate(block.splitlines()) if " up -d" in line]
        restarts = [i for i, line in enumerate(block.splitlines()) if "restart front" in line]
        assert starts and restarts and restarts[0] > starts[-1], block
    # docker-compose 1.29 hangs on `up --no-start` of a service with dependencies.
    for block in blocks(README):
        for line in block.splitlines():
            if "up --no-start" in line:
                service = line.split("#", 1)[0].split()[-1]
                assert service in {"chroma", "ollama-pull"}, line
    assert "new server" in BACKUP
