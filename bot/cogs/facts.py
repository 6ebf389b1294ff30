"""/facts reload: new fact files without a restart, keeping the last good ones on error."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import respond
from bot.core.engine import Engine
from bot.core.loader import FactFileError
from bot.core.render import Block, code, pack

if TYPE_CHECKING:
    from bot.app import LoreBot

log = logging.getLogger(__name__)


class Facts(commands.Cog):
    """Fact file maintenance for server owners, Manage Server members and the app's owners."""

    facts = app_commands.Group(
        name="facts", description="The fact files behind the answers", guild_only=True
    )

    def __init__(self, bot: LoreBot) -> None:
        self.bot = bot

    @facts.command(name="reload", description="Reload the fact files without a restart")
    async def reload(self, interaction: discord.Interaction) -> None:
        """Validate and swap in the fact files; on any problem keep the current ones."""
        await respond(interaction, self._reload(interaction), ephemeral=True)

    async def _reload(self, interaction: discord.Interaction) -> list[str]:
        if not await self._may_reload(interaction):
            return [
                "You need the **Manage Server** permission (or to own this server or the "
                "bot) to reload the fact files."
            ]
        settings = self.bot.settings
        old = self.bot.engine
        try:
            # Off the event loop: a large work takes a while to index.
            new = await asyncio.to_thread(Engine.load, [settings.facts_dir], settings.work_id)
        except FactFileError as exc:
            log.warning("Fact reload rejected:\n%s", exc)
            head = (
                f"The fact files have {len(exc.problems)} problem(s); I keep answering from "
                f"the facts loaded before ({len(old.work.facts)} facts)."
            )
            lines = "\n".join(f"- {code(str(p))}" for p in exc.problems)
            return pack([Block(head), Block(lines)])
        self.bot.engine = new
        log.info("Reloaded %s: %d facts", new.work.title, len(new.work.facts))
        text = (
            f"Reloaded *{new.work.title}*: {len(new.work.facts)} facts, "
            f"{len(new.work.tiers)} tiers."
        )
        if [t.id for t in new.work.tiers] != [t.id for t in old.work.tiers]:
            text += (
                " The tiers changed: restart the bot and run `python -m bot sync` so the "
                "commands offer the new ones."
            )
        return [text]

    async def _may_reload(self, interaction: discord.Interaction) -> bool:
        user = interaction.user
        guild = interaction.guild
        if guild is not None and guild.owner_id == user.id:
            return True
        if isinstance(user, discord.Member) and user.guild_permissions.manage_guild:
            return True
        return await self.bot.is_owner(user)


async def setup(bot: LoreBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Facts(bot))
