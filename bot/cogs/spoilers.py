"""/spoilers show | set | server | reset | me: who may see how much, where."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import place_of, respond, tier_choices
from bot.core.render import render_tiers

if TYPE_CHECKING:
    from bot.app import GuildPlace, LoreBot

Target = discord.TextChannel | discord.CategoryChannel | discord.Thread | discord.ForumChannel


class Spoilers(commands.Cog):
    """Spoiler levels per server, category, channel and thread, and each person's own."""

    def __init__(self, bot: LoreBot) -> None:
        self.bot = bot
        self.group = self._build_group()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.group.name)

    def _build_group(self) -> app_commands.Group:
        group = app_commands.Group(
            name="spoilers",
            description="How much of the story the bot may reveal here",
            guild_only=True,
        )
        choices = tier_choices(self.bot.engine.work)

        @group.command(name="show", description="The spoiler level here and where it comes from")
        async def show(interaction: discord.Interaction) -> None:
            await respond(interaction, self.show(interaction), ephemeral=True)

        @group.command(
            name="set", description="Set the spoiler level of a channel (Manage Channels)"
        )
        @app_commands.describe(
            level="How far the story may be told plainly",
            channel="Channel, category or thread (default: this one)",
        )
        @app_commands.choices(level=choices)
        async def set_(
            interaction: discord.Interaction, level: str, channel: Target | None = None
        ) -> None:
            await respond(interaction, self.set_level(interaction, level, channel), ephemeral=True)

        @group.command(name="server", description="Set the server's default level (Manage Server)")
        @app_commands.describe(level="How far the story may be told plainly by default")
        @app_commands.choices(level=choices)
        async def server(interaction: discord.Interaction, level: str) -> None:
            await respond(interaction, self.set_server(interaction, level), ephemeral=True)

        @group.command(name="reset", description="Make a channel inherit its level again")
        @app_commands.describe(channel="Channel, category or thread (default: this one)")
        async def reset(interaction: discord.Interaction, channel: Target | None = None) -> None:
            await respond(interaction, self.reset(interaction, channel), ephemeral=True)

        @group.command(name="me", description="Record how far you have watched (private answers)")
        @app_commands.describe(level="How far you have watched")
        @app_commands.choices(level=choices)
        async def me(interaction: discord.Interaction, level: str) -> None:
            await respond(interaction, self.set_mine(interaction, level), ephemeral=True)

        return group

    async def show(self, interaction: discord.Interaction) -> str:
        """The effective level here, where it comes from, and the caller's own level."""
        place = place_of(interaction)
        resolved = await self.bot.channel_level(place)
        work = self.bot.engine.work
        own = await self.bot.store.user_level(interaction.user.id)
        own_tier = work.find_tier(own) if own else None
        mine = (
            f"**{own_tier.label}** (`{own_tier.id}`)"
            if own_tier
            else "not set (private answers use this channel's level)"
        )
        return (
            f"Spoiler level in {place.mention}: **{resolved.tier.label}** "
            f"(`{resolved.tier.id}`), {resolved.reason}.\nYour own level: {mine}.\n\n"
            f"{render_tiers(work, resolved.tier)}"
        )

    async def set_level(
        self, interaction: discord.Interaction, level: str, channel: Target | None
    ) -> str:
        """Set a channel, category or thread level, if the caller may manage that channel."""
        tier = self.bot.engine.tier(level)
        target = channel or place_of(interaction)
        refusal = _refusal(interaction, target)
        if refusal:
            return refusal
        await self.bot.store.set_level(
            target.guild.id, target.id, _kind(target), tier.id, interaction.user.id
        )
        return f"Spoiler level of {target.mention} is now **{tier.label}** (`{tier.id}`)."

    async def set_server(self, interaction: discord.Interaction, level: str) -> str:
        """Set the server default, if the caller has Manage Server."""
        tier = self.bot.engine.tier(level)
        guild = interaction.guild
        member = interaction.user
        if guild is None or not isinstance(member, discord.Member):
            raise app_commands.NoPrivateMessage()
        if not member.guild_permissions.manage_guild:
            return "You need the **Manage Server** permission to set the server's default level."
        await self.bot.store.set_level(guild.id, guild.id, "guild", tier.id, member.id)
        return (
            f"The server's default spoiler level is now **{tier.label}** (`{tier.id}`). "
            "Channels with a level of their own keep it."
        )

    async def reset(self, interaction: discord.Interaction, channel: Target | None) -> str:
        """Remove a level set on a channel, category or thread."""
        target = channel or place_of(interaction)
        refusal = _refusal(interaction, target)
        if refusal:
            return refusal
        removed = await self.bot.store.clear_level(target.guild.id, target.id)
        resolved = await self.bot.channel_level(target)
        done = "no longer has a level of its own" if removed else "had no level of its own"
        return (
            f"{target.mention} {done}; it now uses **{resolved.tier.label}** "
            f"(`{resolved.tier.id}`), {resolved.reason}."
        )

    async def set_mine(self, interaction: discord.Interaction, level: str) -> str:
        """Record the caller's own progress."""
        tier = self.bot.engine.tier(level)
        await self.bot.store.set_user_level(interaction.user.id, tier.id)
        return (
            f"Got it: you have seen up to **{tier.label}**. `/ask private:True` answers you "
            "at this level."
        )


def _refusal(interaction: discord.Interaction, target: GuildPlace) -> str | None:
    """Why the caller may not change `target`'s level (needs Manage Channels there), if not."""
    member = interaction.user
    if isinstance(member, discord.Member) and target.permissions_for(member).manage_channels:
        return None
    return (
        f"You need the **Manage Channels** permission in {target.mention} to change its "
        "spoiler level."
    )


def _kind(target: GuildPlace) -> str:
    if isinstance(target, discord.Thread):
        return "thread"
    if isinstance(target, discord.CategoryChannel):
        return "category"
    return "channel"


async def setup(bot: LoreBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Spoilers(bot))
