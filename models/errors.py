"""The one base error of Docent.

It lives in the lowest room (``models/``) so that every other room can raise and
catch it without breaking the import rules.
"""

from __future__ import annotations


class DocentError(Exception):
    """A failure a person can act on: what went wrong, and the fix.

    Args:
        message: What went wrong, naming the thing (file, collection, model).
        hint: The fix, as a command or a setting to change, when there is one.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class WeightsError(DocentError):
    """Model weights are missing, unreadable or not the pinned file."""
