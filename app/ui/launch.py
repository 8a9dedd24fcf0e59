"""How ``streamlit run`` is started for Docent: the same flags for the CLI, tests and bench.

The options are passed as flags rather than read from a ``.streamlit/config.toml`` so
they hold whatever folder the server is started from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

# The ASGI app serving main.py and the session-cookie endpoint.
MAIN = Path(__file__).resolve().parent / "web.py"


def streamlit_command(host: str, port: int, upload_max_mb: int) -> list[str]:
    """The command line that serves the UI.

    Args:
        host: Address to listen on (loopback unless a reverse proxy is in front).
        port: Port to listen on.
        upload_max_mb: Largest upload the server accepts, in MB.
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        f"--server.maxUploadSize={upload_max_mb}",
        # The limit Streamlit applies to each message; answers and reports are small.
        "--server.maxMessageSize=200",
        "--server.enableXsrfProtection=true",
        "--server.enableCORS=true",
        # Reruns on file changes are for developing the UI, not for serving it.
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        # Stop (and any click during a long run) starts the next run at once; the stopped
        # one ends at its next progress report.
        "--runner.fastReruns=true",
        "--browser.gatherUsageStats=false",
        f"--browser.serverAddress={host}",
        "--client.toolbarMode=minimal",
        "--client.showErrorDetails=type",
        "--theme.base=light",
    ]


def serve(command: list[str], config: str | None) -> int:
    """Run the UI server until it stops, Ctrl+C or a ``kill``; return its exit code.

    A SIGTERM, SIGINT or SIGHUP sent to this process alone (``kill PID``, a service
    manager, a closed terminal) is passed on to the server, and this process waits for
    it to end, so stopping ``docent ui`` never leaves Streamlit holding the port.

    Args:
        command: From ``streamlit_command``.
        config: The settings file given to ``docent --config``, handed to the server.
    """
    env = dict(os.environ, HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if config:
        env["DOCENT_CONFIG"] = str(Path(config).resolve())
    server = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        # Ctrl+C reaches the server from the terminal as well; a second one does no harm.
        server.send_signal(signum)

    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {stop: signal.signal(stop, forward) for stop in stops}
    try:
        return server.wait()
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)
