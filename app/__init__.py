"""The faces of Docent: the CLI, settings composition (and later the UI)."""
