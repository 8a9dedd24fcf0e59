"""Sign-in latency through the site's directory: a real OpenLDAP on loopback, p50 and p95.

Run by hand (``python -m bench.directory``); never a timed test.

* Directory: ``tests/ldap_server.py``'s (nested groups three deep), on loopback.
* Path: ``Gate.sign_in`` as the UI calls it, over StartTLS (``--ldaps`` for LDAPS): a TLS
  handshake, the service account's bind, the search for the person, their bind, the
  group search a level at a time, the accounts file updated, the audit record written.
* Baseline, same run: a local account's sign-in (one argon2id check with Docent's
  parameters), the path a break-glass administrator takes.
* Output: the figures, also written to ``bench/results/directory-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.auth.gate import Gate
from app.settings import Settings
from bench.api import percentiles
from bench.results import save
from tests import ldap_server


def timed(sign_in: Callable[[], object], times: int) -> list[float]:
    """Seconds of each of ``times`` sign-ins, after one unmeasured to warm up."""
    sign_in()
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        sign_in()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    """Start the directory, sign in through it and locally; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=200, help="Sign-ins per path.")
    parser.add_argument("--ldaps", action="store_true", help="LDAPS instead of StartTLS.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with ldap_server.slapd(root / "slapd") as server:
            secret = root / "password"
            secret.write_text(ldap_server.SERVICE_PASSWORD)
            settings = Settings(
                data_dir=root / "data",
                ldap_url=server.ldaps_url if options.ldaps else server.url,
                ldap_ca_file=server.ca_file,
                ldap_bind_dn=ldap_server.SERVICE_DN,
                ldap_bind_password_file=secret,
                ldap_user_base=ldap_server.PEOPLE,
                ldap_user_filter=ldap_server.FILTER,
                ldap_group_base=ldap_server.GROUPS,
            )
            gate = Gate(settings)
            gate.accounts.add("root", "break-glass-pass", role="admin")
            password = ldap_server.PASSWORDS["alice"]
            directory = timed(lambda: gate.sign_in("alice", password), options.times)
            local = timed(lambda: gate.sign_in("root", "break-glass-pass"), options.times)
    figures = {
        "transport": "ldaps" if options.ldaps else "starttls",
        "sign_ins": options.times,
        "directory": percentiles(directory),
        "local": percentiles(local),
    }
    figures["written"] = str(save("directory", figures))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
