"""Shared fixtures for end-to-end tests against the stand-in Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import open_bot
from bot.config import DEFAULT_FACTS_DIR

from .standin import StandIn, running_bot
from .world import Env, build_world, settings_for


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers used by the end-to-end tests."""
    config.addinivalue_line(
        "markers", "slow: takes seconds of wall time (deselect with -m 'not slow')"
    )


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StandIn]:
    """A running stand-in Discord on a random loopback port, stopped after the test."""
    async with StandIn() as server:
        yield server


@pytest.fixture
def facts_dir() -> Path:
    """The fact files the `env` bot loads; a test module may override it with its own copy."""
    return DEFAULT_FACTS_DIR


@pytest_asyncio.fixture
async def env(standin: StandIn, tmp_path: Path, facts_dir: Path) -> AsyncIterator[Env]:
    """The bot on `facts_dir`, connected to a fresh fan server, stopped after the test."""
    world = build_world(standin)
    settings = settings_for(standin, tmp_path, facts_dir=facts_dir)
    bot = await open_bot(settings, guild_ready_timeout=0.05)
    try:
        async with running_bot(standin, bot):
            yield Env(standin, world, bot, settings)
    finally:
        await bot.store.close()
    standin.assert_no_violations()
