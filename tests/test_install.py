"""The on-prem install, end to end, as a site runs it: podman, docker-compose, real images.

Builds the images from the wheelhouse (deploy/wheelhouse.sh) on a local Debian base
(deploy/base-image.sh), starts docker-compose.yml with tests/compose.install.yml (local
Chroma and nginx images; Ollama replaced by the project's Ollama-API test server), waits
for every health check, and then does what the README tells a site to do: the first
administrator from the env file, `run --rm ingest`, a question in Chromium through the
published port of the `front` proxy, a restart, the backup, and a restore into a fresh
stack. Network isolation is asserted from inside the containers: nothing behind `front`
reaches the host or a public address, with a control on the routed network that does.
Figures (build and start-up times, image sizes) go to test-artifacts/install.json. Runs
with `make test-install` (pytest --install); skipped, naming what is missing, where podman
cannot run.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests import install_stack
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.install_stack import Compose, HealthTicker, podman_socket, run
from tests.ui_server import sign_in

# A cold run (nothing cached: base, wheelhouse, every layer) took 29 min on a loaded machine;
# CI gives lint, test and this together 90 min.
pytestmark = [pytest.mark.install, pytest.mark.timeout(3600)]

ROOT = install_stack.ROOT
PIP = Path(sys.executable).with_name("pip")
HEALTHY = ["ollama", "chroma", "chroma-auth", "app", "api", "front"]
QUESTION = "How many days of annual leave do full-time employees receive?"
ANSWER = "25 days"
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """A free TCP port on the host (for the published UI and API ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_env(path: Path, password: str) -> Path:
    """The site's .env, as README's online install fills it in."""
    values = {
        "DOCENT_INDEX_TOKEN": secrets.token_hex(32),
        "FIRST_ADMIN_USER": "admin",
        "FIRST_ADMIN_PASSWORD": password,
        "DOCENT_CHAT_MODEL": "qwen2.5:1.5b",
        "DOCENT_COLLECTION": "default",
        "INBOX_DIR": str(ROOT / "data" / "samples"),
        "APP_IMAGE": install_stack.APP_IMAGE,
        "UI_PUBLISH_PORT": str(free_port()),
        "API_PUBLISH_PORT": str(free_port()),
    }
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def ui_port(env_file: Path, face: str = "UI") -> int:
    """The host port the env file publishes the UI (or the API) on, through `front`."""
    found = re.search(rf"^{face}_PUBLISH_PORT=(\d+)$", env_file.read_text(), re.MULTILINE)
    assert found
    return int(found.group(1))


def ask_in_chromium(port: int, password: str, artifacts: Path) -> str:
    """Sign in as admin through the published port, ask QUESTION; return the answer text."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"http://127.0.0.1:{port}")
            sign_in(page, password, artifacts)
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=120_000
            )
            page.get_by_test_id("stChatInputTextArea").fill(QUESTION)
            page.keyboard.press("Enter")
            quoted = re.compile(r"Quoted from \S+, pages? \d")
            expect(page.get_by_text(quoted)).to_be_visible(timeout=240_000)
            answer = page.get_by_test_id("stChatMessage").last
            expect(answer).to_contain_text(ANSWER)
            expect(answer.get_by_role("button", name=re.compile(r"^\[1\] "))).to_be_visible()
            page.screenshot(path=artifacts / "install-answer.png", full_page=True)
            return answer.inner_text()
        except Exception:
            page.screenshot(path=artifacts / "install-failure.png", full_page=True)
            raise
        finally:
            browser.close()


def assert_front_answers(env_file: Path, within: float = 120) -> None:
    """The UI and the API answer 200 through `front`'s published ports (not 502)."""
    deadline = time.monotonic() + within
    for url in (
        f"http://127.0.0.1:{ui_port(env_file)}/_stcore/health",
        f"http://127.0.0.1:{ui_port(env_file, 'API')}/healthz",
    ):
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    status: object = reply.status
            except OSError as error:  # a 502 from `front` too
                status = error
            if status == 200:
                break
            assert time.monotonic() < deadline, f"{url}: {status}"
            time.sleep(2)


def snapshot(stack: Compose) -> dict[str, object]:
    """What must survive a restart or a restore: the index's counts and the accounts."""
    status = json.loads(stack.exec("app", "docent", "status", "--json"))
    users = stack.exec("app", "docent", "users", "list")
    return {"collections": status["collections"], "users": users}


def cited_answer(stack: Compose) -> dict[str, object]:
    """`docent ask --json` of QUESTION in the app container."""
    answer: dict[str, object] = json.loads(stack.exec("app", "docent", "ask", "--json", QUESTION))
    assert ANSWER in json.dumps(answer), answer
    return answer


PROBE = """
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=5).close()
except OSError as error:
    print("refused", error)
else:
    print("connected")
"""


def host_address() -> str:
    """The host's own non-loopback address (the one its default route leaves from).

    Asked in a child process: this one may not open a connection (pytest-socket), and a
    UDP socket's connect sends nothing, it only chooses the route.
    """
    ask = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        "s.connect(('198.51.100.1', 9)); print(s.getsockname()[0])"  # TEST-NET-2
    )
    found = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    address = found.stdout.strip()
    assert address and not address.startswith("127."), address
    return address


def public_address() -> str | None:
    """An address on the internet (pypi.org's), or None where this host cannot resolve it."""
    try:
        return str(socket.getaddrinfo("pypi.org", 443, socket.AF_INET)[0][4][0])
    except OSError:
        return None


def assert_isolated(stack: Compose) -> dict[str, str]:
    """Only `front` publishes a port, and nothing behind it reaches outside the networks.

    From inside the app, the API, Chroma and Ollama, a connection to the host's own address
    (on a port the host is listening on) and to a public address must fail, while the
    services reach each other by name. The same probe in the same app image on the routed
    network `frontend` must connect: the control that shows the refusals come from the
    internal network, not from a probe that cannot connect at all. Where the control cannot
    reach the public address either (no way out from this host), only the host's address
    is asserted.

    Returns what was seen, with what the app finds at the host's own address on `backend`
    (``assert_gateway_closed``).
    """
    for service in ("app", "api", "chroma", "chroma-auth", "ollama"):
        assert run("podman", "port", stack.container(service)).strip() == "", service
    front = run("podman", "port", stack.container("front"))
    assert "8501/tcp" in front and "8502/tcp" in front, front
    for name, port in (("chroma-auth", 8000), ("ollama", 11434)):
        reply = stack.exec("app", "python", "-c", PROBE, name, str(port))
        assert reply.startswith("connected"), f"the app did not reach {name}:{port}: {reply}"
    # Chroma checks no token: only its proxy, on the network `index` with it, reaches it.
    for service in ("app", "api", "ollama"):
        reply = stack.exec(service, "python", "-c", PROBE, "chroma", "8000")
        assert reply.startswith("refused"), f"{service} reached chroma past its proxy: {reply}"

    seen: dict[str, str] = {}
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen(16)
        outside = [(host_address(), listener.getsockname()[1])]
        public = public_address()
        if public:
            outside.append((public, 443))
        for host, port in outside:
            routed = ("podman", "run", "--rm", "--network", f"{stack.name}_frontend")
            control = run(*routed, install_stack.APP_IMAGE, "python", "-c", PROBE, host, str(port))
            # (podman may add a line of its own on stderr, after the probe's.)
            seen[f"routed control to {host}:{port}"] = control.splitlines()[0]
            if host == public and not control.startswith("connected"):
                continue
            assert control.startswith("connected"), f"the control missed {host}:{port}: {control}"
            for service in ("app", "api", "chroma", "ollama"):
                reply = stack.exec(service, "python", "-c", PROBE, host, str(port)).strip()
                seen[f"{service} to {host}:{port}"] = reply
                assert reply.startswith("refused"), f"{service} reached {host}:{port}: {reply}"
        seen.update(assert_gateway_closed(stack, str(listener.getsockname()[1])))
    return seen


def assert_gateway_closed(stack: Compose, port: str) -> dict[str, str]:
    """The host's own address on `backend` (the bridge's gateway, where podman's DNS
    answers) is open until the README's two firewall rules close it to all but DNS.

    Open first: the control that shows the rules are what closes it. Then, with the rules
    in place, the app no longer reaches the host there and still finds Chroma by name. The
    rules are removed again, whatever happens.
    """
    network = f"{stack.name}_backend"
    inspect = ("podman", "network", "inspect", "--format")
    gateway = run(*inspect, "{{range .Subnets}}{{.Gateway}}{{end}}", network).split()[0]
    bridge = run(*inspect, "{{.NetworkInterface}}", network).split()[0]
    seen = {f"app to the backend gateway {gateway}:{port}, open": stack.exec(
        "app", "python", "-c", PROBE, gateway, port).strip()}  # fmt: skip
    assert seen[f"app to the backend gateway {gateway}:{port}, open"].startswith("connected")
    rules = [("-i", bridge, "-j", "DROP"), ("-i", bridge, "-p", "udp", "--dport", "53",
             "-j", "ACCEPT")]  # fmt: skip
    added: list[tuple[str, ...]] = []
    try:
        for rule in rules:  # README, "On-prem install": each inserted above the one before
            run("iptables", "-I", "INPUT", *rule)
            added.append(rule)
        closed = stack.exec("app", "python", "-c", PROBE, gateway, port).strip()
        seen[f"app to the backend gateway {gateway}:{port}, closed"] = closed
        assert closed.startswith("refused"), f"the rules left {gateway}:{port} open: {closed}"
        by_name = stack.exec("app", "python", "-c", PROBE, "chroma-auth", "8000").strip()
        assert by_name.startswith("connected"), f"the rules stopped DNS: {by_name}"
    finally:
        for rule in reversed(added):
            run("iptables", "-D", "INPUT", *rule)
    return seen


def tar(volume: str, mount: str, *args: str) -> None:
    """`tar ARGS` in a throwaway container with ``volume`` and a host folder mounted."""
    run("podman", "run", "--rm", "--entrypoint", "tar", "-v", volume, "-v", mount,
        install_stack.DEBIAN_IMAGE, *args)  # fmt: skip


def backup(stack: Compose, folder: Path) -> None:
    """README's backup: stop the writers, tar both volumes, start again."""
    stack("stop", "app", "api", "chroma-auth", "chroma")
    folder.mkdir(mode=0o700)
    for volume in ("chroma-data", "docent-data"):
        run("podman", "run", "--rm", "--entrypoint", "sh", "-v",
            f"{stack.name}_{volume}:/from:ro", "-v", f"{folder}:/to", install_stack.DEBIAN_IMAGE,
            "-c", f"umask 077 && tar -czf /to/{volume}.tgz -C /from .")  # fmt: skip
        # The keys, token and password hashes inside: readable by their owner only.
        assert (folder / f"{volume}.tgz").stat().st_mode & 0o777 == 0o600, volume
    stack("up", "-d", "--no-build")
    stack("restart", "front")  # it looks the restarted app and API up again


def restore(stack: Compose, folder: Path) -> None:
    """README's restore into a fresh stack: empty volumes, unpack, start.

    Only `chroma` is created first: it depends on nothing, and docker-compose 1.29 waits
    for the health of a service's dependencies even with --no-start. Every volume of the
    project is created with it.
    """
    stack("up", "--no-start", "--no-build", "chroma")
    for volume in ("chroma-data", "docent-data"):
        tar(f"{stack.name}_{volume}:/to", f"{folder}:/from:ro",
            "-xzf", f"/from/{volume}.tgz", "-C", "/to")  # fmt: skip
    stack("up", "-d", "--no-build")
    stack("restart", "front")


def test_a_site_install_runs_survives_a_restart_and_restores_from_its_backup(
    tmp_path: Path,
) -> None:
    reason = install_stack.missing()
    if reason:
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    figures: dict[str, object] = {"build seconds": install_stack.build_images(PIP)}
    tags = (install_stack.APP_IMAGE, install_stack.CHROMA_IMAGE, install_stack.NGINX_IMAGE)
    figures["image bytes"] = {tag: install_stack.image_size(tag) for tag in tags}
    password = secrets.token_urlsafe(16)
    env_file = write_env(tmp_path / "site.env", password)
    with podman_socket(tmp_path) as docker_host, HealthTicker():
        site = Compose("docentsite", env_file, docker_host)
        fresh = Compose("docentrestored", env_file, docker_host)
        try:
            up = time.monotonic()
            site("up", "-d", "--no-build")
            site.wait_healthy(HEALTHY)
            figures["up to healthy seconds"] = time.monotonic() - up
            site.exec("app", "docent", "doctor")

            # (docker-compose shows no output of `run` through podman's API: the index does.)
            site("run", "--rm", "-T", "ingest")
            answer = ask_in_chromium(ui_port(env_file), password, ARTIFACTS)
            assert ANSWER in answer
            figures["egress"] = assert_isolated(site)
            before = snapshot(site)
            assert "admin" in str(before["users"])
            counts = {c["name"]: c["documents"] for c in before["collections"]}  # type: ignore[attr-defined]
            assert counts == {"default": 4}, before

            site("stop")
            site("up", "-d", "--no-build")
            site.wait_healthy(HEALTHY)
            assert snapshot(site) == before
            cited_answer(site)

            backup(site, tmp_path / "backup")
            site.wait_healthy(HEALTHY)
            assert_front_answers(env_file)  # a stale address in `front` answers 502
            site("down", "-v")
            restore(fresh, tmp_path / "backup")
            fresh.wait_healthy(HEALTHY)
            assert_front_answers(env_file)
            assert snapshot(fresh) == before
            cited_answer(fresh)
        finally:
            site("down", "-v", check=False)
            fresh("down", "-v", check=False)
    figures["test seconds"] = time.monotonic() - started
    (ARTIFACTS / "install.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
