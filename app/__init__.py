"""Docent's application: the Python API (``app.api.Docent``), settings, who may do what
(``app.auth``), and the faces over them: the CLI (``app.cli``), the browser UI (``app.ui``)
and the HTTP API (``app.http``).
"""
