"""The compose stack of the install test, run with podman: images, the API socket, compose.

docker-compose (Debian's 1.29) drives podman through its Docker-compatible API socket
(``podman system service``), so the production docker-compose.yml runs unchanged, with
tests/compose.install.yml on top. Podman reads deploy/podman/containers.conf (runc,
rlimits, netavark). Podman runs health checks from systemd timers; a host without systemd
(a CI container) has none, so ``HealthTicker`` runs each container's check on its interval,
as the timer would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"
OVERRIDE = ROOT / "tests" / "compose.install.yml"
APP_IMAGE = "localhost/docent:0.1.0"
CHROMA_IMAGE = "localhost/docent-chroma:1.5.9"
NGINX_IMAGE = "localhost/docent-nginx:bookworm"
DEBIAN_IMAGE = "localhost/docent-debian:bookworm-minbase"
# Commands the test needs, each with the Debian package (tagged `install`) that has it.
NEEDED = {
    "podman": "podman",
    "runc": "runc",
    "debootstrap": "debootstrap",
    "docker-compose": "docker-compose",
    "/usr/lib/podman/netavark": "netavark",
    "/usr/lib/podman/aardvark-dns": "aardvark-dns",
    "/usr/bin/chromium": "chromium",
}


def env() -> dict[str, str]:
    """The environment podman and docker-compose run with."""
    return os.environ | {"CONTAINERS_CONF": str(CONTAINERS_CONF)}


def missing() -> str | None:
    """Why podman cannot run the stack here, naming what is missing; None when it can."""
    absent = [
        package
        for thing, package in NEEDED.items()
        if not (Path(thing).exists() if thing.startswith("/") else shutil.which(thing))
    ]
    if absent:
        return f"needs the Debian packages {', '.join(absent)} (`make test-install` installs them)"
    if os.geteuid() != 0:
        return "needs root: the install test runs rootful podman"
    probe = subprocess.run(["podman", "info"], env=env(), capture_output=True, text=True)
    if probe.returncode != 0:
        return f"podman is installed but unusable here: {probe.stderr.strip()[-300:]}"
    return None


def run(*args: str | Path, timeout: float = 600, check: bool = True, merge: bool = False) -> str:
    """Run a command with podman's settings; return its stdout (with stderr if ``merge``).

    Callers parse the output (an image name, a size, a port), so stderr stays out of it by
    default: podman, apt and debconf print warnings there that differ from one machine to
    the next (a fresh machine's first build says "debconf: delaying package configuration").
    """
    result = subprocess.run(
        [str(arg) for arg in args],
        env=env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr if merge else result.stdout


def build_images(pip: Path) -> dict[str, float]:
    """Build the base, the wheelhouse and the three images; return seconds per step."""
    seconds: dict[str, float] = {}
    started = time.monotonic()
    python_image = run(ROOT / "deploy" / "base-image.sh", timeout=1200).strip().splitlines()[-1]
    seconds["base images"] = time.monotonic() - started
    started = time.monotonic()
    run(ROOT / "deploy" / "wheelhouse.sh", pip, timeout=3600)
    seconds["wheelhouse"] = time.monotonic() - started
    python, debian = f"PYTHON_IMAGE={python_image}", f"DEBIAN_IMAGE={DEBIAN_IMAGE}"
    builds = {
        APP_IMAGE: ("Dockerfile", ".", python),
        CHROMA_IMAGE: ("deploy/images/chroma.Containerfile", ".", python),
        NGINX_IMAGE: ("deploy/images/nginx.Containerfile", "deploy/images", debian),
    }
    for tag, (file, context, arg) in builds.items():
        started = time.monotonic()
        run("podman", "build", "--network", "host", "--build-arg", arg, "-f", file, "-t", tag,
            context, timeout=3600)  # fmt: skip
        seconds[tag] = time.monotonic() - started
    return seconds


def image_size(tag: str) -> int:
    """The image's size in bytes, as `podman images` reports it."""
    return int(run("podman", "image", "inspect", "--format", "{{.Size}}", tag).strip())


@contextmanager
def podman_socket(folder: Path) -> Iterator[str]:
    """Serve podman's Docker-compatible API on a socket in ``folder``; yield DOCKER_HOST."""
    socket = folder / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            assert service.poll() is None and time.monotonic() < deadline, "no podman socket"
            time.sleep(0.2)
        yield f"unix://{socket}"
    finally:
        service.terminate()
        service.wait(30)


@dataclass
class Compose:
    """docker-compose on the production file and the test override, as project ``name``."""

    name: str
    env_file: Path
    docker_host: str

    def __call__(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        """Run ``docker-compose ARGS`` for this project."""
        command = ["docker-compose", "--no-ansi", "-p", self.name, "--env-file", str(self.env_file),
                   "-f", "docker-compose.yml", "-f", str(OVERRIDE), *args]  # fmt: skip
        result = subprocess.run(
            command,
            env=env() | {"DOCKER_HOST": self.docker_host, "COMPOSE_INTERACTIVE_NO_CLI": "1"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker-compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout + result.stderr

    def container(self, service: str) -> str:
        """The running container of ``service`` (its podman name)."""
        return f"{self.name}_{service}_1"

    def health(self, service: str) -> str:
        """The container's health status: starting, healthy or unhealthy."""
        return run("podman", "inspect", "--format", "{{.State.Health.Status}}",
                   self.container(service)).strip()  # fmt: skip

    def wait_healthy(self, services: list[str], timeout: float = 600) -> float:
        """Wait until every service's check passes; return the seconds it took."""
        started = time.monotonic()
        waiting = list(services)
        while waiting:
            waiting = [service for service in waiting if self.health(service) != "healthy"]
            if time.monotonic() - started > timeout:
                logs = {s: run("podman", "logs", "--tail", "30", self.container(s), check=False,
                               merge=True)
                        for s in waiting}  # fmt: skip
                raise AssertionError(f"not healthy after {timeout}s: {waiting}\n{logs}")
            time.sleep(1)
        return time.monotonic() - started

    def exec(self, service: str, *args: str, stdin: str | None = None) -> str:
        """Run a command in the service's running container; return stdout."""
        result = subprocess.run(
            ["podman", "exec", "-i", self.container(service), *args],
            env=env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{args} exited {result.returncode}: {result.stderr}"
        return result.stdout


@dataclass
class HealthTicker:
    """Run each running container's health check on its own interval.

    Stands in for the systemd timer podman schedules a check with: the first check one
    interval after the container started, then every interval, so compose sees the same
    ``healthy`` (and a time to healthy) that a systemd host would give it.
    """

    poll: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _due: dict[str, float] = field(default_factory=dict)

    def __enter__(self) -> HealthTicker:
        threading.Thread(target=self._tick, daemon=True, name="health-ticker").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _tick(self) -> None:
        while not self._stop.wait(self.poll):
            # A podman call that times out (a loaded machine, a lock held by `compose stop`)
            # costs one round, never the ticker: a dead ticker leaves every later check
            # "starting" and compose waiting for it until its own timeout.
            try:
                self._round()
            except (subprocess.SubprocessError, OSError) as error:
                print(f"health ticker: {error}", flush=True)

    def _round(self) -> None:
        running = run("podman", "ps", "--format", "{{.ID}}", check=False, timeout=60).split()
        for container in running:
            now = time.monotonic()
            if container not in self._due:
                self._due[container] = now + self._interval(container)
            elif now >= self._due[container]:
                self._due[container] = now + self._interval(container)
                run("podman", "healthcheck", "run", container, check=False, timeout=60)

    @staticmethod
    def _interval(container: str) -> float:
        """The container's check interval, from podman's Go duration ("30s", "1m30s")."""
        duration = run("podman", "inspect", "--format", "{{.Config.Healthcheck.Interval}}",
                       container, check=False, timeout=60).strip()  # fmt: skip
        parts = re.findall(r"([\d.]+)(ms|h|m|s)", duration)
        unit = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        return sum(float(number) * unit[name] for number, name in parts) or 30.0
