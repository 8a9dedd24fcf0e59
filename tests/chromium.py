"""How the browser tests and the UI benchmark start Debian's Chromium: headless, offline."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# No background fetches of its own (updates, sync, safe browsing), so every request the
# page makes is one the UI asked for.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test when Debian's chromium is not installed."""
    from tests.system import require

    require(Path(CHROMIUM), "chromium")
