"""The `docent` command line: one module per group of commands, over ``app.api.Docent``.

``main`` (the console script) and ``cli`` (the click group) live in ``app.cli.main``.
"""

from app.cli.main import cli, main

__all__ = ["cli", "main"]
