"""/ask, /summary, and answers to mentions (and to every message in Q&A channels)."""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import NO_PINGS, place_of, respond, tier_choices, time_left

if TYPE_CHECKING:
    from bot.app import GuildPlace, LoreBot

log = logging.getLogger(__name__)

AUTOCOMPLETE_BUDGET = 2.0  # seconds; Discord discards autocomplete answers after 3
MAX_SLASH_QUESTION = 500

USAGE = (
    "Ask me about *{title}*: `/ask question:who voices Jay?` or mention me with a question. "
    "Answers follow this channel's spoiler level; anything beyond it comes behind spoiler bars. "
    "`/summary` recaps the story and `/spoilers show` tells the level here."
)


class Lore(commands.Cog):
    """Answers questions and gives summaries at the level of the place they are asked in."""

    def __init__(self, bot: LoreBot) -> None:
        self.bot = bot
        # Choices come from the fact file, so these commands are built per loaded work.
        self.commands = (self._ask_command(), self._summary_command())

    async def cog_load(self) -> None:
        for command in self.commands:
            self.bot.tree.add_command(command)

    async def cog_unload(self) -> None:
        for command in self.commands:
            self.bot.tree.remove_command(command.name)

    def _ask_command(self) -> app_commands.Command:
        @app_commands.command(name="ask", description="Ask a question about the story")
        @app_commands.describe(
            question="Your question, in your own words",
            private="Only you see the answer, at your own level (/spoilers me)",
        )
        @app_commands.guild_only()
        async def ask(
            interaction: discord.Interaction,
            question: app_commands.Range[str, 1, MAX_SLASH_QUESTION],
            private: bool = False,
        ) -> None:
            await self.ask(interaction, question, private)

        ask.autocomplete("question")(self.ask_autocomplete)
        return ask

    def _summary_command(self) -> app_commands.Command:
        @app_commands.command(name="summary", description="The plot so far, up to a point")
        @app_commands.describe(through="How far to summarise (default: this channel's level)")
        @app_commands.choices(through=tier_choices(self.bot.engine.work))
        @app_commands.guild_only()
        async def summary(interaction: discord.Interaction, through: str | None = None) -> None:
            await self.summary(interaction, through)

        return summary

    async def ask(self, interaction: discord.Interaction, question: str, private: bool) -> None:
        """Answer at the channel's level, or privately at the asker's own level."""
        wait = self.bot.cooldown(interaction.user.id)
        if wait is not None:
            await interaction.response.send_message(
                f"You're asking fast! Try again in {math.ceil(wait)} s.", ephemeral=True
            )
            return
        place = place_of(interaction)
        await respond(
            interaction,
            self._answer(place, interaction.user.id, question, private),
            ephemeral=private,
        )

    async def _answer(
        self, place: GuildPlace, user_id: int, question: str, private: bool
    ) -> list[str]:
        level = await self.bot.viewer_level(place, user_id, private)
        return self.bot.engine.answer(question, level).messages

    async def ask_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Questions the facts answer whose wording reveals nothing above the level here."""
        private = bool(getattr(interaction.namespace, "private", False))
        engine = self.bot.engine
        try:
            level = await asyncio.wait_for(
                self.bot.viewer_level(place_of(interaction), interaction.user.id, private),
                time_left(interaction, AUTOCOMPLETE_BUDGET),
            )
        except Exception as exc:
            # Late or failed, the safest level is always safe: suggest from it.
            if not isinstance(exc, TimeoutError):
                log.exception("Level lookup for autocomplete failed")
            level = engine.work.safest
        return [
            app_commands.Choice(name=q, value=q) for q in engine.matcher.complete(current, level)
        ]

    async def summary(self, interaction: discord.Interaction, through: str | None) -> None:
        """The story through a tier; parts beyond the channel's level behind bars."""
        engine = self.bot.engine

        async def messages() -> list[str]:
            level = (await self.bot.channel_level(place_of(interaction))).tier
            return engine.summary(level, engine.tier(through) if through else None)

        await respond(interaction, messages(), ephemeral=False)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer mentions, and every message in a Q&A channel; apologise if that fails."""
        try:
            await self._on_message(message)
        except Exception:
            log.exception("Answering message %s failed", message.id)
            if self.bot.user is not None and self.bot.user in message.mentions:
                try:
                    await self._reply(message, "Sorry, something went wrong on my side.")
                except discord.HTTPException:
                    log.warning("Could not apologise for message %s", message.id)

    async def _on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or message.guild is None or me is None:
            return
        mentioned = me in message.mentions
        if not mentioned and not self._in_qa_channel(message.channel):
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if not question or question.casefold() in ("help", "?", "hi", "hello"):
            if mentioned:
                await self._reply(message, USAGE.format(title=self.bot.engine.work.title))
            return
        if self.bot.cooldown(message.author.id) is not None:
            await _react(message, "\N{HOURGLASS WITH FLOWING SAND}")
            return
        level = await self.bot.viewer_level(message.channel, message.author.id, private=False)
        reply = self.bot.engine.answer(question, level)
        # In a Q&A channel people also chat: stay quiet unless there is an answer.
        if mentioned or reply.result.answered:
            for text in reply.messages:
                await self._reply(message, text)

    def _in_qa_channel(self, channel: object) -> bool:
        qa = self.bot.settings.qa_channels
        return bool(qa) and (
            getattr(channel, "id", None) in qa or getattr(channel, "parent_id", None) in qa
        )

    @staticmethod
    async def _reply(message: discord.Message, text: str) -> None:
        await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS)


async def _react(message: discord.Message, emoji: str) -> None:
    try:
        await message.add_reaction(emoji)
    except discord.HTTPException:
        log.debug("Could not react to a throttled question", exc_info=True)


async def setup(bot: LoreBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Lore(bot))
