"""The Discord bot: builds the client, wires engine and storage, and runs `run` / `sync`."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.core.engine import Engine, UnknownTier
from bot.core.levels import SPOILER_CHANNEL_FLAG, Resolved, Scope, resolve
from bot.core.loader import FactFileError
from bot.core.model import Tier
from bot.core.render import escape
from bot.storage import SettingsStore, StorageError

log = logging.getLogger(__name__)

# Loaded in this order by setup_hook; a failure stops start-up.
EXTENSIONS: tuple[str, ...] = ("bot.cogs.lore", "bot.cogs.spoilers", "bot.cogs.facts")

GuildPlace = discord.abc.GuildChannel | discord.Thread


class LoreBot(commands.Bot):
    """The bot: holds the settings, the answer engine and the settings store."""

    def __init__(
        self, settings: Settings, engine: Engine, store: SettingsStore, **options: Any
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        # Only Q&A channels need to read messages that do not mention the bot.
        intents.message_content = bool(settings.qa_channels)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=LoreTree,
            **options,
        )
        self.settings = settings
        self.engine = engine
        self.store = store
        self._spoiler_channels: dict[int, bool] = {}
        self.cooldowns: commands.CooldownMapping[int] = commands.CooldownMapping.from_cooldown(
            settings.cooldown_rate, settings.cooldown_per, lambda user_id: user_id
        )

    async def setup_hook(self) -> None:
        """Load the cogs; sync to the development server only when one is configured."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.dev_guild:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("Synced commands to development server %s", self.settings.dev_guild)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: mentions and Q&A channels are handled by the lore cog."""

    def cooldown(self, user_id: int) -> float | None:
        """Seconds the user must wait before asking again, or None to go ahead."""
        return self.cooldowns.update_rate_limit(user_id)

    async def channel_level(self, place: GuildPlace) -> Resolved:
        """The spoiler level in effect in a channel, thread or category, and where it is set."""
        chain = await self.scope_chain(place)
        stored = await self.store.levels(place.guild.id, [s.id for s in chain])
        return resolve(self.engine.work, chain, stored)

    async def scope_chain(self, place: GuildPlace) -> list[Scope]:
        """Thread -> channel -> category -> server, as scopes for level resolution."""
        chain: list[Scope] = []
        channel: discord.abc.GuildChannel | None
        if isinstance(place, discord.Thread):
            chain.append(Scope("thread", place.id, f"#{place.name}"))
            channel = place.parent
            if channel is None and place.parent_id:
                chain.append(Scope("channel", place.parent_id))
        else:
            channel = place
        category = None
        if isinstance(channel, discord.CategoryChannel):
            category = channel
        elif channel is not None:
            spoiler = await self.is_spoiler_channel(channel)
            chain.append(Scope("channel", channel.id, f"#{channel.name}", spoiler))
            category = channel.category
        if category is not None:
            chain.append(Scope("category", category.id, category.name))
        chain.append(Scope("guild", place.guild.id))
        return chain

    async def is_spoiler_channel(self, channel: discord.abc.GuildChannel) -> bool:
        """Whether Discord marks the channel as a spoiler channel (members opt in to see it)."""
        flags = getattr(channel, "flags", None)
        if flags is not None:
            return bool(flags.value & SPOILER_CHANNEL_FLAG)
        # discord.py keeps no flags for text channels: read them once from the API.
        if channel.id not in self._spoiler_channels:
            try:
                data = await self.http.get_channel(channel.id)
            except discord.HTTPException:
                log.warning("Could not read the flags of channel %s", channel.id, exc_info=True)
                return False
            flags_value = int(data.get("flags", 0))
            self._spoiler_channels[channel.id] = bool(flags_value & SPOILER_CHANNEL_FLAG)
        return self._spoiler_channels[channel.id]

    async def on_guild_channel_update(
        self, before: object, after: discord.abc.GuildChannel
    ) -> None:
        """A moderator may have turned the spoiler-channel setting on or off."""
        self._spoiler_channels.pop(after.id, None)

    async def viewer_level(self, place: GuildPlace, user_id: int, private: bool) -> Tier:
        """The level an answer is rendered at: the person's own for private answers, if set."""
        if private:
            own = await self.store.user_level(user_id)
            tier = self.engine.work.find_tier(own) if own else None
            if tier is not None:
                return tier
        return (await self.channel_level(place)).tier


class LoreTree(app_commands.CommandTree):
    """Command tree whose errors become a short private apology, never a crash."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UnknownTier):
            text = str(original)
        elif isinstance(error, app_commands.TransformerError):
            text = f"I can't use \u201c{escape(str(error.value))}\u201d for that option."
        elif isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        else:
            log.error(
                "Command %r failed",
                interaction.command and interaction.command.name,
                exc_info=error,
            )
            text = "Sorry, something went wrong on my side. The error has been logged."
        await send_private(interaction, text)


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral message, as the first response or as a follow-up; never raises."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error", exc_info=True)


def point_at(settings: Settings) -> None:
    """Talk to a Discord-compatible server other than discord.com, when configured."""
    if settings.api_base:
        discord.http.Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


async def open_bot(settings: Settings, **options: Any) -> LoreBot:
    """Load facts and storage and build the bot (raises FactFileError / StorageError)."""
    engine = Engine.load([settings.facts_dir], settings.work_id)
    store = await SettingsStore.open(settings.database)
    return LoreBot(settings, engine, store, **options)


async def _run(settings: Settings, command: str, guild_id: int | None) -> None:
    bot = await open_bot(settings)
    try:
        async with bot:
            if command == "run":
                await serve(bot, settings.token or "")
                return
            await bot.login(settings.token or "")
            guild = discord.Object(guild_id) if guild_id else None
            if guild is not None:
                bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
            where = f"server {guild_id}" if guild_id else "all servers (may take up to an hour)"
            print(f"Synced {len(synced)} commands to {where}.")
    finally:
        await bot.store.close()


async def serve(bot: LoreBot, token: str) -> None:
    """Run until the connection ends for good or SIGINT / SIGTERM asks for a clean stop.

    Stopping closes the client rather than cancelling it: on Python 3.11 a cancellation that
    arrives just as the gateway connects is lost inside `asyncio.wait_for`, and the bot would
    keep running.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = asyncio.create_task(bot.start(token))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        stopping.cancel()
        return running.result()
    log.info("Stopping: closing the connection")
    await bot.close()
    # Mid start-up (logging in, syncing) the closed session fails whatever is in flight.
    (outcome,) = await asyncio.gather(running, return_exceptions=True)
    if isinstance(outcome, BaseException):
        log.debug("Start-up ended by the stop: %r", outcome)
    log.info("Stopped")


def run_command(command: str, settings: Settings, guild_id: int | None = None) -> int:
    """`python -m bot run` / `sync`: returns the process exit code."""
    if not settings.token:
        print(
            "error: DISCORD_TOKEN is not set. Put it in .env (see .env.example) or the "
            "environment. `python -m bot chat` tries the bot without Discord.",
            file=sys.stderr,
        )
        return 2
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level), root=True)
    point_at(settings)
    try:
        asyncio.run(_run(settings, command, guild_id))
    except (FactFileError, StorageError) as exc:
        problems: Sequence[object] = getattr(exc, "problems", [exc])
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 1
    except discord.LoginFailure:
        print(
            "error: Discord rejected DISCORD_TOKEN; copy it again from the developer portal.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        pass
    return 0
