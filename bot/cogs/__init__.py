"""Thin discord.py cogs: parse the interaction or message, call the engine and store, reply."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import discord
from discord import app_commands

from bot.core.model import Work

NO_PINGS = discord.AllowedMentions.none()
# Respond by this many seconds or defer: Discord drops interactions unanswered after 3.
DEFER_AFTER = 1.5


def place_of(interaction: discord.Interaction) -> discord.abc.GuildChannel | discord.Thread:
    """The channel or thread an interaction came from; a check failure if it is not known."""
    channel = interaction.channel
    if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return channel
    raise app_commands.CheckFailure("I can't tell which channel this is; try again in a moment.")


def tier_choices(work: Work) -> list[app_commands.Choice[str]]:
    """The work's tiers as slash-command choices: label shown, id sent."""
    return [app_commands.Choice(name=f"{t.label} ({t.id})"[:100], value=t.id) for t in work.tiers]


async def respond(
    interaction: discord.Interaction, reply: Awaitable[str | list[str]], *, ephemeral: bool
) -> None:
    """Send the reply as the response, deferring first if producing it is slow."""
    task = asyncio.ensure_future(reply)
    done, _ = await asyncio.wait({task}, timeout=time_left(interaction, DEFER_AFTER))
    if not done:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except BaseException:
            task.cancel()  # nobody will read its result
            raise
    result = await task
    first, *rest = [result] if isinstance(result, str) else result
    if interaction.response.is_done():
        await interaction.followup.send(first, ephemeral=ephemeral, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(
            first, ephemeral=ephemeral, allowed_mentions=NO_PINGS
        )
    for text in rest:
        await interaction.followup.send(text, ephemeral=ephemeral, allowed_mentions=NO_PINGS)


def time_left(interaction: discord.Interaction, budget: float) -> float:
    """What remains of `budget` seconds counted from when Discord created the interaction."""
    # A busy bot reads an interaction late, and Discord's clock started at creation. A bot clock
    # ahead of Discord's only makes it defer sooner; one behind gives a negative age: fall back
    # to the whole budget, never more.
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return min(budget, max(0.0, budget - age))
