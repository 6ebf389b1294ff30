"""SettingsStore against real SQLite files: behaviour, upgrades, bad files, concurrency, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.storage import SCHEMA_VERSION, ScopeLevel, SettingsStore, StorageError
from bot.storage import settings as settings_module
from bot.storage.migrations import MIGRATIONS, Migration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUILD = 900_000_000_000_000_001
OTHER_GUILD = 900_000_000_000_000_002
MOD = 42


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SettingsStore]:
    async with await SettingsStore.open(tmp_path / "bot.db") as opened:
        yield opened


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, standing in for old code or an inspector."""
    return sqlite3.connect(path, isolation_level=None)


def user_version(path: Path) -> int:
    with contextlib.closing(raw(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


# --- behaviour -------------------------------------------------------------------------------


async def test_levels_returns_only_scopes_that_have_one(store: SettingsStore) -> None:
    await store.set_level(GUILD, GUILD, "guild", "premise", MOD)
    await store.set_level(GUILD, 11, "category", "act-one", MOD)
    await store.set_level(GUILD, 12, "channel", "ending", MOD)
    await store.set_level(OTHER_GUILD, 12, "channel", "premise", MOD)

    chain = [13, 12, 11, GUILD]  # thread, channel, category, guild; the thread has none
    assert await store.levels(GUILD, chain) == {12: "ending", 11: "act-one", GUILD: "premise"}
    assert await store.levels(OTHER_GUILD, chain) == {12: "premise"}
    assert await store.levels(GUILD, []) == {}
    assert await store.levels(GUILD, [12, 12]) == {12: "ending"}


async def test_levels_read_again_after_a_write_see_it(store: SettingsStore) -> None:
    await store.set_level(GUILD, 12, "channel", "premise", MOD)
    assert await store.levels(GUILD, [12, 11]) == {12: "premise"}  # now kept in memory
    await store.set_level(GUILD, 11, "category", "ending", MOD)
    await store.set_level(GUILD, 12, "channel", "act-one", MOD)
    assert await store.levels(GUILD, [12, 11]) == {12: "act-one", 11: "ending"}
    assert await store.clear_level(GUILD, 12)
    assert await store.levels(GUILD, [12, 11]) == {11: "ending"}


async def test_a_read_overtaken_by_a_write_does_not_keep_stale_levels(
    store: SettingsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.set_level(GUILD, 12, "channel", "premise", MOD)
    read_rows = store._read

    async def late(*args: object) -> list[tuple[object, ...]]:
        rows = await read_rows(*args)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)  # a busy loop resumes the reader after the write below
        return rows

    monkeypatch.setattr(store, "_read", late)
    read = asyncio.ensure_future(store.levels(GUILD, [12]))
    await asyncio.sleep(0.01)
    await store.set_level(GUILD, 12, "channel", "ending", MOD)
    # The read saw the old level, which is right for it, but must not keep it for the
    # questions that come after the write.
    assert await read == {12: "premise"}
    monkeypatch.undo()
    assert await store.levels(GUILD, [12]) == {12: "ending"}


async def test_set_level_overwrites_and_records_who_and_when(tmp_path: Path) -> None:
    now = [1_700_000_000.9]
    async with await SettingsStore.open(tmp_path / "bot.db", clock=lambda: now[0]) as store:
        await store.set_level(GUILD, 12, "channel", "premise", MOD)
        now[0] += 60
        await store.set_level(GUILD, 12, "thread", "ending", 77)
        await store.set_level(GUILD, 11, "category", "act-one", MOD)
        await store.set_level(GUILD, GUILD, "guild", "premise", MOD)
        await store.set_level(OTHER_GUILD, 5, "channel", "premise", MOD)

        assert await store.guild_levels(GUILD) == [
            ScopeLevel(GUILD, "guild", "premise", MOD, 1_700_000_060),
            ScopeLevel(11, "category", "act-one", MOD, 1_700_000_060),
            ScopeLevel(12, "thread", "ending", 77, 1_700_000_060),
        ]
        assert await store.guild_levels(123) == []


async def test_clear_level_reports_whether_something_was_removed(store: SettingsStore) -> None:
    await store.set_level(GUILD, 12, "channel", "ending", MOD)
    assert await store.clear_level(GUILD, 12) is True
    assert await store.clear_level(GUILD, 12) is False
    assert await store.clear_level(OTHER_GUILD, 99) is False
    assert await store.levels(GUILD, [12]) == {}


async def test_user_level_is_global_and_overwritable(store: SettingsStore) -> None:
    assert await store.user_level(5) is None
    await store.set_user_level(5, "premise")
    await store.set_user_level(5, "ending")
    await store.set_user_level(6, "act-one")
    assert await store.user_level(5) == "ending"
    assert await store.user_level(6) == "act-one"
    assert await store.clear_user_level(5) is True
    assert await store.clear_user_level(5) is False
    assert await store.user_level(5) is None


async def test_bad_arguments_are_rejected_and_nothing_is_stored(store: SettingsStore) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        await store.set_level(GUILD, 12, "channel", "", MOD)
    with pytest.raises(ValueError, match="non-empty"):
        await store.set_user_level(5, "")
    with pytest.raises(ValueError, match="scope kind"):
        await store.set_level(GUILD, 12, "forum", "ending", MOD)
    with pytest.raises(ValueError, match="guild id"):
        await store.set_level(GUILD, 12, "guild", "ending", MOD)
    assert await store.guild_levels(GUILD) == []
    assert await store.user_level(5) is None


async def test_closed_store_raises_storage_error(tmp_path: Path) -> None:
    store = await SettingsStore.open(tmp_path / "bot.db")
    await store.close()
    await store.close()  # harmless
    with pytest.raises(StorageError, match="closed"):
        await store.set_level(GUILD, 12, "channel", "ending", MOD)
    with pytest.raises(StorageError, match="closed"):
        await store.user_level(5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([GUILD, OTHER_GUILD]),
            st.integers(1, 6),
            st.one_of(st.none(), st.sampled_from(["premise", "act-one", "ending"])),
        ),
        max_size=30,
    )
)
def test_store_matches_a_dict_model(ops: list[tuple[int, int, str | None]]) -> None:
    async def run(path: Path) -> None:
        model: dict[tuple[int, int], str] = {}
        async with await SettingsStore.open(path) as store:
            for guild_id, scope_id, tier in ops:
                if tier is None:
                    removed = await store.clear_level(guild_id, scope_id)
                    assert removed == (model.pop((guild_id, scope_id), None) is not None)
                else:
                    await store.set_level(guild_id, scope_id, "channel", tier, MOD)
                    model[guild_id, scope_id] = tier
            for guild_id in (GUILD, OTHER_GUILD):
                expected = {s: t for (g, s), t in model.items() if g == guild_id}
                assert await store.levels(guild_id, range(1, 7)) == expected
                listed = await store.guild_levels(guild_id)
                assert {lv.scope_id: lv.tier for lv in listed} == expected

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "bot.db"))


# --- files, durability, concurrency ----------------------------------------------------------


async def test_fresh_database_is_current_and_configured(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "bot.db"  # parent directories get created
    async with await SettingsStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        conn = store._conn  # the connection's own settings are only visible from inside
        assert conn is not None
        pragmas = {
            name: (await conn.execute_fetchall(f"PRAGMA {name}"))[0][0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "foreign_keys": 1,
            "busy_timeout": settings_module.BUSY_TIMEOUT_MS,
        }
    assert user_version(path) == SCHEMA_VERSION


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await SettingsStore.open(path) as store:
        await store.set_level(GUILD, GUILD, "guild", "premise", MOD)
        await store.set_level(GUILD, 12, "channel", "ending", MOD)
        await store.set_user_level(5, "act-one")
    async with await SettingsStore.open(path) as store:
        assert await store.levels(GUILD, [12, GUILD]) == {12: "ending", GUILD: "premise"}
        assert await store.user_level(5) == "act-one"
        assert store.schema_version == SCHEMA_VERSION


async def test_concurrent_writes_end_in_last_completed_state(store: SettingsStore) -> None:
    rng = random.Random(20240501)
    completed: list[tuple[int, str | None]] = []

    async def one(scope_id: int, tier: str | None) -> None:
        if tier is None:
            await store.clear_level(GUILD, scope_id)
        else:
            await store.set_level(GUILD, scope_id, "channel", tier, MOD)
        completed.append((scope_id, tier))

    ops = [
        (rng.randrange(100, 130), None if rng.random() < 0.1 else f"tier-{i}") for i in range(400)
    ]
    await asyncio.gather(*(one(scope_id, tier) for scope_id, tier in ops))

    expected: dict[int, str] = {}
    for scope_id, tier in completed:
        if tier is None:
            expected.pop(scope_id, None)
        else:
            expected[scope_id] = tier
    assert len(completed) == len(ops)
    assert await store.levels(GUILD, range(100, 130)) == expected


async def test_two_stores_on_one_file_both_get_their_writes_in(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await SettingsStore.open(path) as a, await SettingsStore.open(path) as b:
        await asyncio.gather(
            *(a.set_level(GUILD, n, "channel", f"a-{n}", MOD) for n in range(1, 51)),
            *(b.set_level(GUILD, n, "channel", f"b-{n}", MOD) for n in range(51, 101)),
        )
        expected = {n: f"a-{n}" if n <= 50 else f"b-{n}" for n in range(1, 101)}
        assert await a.levels(GUILD, range(1, 101)) == expected
        assert await b.levels(GUILD, range(1, 101)) == expected


# A writer that confirms each change on stdout only after the await returned, like the bot
# confirming to a moderator; it runs until killed.
WRITER = """
import asyncio, sys
from bot.storage import SettingsStore

async def main(path):
    async with await SettingsStore.open(path) as store:
        n = 0
        while True:
            n += 1
            await store.set_level(int(sys.argv[2]), n, "channel", f"tier-{n}", 7)
            await store.set_level(int(sys.argv[2]), int(sys.argv[2]), "guild", f"tier-{n}", 7)
            await store.set_user_level(n, f"tier-{n}")
            print(f"ok {n}", flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def test_confirmed_changes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    wanted = 50
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with (tmp_path / "writer.err").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(GUILD)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    watchdog = threading.Timer(30, proc.kill)  # never hang the suite on a stuck writer
    watchdog.start()
    confirmed = 0
    try:
        assert proc.stdout is not None
        while confirmed < wanted:
            line = proc.stdout.readline()
            if not line:
                break
            assert line == f"ok {confirmed + 1}\n"
            confirmed += 1
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert confirmed == wanted, (tmp_path / "writer.err").read_text()
    assert proc.returncode == -signal.SIGKILL

    async with await SettingsStore.open(path) as store:
        levels = await store.levels(GUILD, range(1, wanted + 1))
        assert levels == {n: f"tier-{n}" for n in range(1, wanted + 1)}
        for n in range(1, wanted + 1):
            assert await store.user_level(n) == f"tier-{n}"
        # The guild level was rewritten every round; a later, unconfirmed round may also be in.
        guild_tier = (await store.levels(GUILD, [GUILD]))[GUILD]
        assert int(guild_tier.removeprefix("tier-")) >= wanted


# --- schema versions -------------------------------------------------------------------------

# Exactly what the first released version created.
V1_SCHEMA = """
CREATE TABLE scope_levels (
    guild_id INTEGER NOT NULL,
    scope_id INTEGER NOT NULL,
    tier     TEXT    NOT NULL CHECK (tier <> ''),
    PRIMARY KEY (guild_id, scope_id)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


def make_v1_database(path: Path) -> None:
    with contextlib.closing(raw(path)) as conn:
        conn.executescript(V1_SCHEMA)
        conn.executemany(
            "INSERT INTO scope_levels (guild_id, scope_id, tier) VALUES (?, ?, ?)",
            [(GUILD, GUILD, "premise"), (GUILD, 12, "ending"), (OTHER_GUILD, 7, "act-one")],
        )


async def test_v1_database_is_upgraded_in_place_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    make_v1_database(path)

    async with await SettingsStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert await store.levels(GUILD, [12, GUILD]) == {12: "ending", GUILD: "premise"}
        assert await store.levels(OTHER_GUILD, [7]) == {7: "act-one"}
        # v1 never recorded who, when or what kind; only a guild's own row is recognisable.
        assert await store.guild_levels(GUILD) == [
            ScopeLevel(GUILD, "guild", "premise", None, None),
            ScopeLevel(12, None, "ending", None, None),
        ]
        await store.set_user_level(5, "ending")  # the table v2 added
        await store.set_level(GUILD, 12, "thread", "act-one", MOD)
        assert (await store.guild_levels(GUILD))[1].kind == "thread"

    assert user_version(path) == SCHEMA_VERSION
    fresh = tmp_path / "fresh.db"
    await (await SettingsStore.open(fresh)).close()
    with contextlib.closing(raw(path)) as old, contextlib.closing(raw(fresh)) as new:
        for table in ("scope_levels", "user_levels"):
            query = f"PRAGMA table_info({table})"
            assert old.execute(query).fetchall() == new.execute(query).fetchall()


async def test_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with contextlib.closing(raw(path)) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()

    with pytest.raises(StorageError, match="created by a newer version") as info:
        await SettingsStore.open(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


async def test_failed_migration_leaves_the_previous_version_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.db"
    async with await SettingsStore.open(path) as store:
        await store.set_level(GUILD, 12, "channel", "ending", MOD)
    broken = Migration(
        3, "broken step", ("CREATE TABLE extra (x)", "INSERT INTO nowhere VALUES (1)")
    )
    monkeypatch.setattr(settings_module, "MIGRATIONS", (*MIGRATIONS, broken))

    with pytest.raises(StorageError, match="upgrading the schema to v3"):
        await SettingsStore.open(path)

    assert user_version(path) == SCHEMA_VERSION
    with contextlib.closing(raw(path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables
    monkeypatch.undo()
    async with await SettingsStore.open(path) as store:
        assert await store.levels(GUILD, [12]) == {12: "ending"}


# --- files that cannot be used ---------------------------------------------------------------


async def test_directory_path_raises_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.mkdir()
    with pytest.raises(StorageError, match="is a directory") as info:
        await SettingsStore.open(path)
    assert str(info.value).startswith(str(path))


async def test_parent_that_is_a_file_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(StorageError, match="cannot create directory"):
        await SettingsStore.open(tmp_path / "data" / "bot.db")


@pytest.mark.parametrize(
    "content",
    [
        b"guild_id,scope_id,tier\n1,2,ending\n" * 40,
        b"SQLite format 3\x00" + bytes(range(256)) * 16,  # right magic, garbage after it
    ],
    ids=["text file", "garbage after header"],
)
async def test_non_sqlite_file_raises_storage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="is not a SQLite database") as info:
        await SettingsStore.open(path)
    assert str(info.value).startswith(str(path))
    assert path.read_bytes() == content
    assert not isinstance(info.value, sqlite3.Error)


async def test_empty_file_is_a_valid_new_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.touch()
    async with await SettingsStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Make permission bits bind: root ignores them, so act as nobody for the duration."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A scratch directory that an unprivileged uid can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="settings-store-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for sub in [path, *path.rglob("*")]:
            sub.chmod(0o755 if sub.is_dir() else 0o644)
        shutil.rmtree(path)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "sqlite error"])
@pytest.mark.parametrize("what", ["read-only directory", "read-only file"])
async def test_unwritable_path_raises_storage_error(
    shared_dir: Path, what: str, precheck: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if what == "read-only directory":
        directory = shared_dir / "ro"
        directory.mkdir()
        path = directory / "bot.db"
        directory.chmod(0o555)
    else:
        path = shared_dir / "bot.db"
        async with await SettingsStore.open(path) as store:
            await store.set_level(GUILD, 12, "channel", "ending", MOD)
        path.chmod(0o444)
        shared_dir.chmod(0o777)
    if not precheck:
        # Skip the friendly upfront check to prove SQLite's own refusal is translated too.
        monkeypatch.setattr(settings_module, "_writable", lambda _path: True)

    with unprivileged(), pytest.raises(StorageError, match="is not writable") as info:
        await SettingsStore.open(path)
    assert str(info.value).startswith(str(path))
