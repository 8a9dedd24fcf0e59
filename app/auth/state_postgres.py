"""The people-and-access state in PostgreSQL (``state_url``), shared by every replica.

Each document (``users``, ``grants``, ``tokens``, ``sessions``) is one row of
``state_documents`` holding the same JSON object the data folder's file would hold, so the
stores' rules are the files' rules, word for word. A change is one transaction that
takes the row's lock (``SELECT ... FOR UPDATE``) before it reads: two replicas changing
the same document queue one behind the other, and neither loses the other's update. A
read sees the last committed change, so a user added, a grant given, a token revoked or
a session ended on one replica counts on every other at its next request.

The schema is versioned (``state_schema``) and brought up to date when Docent first
opens the database, under an advisory lock so that replicas starting together migrate it
once. Connections come from a small pool (psycopg_pool), checked before each use so that
a restarted server costs no failed request.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from app.auth.state import KEY_BYTES
from models.errors import DocentError

# Each step takes the schema from its position's version to the next; never edit one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE state_documents (
        name text PRIMARY KEY,
        body jsonb NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE state_secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL
    );
    """,
    # The audit chain (app.auth.audit_postgres), conversations (app.conversation_db),
    # readers' feedback (app.records_postgres).
    """
    CREATE TABLE audit_records (
        seq bigint PRIMARY KEY,
        time timestamptz NOT NULL,
        record text NOT NULL
    );
    CREATE INDEX audit_records_by_time ON audit_records (time);
    CREATE TABLE conversations (
        id text PRIMARY KEY,
        owner text NOT NULL,
        collection text NOT NULL,
        title text NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL,
        turns integer NOT NULL DEFAULT 0
    );
    CREATE INDEX conversations_by_owner ON conversations (owner, updated_at);
    CREATE INDEX conversations_by_age ON conversations (updated_at);
    CREATE TABLE turns (
        conversation text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position integer NOT NULL,
        question text NOT NULL,
        state text NOT NULL,
        answer text,
        partial text NOT NULL DEFAULT '',
        error text NOT NULL DEFAULT '',
        PRIMARY KEY (conversation, position)
    );
    CREATE TABLE feedback (
        position bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        collection text NOT NULL,
        body jsonb NOT NULL
    );
    CREATE INDEX feedback_by_collection ON feedback (collection, position);
    """,
)
_MIGRATION_LOCK = 4_510_001  # the advisory lock that lets one replica migrate at a time
_POOL_SECONDS = 10.0
_shared: dict[str, PostgresState] = {}
_shared_lock = threading.Lock()


def where(url: str) -> str:
    """``user@host:port/db`` of a URL, never its password (for messages)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured server"
    host, port = parts.get("host", "localhost"), parts.get("port", "5432")
    return f"{parts.get('user', '')}@{host}:{port}/{parts.get('dbname', '')}".lstrip("@")


def _timeout(url: str) -> dict[str, Any]:
    """A connect timeout, unless the URL sets its own: a dropped packet must not hang a page."""
    try:
        given = "connect_timeout" in conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        given = False
    return {} if given else {"connect_timeout": int(_POOL_SECONDS)}


def _unreachable(url: str, error: Exception) -> DocentError:
    return DocentError(
        f"Cannot use the state database {where(url)}: {str(error).strip() or 'no answer'}.",
        hint="check `state_url` and that PostgreSQL is running and accepts Docent's user",
    )


class PostgresDocument:
    """One document of the state, a row of ``state_documents``."""

    def __init__(self, state: PostgresState, name: str) -> None:
        self.state = state
        self.name = name

    def read(self) -> dict[str, Any]:
        """The document as last committed (``{}`` before its first change)."""
        with self.state.connection() as connection:
            row = connection.execute(
                "SELECT body FROM state_documents WHERE name = %s", (self.name,)
            ).fetchone()
        return dict(row[0]) if row else {}

    @contextlib.contextmanager
    def change(self) -> Iterator[dict[str, Any]]:
        """The document under its row's lock; written, if it changed, when the block ends."""
        with self.state.connection() as connection:
            connection.execute(
                "INSERT INTO state_documents (name, body) VALUES (%s, '{}') "
                "ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )
            row = connection.execute(
                "SELECT body FROM state_documents WHERE name = %s FOR UPDATE", (self.name,)
            ).fetchone()
            data: dict[str, Any] = dict(row[0]) if row else {}
            before = copy.deepcopy(data)
            yield data
            if data != before:
                connection.execute(
                    "UPDATE state_documents SET body = %s, changed_at = now() WHERE name = %s",
                    (Jsonb(data), self.name),
                )


class PostgresState:
    """The state in one PostgreSQL database.

    Args:
        url: ``postgresql://user[:password]@host[:port]/db`` (libpq's other settings, such
            as ``sslmode`` or a password file, apply as usual).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: dict[str, bytes] = {}
        # One plain connection first: a wrong URL or a server down fails here, with the
        # server's own words, before a pool would retry it in the background.
        try:
            with psycopg.connect(url, **_timeout(url)) as connection:
                self._migrate(connection)
        except psycopg.Error as error:
            raise _unreachable(url, error) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            timeout=_POOL_SECONDS,
            check=ConnectionPool.check_connection,
            kwargs=_timeout(url),
            name="docent-state",
            open=True,
        )

    @classmethod
    def shared(cls, url: str) -> PostgresState:
        """The process's one state object for ``url`` (one pool, migrated once)."""
        with _shared_lock:
            if url not in _shared:
                _shared[url] = cls(url)
            return _shared[url]

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in a transaction: committed at the end, rolled back on error."""
        try:
            with self.pool.connection() as connection:
                yield connection
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise _unreachable(self.url, error) from None

    def schema_version(self) -> int:
        """The version of the schema the database holds (0: none yet)."""
        with self.connection() as connection:
            return self._version(connection)

    @staticmethod
    def _version(connection: psycopg.Connection[Any]) -> int:
        connection.execute("CREATE TABLE IF NOT EXISTS state_schema (version integer NOT NULL)")
        row = connection.execute("SELECT max(version) FROM state_schema").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> int:
        """Bring the schema up to date (each step once, whichever replica comes first).

        Returns:
            The schema's version now.
        """
        with self.connection() as connection:
            return self._migrate(connection)

    def _migrate(self, connection: psycopg.Connection[Any]) -> int:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        version = self._version(connection)
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            connection.execute(step)
            connection.execute("INSERT INTO state_schema (version) VALUES (%s)", (number,))
        return len(MIGRATIONS)

    def document(self, name: str) -> PostgresDocument:
        """The document ``name``."""
        return PostgresDocument(self, name)

    def secret(self, name: str) -> bytes:
        """The random key ``name``: the first replica to ask makes it, every one reads it."""
        if name not in self._keys:
            with self.connection() as connection:
                connection.execute(
                    "INSERT INTO state_secrets (name, value) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, secrets.token_bytes(KEY_BYTES)),
                )
                row = connection.execute(
                    "SELECT value FROM state_secrets WHERE name = %s", (name,)
                ).fetchone()
            assert row is not None
            self._keys[name] = bytes(row[0])
        return self._keys[name]

    def close(self) -> None:
        """Close the pool's connections (tests; a process's pool lives as long as it)."""
        self.pool.close()
        with _shared_lock:
            if _shared.get(self.url) is self:
                del _shared[self.url]
