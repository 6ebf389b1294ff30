"""Helpers that point an unmodified discord.py client at a running stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import discord

    from .server import StandIn

ClientT = TypeVar("ClientT", bound="discord.Client")


@contextlib.contextmanager
def pointed_at(standin: StandIn) -> Iterator[None]:
    """Redirect discord.py's REST base URL and default gateway to the stand-in, then restore."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    # Route reads BASE when each request is built, and the websocket reads DEFAULT_GATEWAY for
    # the first connection and after a non-resumable INVALID_SESSION (READY's
    # resume_gateway_url is used for resumes), so patching the class attributes is enough.
    discord.http.Route.BASE = standin.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


async def _race(task: asyncio.Task[Any], waiter: Awaitable[Any], timeout: float, what: str) -> None:
    """Await `waiter` but fail early (with the bot's own exception) if the bot task ends."""
    other = asyncio.ensure_future(waiter)
    try:
        done, _ = await asyncio.wait(
            {task, other}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not other.done():
            other.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await other
    if other in done:
        other.result()
        return
    if task in done:
        task.result()
        raise RuntimeError(f"the bot stopped before {what}")
    raise TimeoutError(f"the bot did not reach {what} within {timeout}s")


@contextlib.asynccontextmanager
async def running_bot(
    standin: StandIn, client: ClientT, *, timeout: float = 15.0
) -> AsyncIterator[ClientT]:
    """Run `client` against the stand-in until it is ready; close it cleanly on exit."""
    with pointed_at(standin):
        task = asyncio.create_task(client.start(standin.token), name="standin-bot")
        try:
            await _race(task, standin.wait_ready(timeout=timeout), timeout, "IDENTIFY/READY")
            await _race(task, client.wait_until_ready(), timeout, "on_ready")
            yield client
        finally:
            await client.close()
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                # The bot's own failure was already surfaced (or the test failed first).
                pass
