"""Shared fixtures for end-to-end tests against the stand-in Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .standin import StandIn


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
