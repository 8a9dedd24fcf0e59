"""The index and everything read from it."""
