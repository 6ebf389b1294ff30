"""Spoiler levels set by moderators per scope and by users for themselves, kept in SQLite."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import aiosqlite

from .migrations import MIGRATIONS, Migration

SCOPE_KINDS: Final = ("guild", "category", "channel", "thread")
BUSY_TIMEOUT_MS: Final = 5000
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"


class StorageError(Exception):
    """The settings database cannot be opened or written; the message names the file."""


@dataclass(frozen=True, slots=True)
class ScopeLevel:
    """A moderator-set level; kind, set_by and set_at are None only for rows from schema v1."""

    scope_id: int
    kind: str | None
    tier: str
    set_by: int | None
    set_at: int | None


_UPSERT_SCOPE = """
    INSERT INTO scope_levels (guild_id, scope_id, kind, tier, set_by, set_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (guild_id, scope_id) DO UPDATE SET
        kind = excluded.kind, tier = excluded.tier,
        set_by = excluded.set_by, set_at = excluded.set_at
"""
_UPSERT_USER = """
    INSERT INTO user_levels (user_id, tier, set_at) VALUES (?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET tier = excluded.tier, set_at = excluded.set_at
"""
_GUILD_LEVELS = """
    SELECT scope_id, kind, tier, set_by, set_at FROM scope_levels WHERE guild_id = ?
    ORDER BY CASE kind WHEN 'guild' THEN 0 WHEN 'category' THEN 1
                       WHEN 'channel' THEN 2 WHEN 'thread' THEN 3 ELSE 4 END,
             scope_id
"""


class SettingsStore:
    """Durable per-scope and per-user spoiler levels; every write is committed before it returns."""

    # Why there is no asyncio.Lock: every write is a single statement on a connection opened
    # in autocommit mode, so it is its own transaction, and aiosqlite runs all calls of one
    # connection in submission order on one thread. Calls therefore complete in the order they
    # were made and the last one to complete wins. A method that ever needs several statements
    # in one transaction must add a lock around them.

    def __init__(
        self, conn: aiosqlite.Connection, path: str, version: int, clock: Callable[[], float]
    ) -> None:
        """Wrap an open, migrated connection; use `SettingsStore.open` instead."""
        self._conn: aiosqlite.Connection | None = conn
        self._path = path
        self._version = version
        self._clock = clock
        # Levels are read for every question and written rarely: a guild's levels are kept in
        # memory once read. A write drops its guild's copy, and a read that a write overtook
        # keeps nothing of what it read (the count of writes moved on meanwhile).
        self._guilds: dict[int, dict[int, str]] = {}
        self._writes = 0

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
    ) -> Self:
        """Open the database at `path`, creating it and its directory, and bring it up to date."""
        shown = os.fspath(path)
        _check_path(Path(shown), shown)
        # isolation_level=None: no implicit transactions, so each write commits by itself.
        connecting = aiosqlite.connect(shown, isolation_level=None)
        try:
            conn = await connecting
        except sqlite3.Error as e:
            # aiosqlite stops its worker thread after a failed connect without waiting for it;
            # wait here (it has only to return), or the thread reports to an event loop that
            # may have closed meanwhile.
            worker = getattr(connecting, "_thread", None)
            if worker is not None:
                worker.join(timeout=1.0)
            raise _describe(shown, e) from e
        try:
            version = await _prepare(conn, shown, MIGRATIONS)
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):
                await conn.close()
            if isinstance(e, sqlite3.Error):
                raise _describe(shown, e) from e
            raise
        return cls(conn, shown, version, clock)

    @property
    def path(self) -> str:
        """The database file, as given to `open`."""
        return self._path

    @property
    def schema_version(self) -> int:
        """Schema version of the open database (always the newest this code knows)."""
        return self._version

    async def close(self) -> None:
        """Finish queued calls and close the database; closing twice is harmless."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except sqlite3.Error as e:
                raise _describe(self._path, e) from e

    async def __aenter__(self) -> Self:
        """Use the store as an async context manager that closes it on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    async def set_level(
        self, guild_id: int, scope_id: int, kind: str, tier: str, set_by: int
    ) -> None:
        """Set the tier of one scope (the guild itself, a category, channel or thread)."""
        _check_tier(tier)
        if kind not in SCOPE_KINDS:
            raise ValueError(f"scope kind must be one of {', '.join(SCOPE_KINDS)}, not {kind!r}")
        if kind == "guild" and scope_id != guild_id:
            raise ValueError("a guild-wide level must use the guild id as its scope id")
        now = int(self._clock())
        await self._write_levels(
            guild_id,
            "saving a spoiler level",
            _UPSERT_SCOPE,
            (guild_id, scope_id, kind, tier, set_by, now),
        )

    async def clear_level(self, guild_id: int, scope_id: int) -> bool:
        """Remove the tier of one scope; True if it had one."""
        removed = await self._write_levels(
            guild_id,
            "clearing a spoiler level",
            "DELETE FROM scope_levels WHERE guild_id = ? AND scope_id = ?",
            (guild_id, scope_id),
        )
        return removed > 0

    async def levels(self, guild_id: int, scope_ids: Sequence[int]) -> dict[int, str]:
        """Tiers of those of `scope_ids` in the guild that have one, in a single query."""
        ids = list(dict.fromkeys(scope_ids))
        if not ids:
            return {}
        found = self._guilds.get(guild_id)
        if found is None:
            writes = self._writes
            rows = await self._read(
                "reading spoiler levels",
                "SELECT scope_id, tier FROM scope_levels WHERE guild_id = ?",
                (guild_id,),
            )
            found = {scope_id: tier for scope_id, tier in rows}
            if self._writes == writes:
                self._guilds[guild_id] = found
        return {scope_id: found[scope_id] for scope_id in ids if scope_id in found}

    async def guild_levels(self, guild_id: int) -> list[ScopeLevel]:
        """Every level set in the guild: the guild first, then categories, channels, threads."""
        rows = await self._read("listing spoiler levels", _GUILD_LEVELS, (guild_id,))
        return [ScopeLevel(*row) for row in rows]

    async def set_user_level(self, user_id: int, tier: str) -> None:
        """Set a user's own tier, which applies in every guild."""
        _check_tier(tier)
        await self._write("saving a user level", _UPSERT_USER, (user_id, tier, int(self._clock())))

    async def clear_user_level(self, user_id: int) -> bool:
        """Forget a user's own tier; True if they had one."""
        removed = await self._write(
            "clearing a user level", "DELETE FROM user_levels WHERE user_id = ?", (user_id,)
        )
        return removed > 0

    async def user_level(self, user_id: int) -> str | None:
        """A user's own tier, or None if they never set one."""
        rows = await self._read(
            "reading a user level", "SELECT tier FROM user_levels WHERE user_id = ?", (user_id,)
        )
        return rows[0][0] if rows else None

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError(f"{self._path} is closed")
        return self._conn

    async def _write(self, doing: str, sql: str, params: tuple[Any, ...]) -> int:
        conn = self._connection()
        try:
            async with conn.execute(sql, params) as cursor:
                return cursor.rowcount
        except sqlite3.Error as e:
            raise _describe(self._path, e, doing) from e

    async def _write_levels(
        self, guild_id: int, doing: str, sql: str, params: tuple[Any, ...]
    ) -> int:
        try:
            return await self._write(doing, sql, params)
        finally:
            self._writes += 1
            self._guilds.pop(guild_id, None)

    async def _read(self, doing: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = self._connection()
        try:
            return [tuple(row) for row in await conn.execute_fetchall(sql, params)]
        except sqlite3.Error as e:
            raise _describe(self._path, e, doing) from e


def _check_tier(tier: str) -> None:
    if not isinstance(tier, str) or not tier:
        raise ValueError(f"tier must be a non-empty string, not {tier!r}")


def _check_path(path: Path, shown: str) -> None:
    """Diagnose the common setup mistakes before SQLite turns them into vague errors."""
    try:
        if path.is_dir():
            raise StorageError(f"{shown} is a directory, not a database file")
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:
            raise StorageError(
                f"cannot create directory {parent} for {shown}: a file of that name exists"
            ) from e
        except OSError as e:
            raise StorageError(f"cannot create directory {parent} for {shown}: {e.strerror}") from e
        if path.exists():
            with path.open("rb") as f:
                header = f.read(len(_SQLITE_MAGIC))
            # An empty file is a valid empty database to SQLite.
            if header and header != _SQLITE_MAGIC:
                raise StorageError(f"{shown} is not a SQLite database")
            if not _writable(path):
                raise StorageError(f"{shown} is not writable (the file is read-only)")
        # WAL mode creates -wal and -shm files next to the database.
        if not _writable(parent):
            raise StorageError(f"{shown} is not writable (cannot create files in {parent})")
    except OSError as e:
        raise StorageError(f"{shown} cannot be opened: {e.strerror}") from e


def _writable(path: Path) -> bool:
    # effective_ids: the process may run under an effective uid that differs from its real one.
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _describe(shown: str, error: sqlite3.Error, doing: str | None = None) -> StorageError:
    """Turn a SQLite error into a StorageError that says what is wrong with which file."""
    return _file_problem(shown, error) or StorageError(
        f"{shown}: {doing or 'opening the database'} failed ({error})"
    )


def _file_problem(shown: str, error: sqlite3.Error) -> StorageError | None:
    """A StorageError if the error is about the file itself rather than a statement."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_NOTADB:
        return StorageError(f"{shown} is not a SQLite database")
    if primary == sqlite3.SQLITE_CORRUPT:
        return StorageError(f"{shown} is corrupt ({error})")
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        return StorageError(f"{shown} is not writable ({error})")
    if primary == sqlite3.SQLITE_FULL:
        return StorageError(f"{shown}: the disk is full")
    if primary == sqlite3.SQLITE_BUSY:
        return StorageError(f"{shown} is locked by another process ({error})")
    return None


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


def _too_new(shown: str, found: int, known: int) -> StorageError:
    return StorageError(
        f"{shown} was created by a newer version of the bot "
        f"(schema v{found}; this version knows up to v{known})"
    )


async def _prepare(conn: aiosqlite.Connection, shown: str, migrations: Sequence[Migration]) -> int:
    """Configure the connection and migrate; returns the resulting schema version."""
    known = migrations[-1].version
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    # Checked before anything writes: switching to WAL alone would rewrite the file header.
    found = await _user_version(conn)
    if found > known:
        raise _too_new(shown, found, known)
    rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
    if str(rows[0][0]).lower() != "wal":
        raise StorageError(f"{shown}: cannot use write-ahead logging (journal mode {rows[0][0]})")
    # FULL: a commit is on disk before the call returns, so a confirmed change survives a crash.
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("PRAGMA foreign_keys = ON")
    return await _migrate(conn, shown, migrations)


async def _migrate(conn: aiosqlite.Connection, shown: str, migrations: Sequence[Migration]) -> int:
    """Apply pending migrations, one transaction each; also proves the file is writable."""
    by_version = {m.version: m for m in migrations}
    known = migrations[-1].version
    while True:
        # IMMEDIATE takes the write lock before reading the version, so two processes opening
        # an old file at once cannot both apply the same step.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            version = await _user_version(conn)
            if version > known:
                raise _too_new(shown, version, known)
            step = by_version.get(version + 1)
            if step is None:
                # Rewriting the unchanged version is a real write: a read-only file fails here,
                # at startup, instead of on the first moderator's change.
                await conn.execute(f"PRAGMA user_version = {version:d}")
                await conn.execute("COMMIT")
                return version
            try:
                for statement in step.statements:
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {step.version:d}")
            except sqlite3.Error as e:
                raise _file_problem(shown, e) or StorageError(
                    f"{shown}: upgrading the schema to v{step.version} "
                    f"({step.description}) failed ({e})"
                ) from e
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
            raise
