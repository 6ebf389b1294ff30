"""Schema history of the settings database, oldest first; `PRAGMA user_version` counts them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step; its statements run in a single transaction that also bumps the version."""

    version: int
    description: str
    statements: tuple[str, ...]


# Never edit a migration that has shipped: databases in the wild already ran it. Append instead.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="spoiler level per (guild, scope)",
        statements=(
            """
            CREATE TABLE scope_levels (
                guild_id INTEGER NOT NULL,
                scope_id INTEGER NOT NULL,
                tier     TEXT    NOT NULL CHECK (tier <> ''),
                PRIMARY KEY (guild_id, scope_id)
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        version=2,
        description="who set a scope level, when, for what kind of scope; per-user levels",
        statements=(
            # Columns added to existing rows cannot be NOT NULL without inventing values, so
            # rows from v1 keep NULL for what was never recorded; new rows always fill them.
            """
            ALTER TABLE scope_levels ADD COLUMN kind TEXT
                CHECK (kind IN ('guild', 'category', 'channel', 'thread'))
            """,
            "ALTER TABLE scope_levels ADD COLUMN set_by INTEGER",
            "ALTER TABLE scope_levels ADD COLUMN set_at INTEGER",
            # The one kind v1 rows reveal by themselves: a server's own level is keyed by its id.
            "UPDATE scope_levels SET kind = 'guild' WHERE scope_id = guild_id",
            """
            CREATE TABLE user_levels (
                user_id INTEGER PRIMARY KEY,
                tier    TEXT    NOT NULL CHECK (tier <> ''),
                set_at  INTEGER NOT NULL
            )
            """,
        ),
    ),
)

SCHEMA_VERSION: int = MIGRATIONS[-1].version
