"""The HTTP API (``docent serve``): REST under ``/api/v1`` and an OpenAI-compatible ``/v1``.

A face like the CLI and the UI: every route authenticates a token, calls one
``app.api.Docent`` method as the token's user, and turns the result or the
``DocentError`` into JSON. No rule of access, upload or ingest is decided here.
"""
