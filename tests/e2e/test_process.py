"""`python -m bot run` and `sync` as real processes, configured only through the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from .standin import StandIn
from .world import ENDING_FACT, ENDING_QUESTION, build_world


def bot_env(standin: StandIn, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_"))}
    env.update(
        DISCORD_TOKEN=standin.token,
        BOT_API_BASE=standin.api_base,
        BOT_GATEWAY_URL=standin.gateway_url,
        BOT_DATABASE=str(tmp_path / "data" / "bot.db"),
        BOT_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


async def run_bot(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_commands_as_a_process(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    proc = await run_bot("run", env=bot_env(standin, tmp_path), cwd=tmp_path)
    try:
        await standin.wait_ready(timeout=20)
        await _wait_guild_ready(standin, w)
        set_level = await standin.send_interaction(
            w.guild, w.general, w.owner, "spoilers", {"level": "ending"}, subcommand="set"
        )
        assert "Ending" in (await set_level.response(timeout=10))["data"]["content"]
        handle = await standin.send_interaction(
            w.guild, w.general, w.fan, "ask", {"question": ENDING_QUESTION}
        )
        body = await handle.response(timeout=10)
        assert body["data"]["content"] == ENDING_FACT.answer
        sent = await standin.send_message(
            w.guild, w.general, w.fan, f"<@{standin.bot_user.id}> who directed it"
        )
        assert "Han Ji-won" in (await sent.reply(timeout=10)).content
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert b"Traceback" not in stderr, stderr.decode()
    assert (tmp_path / "data" / "bot.db").exists()
    # Nothing was synced at start: only `sync` (or BOT_DEV_GUILD) registers commands.
    assert standin.registered_commands() == []
    standin.assert_no_violations()


async def _wait_guild_ready(standin: StandIn, w: object) -> None:
    """The process has its guild cache once it answers an autocomplete."""
    for _ in range(50):
        handle = await standin.send_autocomplete(
            w.guild, w.general, w.fan, "ask", {"question": ""}, focused="question"
        )  # type: ignore[attr-defined]
        try:
            if await handle.choices(timeout=2):
                return
        except TimeoutError:
            await asyncio.sleep(0.1)
    raise TimeoutError("the bot never answered")


async def test_sync_registers_commands_and_exits(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    proc = await run_bot(
        "sync", "--guild", str(w.guild.id), env=bot_env(standin, tmp_path), cwd=tmp_path
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    assert "Synced 4 commands" in stdout.decode()
    assert sorted(c["name"] for c in standin.registered_commands(w.guild)) == [
        "ask",
        "facts",
        "spoilers",
        "summary",
    ]
    proc = await run_bot("sync", env=bot_env(standin, tmp_path), cwd=tmp_path)
    await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert len(standin.registered_commands()) == 4
    standin.assert_no_violations()


async def test_dev_guild_is_synced_at_start(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    env = bot_env(standin, tmp_path, BOT_DEV_GUILD=str(w.guild.id))
    proc = await run_bot("run", env=env, cwd=tmp_path)
    try:
        for _ in range(100):
            if standin.registered_commands(w.guild):
                break
            await asyncio.sleep(0.1)
        assert len(standin.registered_commands(w.guild)) == 4
        assert standin.registered_commands() == []
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_stop_signal_during_start_up_ends_the_process(
    standin: StandIn, tmp_path: Path, sig: signal.Signals
) -> None:
    """Whatever start-up is doing (syncing, logging in, connecting), a stop ends it cleanly."""
    w = build_world(standin)
    env = bot_env(standin, tmp_path, BOT_DEV_GUILD=str(w.guild.id))
    for delay in (0.0, 0.01, 0.02, 0.04, 0.08):
        standin.commands.clear()
        proc = await run_bot("run", env=env, cwd=tmp_path)
        for _ in range(2000):  # imports, facts and login take a second or two
            if standin.registered_commands(w.guild):
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError("start-up never reached the command sync")
        await asyncio.sleep(delay)
        proc.send_signal(sig)
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), 10)
        except TimeoutError:
            proc.kill()
            raise AssertionError(f"still running 10 s after {sig.name} (+{delay} s)") from None
        assert proc.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr, stderr.decode()
        assert b"Stopped" in stderr


async def test_without_token_exits_2_with_advice(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_"))}
    proc = await run_bot("run", env=env, cwd=tmp_path)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    text = stderr.decode()
    assert "DISCORD_TOKEN" in text and "python -m bot chat" in text and "Traceback" not in text


async def test_broken_facts_stop_start_up_with_the_errors(standin: StandIn, tmp_path: Path) -> None:
    facts = tmp_path / "facts"
    facts.mkdir()
    broken = Path(__file__).parents[1] / "data" / "broken-facts" / "unknown-tier.yaml"
    (facts / "film.yaml").write_bytes(broken.read_bytes())
    env = bot_env(standin, tmp_path, BOT_FACTS_DIR=str(facts))
    proc = await run_bot("run", env=env, cwd=tmp_path)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    text = stderr.decode()
    assert proc.returncode == 1
    assert f"error: {facts / 'film.yaml'}:19: facts[1] (finale).tier: unknown tier" in text
    assert "Traceback" not in text
    assert standin.calls == []  # it never tried to connect


@pytest.mark.parametrize("kind", ["directory", "corrupt", "unwritable-parent"])
async def test_bad_database_path_is_a_clear_start_up_error(
    standin: StandIn, tmp_path: Path, kind: str
) -> None:
    db = tmp_path / "bot.db"
    if kind == "directory":
        db.mkdir()
    elif kind == "corrupt":
        db.write_bytes(b"this is not a database" * 100)
    else:
        (tmp_path / "blocker").write_text("a file where a folder should be")
        db = tmp_path / "blocker" / "bot.db"
    env = bot_env(standin, tmp_path, BOT_DATABASE=str(db))
    proc = await run_bot("run", env=env, cwd=tmp_path)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    text = stderr.decode()
    assert proc.returncode == 1, text
    assert text.startswith("error: ") and str(tmp_path) in text and "Traceback" not in text
    assert len(text.splitlines()) == 1


async def test_sigkill_loses_no_confirmed_change(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    channels = [w.guild.add_text_channel(f"watch-{i}") for i in range(40)]
    env = bot_env(standin, tmp_path)
    proc = await run_bot("run", env=env, cwd=tmp_path)
    confirmed: dict[int, str] = {}
    try:
        await standin.wait_ready(timeout=20)
        await _wait_guild_ready(standin, w)
        tiers = ["setup", "departure", "mars", "ending"]

        async def change(i: int, channel: object) -> None:
            tier = tiers[i % len(tiers)]
            handle = await standin.send_interaction(
                w.guild, channel, w.owner, "spoilers", {"level": tier}, subcommand="set"
            )
            body = await handle.response(timeout=10)
            if "is now" in body["data"]["content"]:
                confirmed[channel.id] = tier  # type: ignore[attr-defined]

        pending = [asyncio.create_task(change(i, c)) for i, c in enumerate(channels)]
        while len(confirmed) < 15:
            await asyncio.sleep(0.005)
    finally:
        proc.kill()  # SIGKILL: no shutdown, no flush, no goodbye
        await proc.wait()
    await asyncio.gather(*pending, return_exceptions=True)
    assert proc.returncode == -signal.SIGKILL

    from bot.storage import SettingsStore

    async with await SettingsStore.open(tmp_path / "data" / "bot.db") as store:
        stored = await store.levels(w.guild.id, [c.id for c in channels])
    assert len(confirmed) >= 15
    assert {cid: stored.get(cid) for cid in confirmed} == confirmed
