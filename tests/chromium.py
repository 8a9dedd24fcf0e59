"""How the browser tests and the UI benchmark start Debian's Chromium: headless, offline."""

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
