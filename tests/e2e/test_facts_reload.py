"""/facts reload: swaps in good files, keeps the last good facts and explains bad ones."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.config import DEFAULT_FACTS_DIR

from .world import Env, content, flags

EPHEMERAL = 64
FILE = "lost-in-starlight.yaml"


@pytest.fixture
def facts_dir(tmp_path: Path) -> Path:
    """A copy of the shipped facts that each test may edit (used by the `env` fixture)."""
    facts = tmp_path / "facts"
    facts.mkdir()
    shutil.copy(DEFAULT_FACTS_DIR / FILE, facts / FILE)
    return facts


async def reload(env: Env, member: object) -> list[str]:
    """Run /facts reload; every message of the reply (response, then follow-ups once settled)."""
    handle = await env.standin.send_interaction(
        env.world.guild, env.world.general, member, "facts", subcommand="reload"
    )
    body = await handle.response()
    assert flags(body) & EPHEMERAL
    seen = -1
    while seen != len(handle.state.followup_ids):
        seen = len(handle.state.followup_ids)
        await asyncio.sleep(0.3)
    followups = [env.standin.messages[i] for i in handle.state.followup_ids]
    assert all(m["flags"] & EPHEMERAL for m in followups)
    return [content(body), *(m["content"] for m in followups)]


async def ask(env: Env, question: str) -> str:
    return content(await env.ask(env.world.spoilers, question))


async def test_reload_swaps_in_new_facts(env: Env) -> None:
    path = env.settings.facts_dir / FILE
    old = env.bot.engine.work.facts[0].answer
    path.write_text(path.read_text().replace(old, "A brand new answer."), encoding="utf-8")
    question = env.bot.engine.work.facts[0].questions[0]
    assert await ask(env, question) == old
    (text,) = await reload(env, env.world.owner)
    assert text.startswith("Reloaded *Lost in Starlight*: 65 facts")
    assert await ask(env, question) == "A brand new answer."


async def test_broken_files_keep_the_last_good_facts(env: Env) -> None:
    path = env.settings.facts_dir / FILE
    text = path.read_text()
    broken = text.replace("tier: ending", "tier: finale", 3).replace("tier: mars", "tier: 5")
    path.write_text(broken, encoding="utf-8")
    messages = await reload(env, env.world.owner)
    assert all(len(m) <= 2000 for m in messages)
    reply = "\n".join(messages)
    assert "problem(s); I keep answering from the facts loaded before" in reply
    line = broken[: broken.index("tier: finale")].count("\n") + 1
    assert f"{FILE}:{line}: facts[" in reply and "unknown tier 'finale'" in reply
    assert "||" not in reply
    # Still answering, from the old facts.
    assert "Hong Kyung" in await ask(env, "who voices jay")


async def test_many_problems_are_split_to_fit(env: Env) -> None:
    path = env.settings.facts_dir / FILE
    path.write_text(path.read_text().replace("tier: ", "tier: nope-"), encoding="utf-8")
    texts = await reload(env, env.world.owner)
    assert len(texts) > 1
    assert all(len(t) <= 2000 for t in texts)
    assert sum(t.count("unknown tier") for t in texts) >= 30
    assert "Hong Kyung" in await ask(env, "who voices jay")


async def test_reload_needs_manage_server(env: Env) -> None:
    path = env.settings.facts_dir / FILE
    path.write_text(path.read_text().replace("Hong Kyung", "Someone Else"), encoding="utf-8")
    (refused,) = await reload(env, env.world.mod)
    assert "Manage Server" in refused
    assert "Hong Kyung" in await ask(env, "who voices jay")
