"""Who may do what: local accounts and sessions, grants on collections, API tokens, the
tamper-evident audit log, and the sign-in gate the UI loads before the rest.
"""
