"""A fan server for end-to-end tests: world builder, settings and the bot-under-test handle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.app import LoreBot
from bot.config import DEFAULT_FACTS_DIR, Settings
from bot.core.levels import SPOILER_CHANNEL_FLAG
from bot.core.loader import load_works

from .standin import Channel, Guild, Member, Overwrite, Permission, StandIn, Thread

WORK = load_works([DEFAULT_FACTS_DIR])[0]
EPHEMERAL = 64
ENDING_QUESTION = "does nan-young survive at the end?"
ENDING_FACT = next(f for f in WORK.facts if f.id == "survives")


@dataclass
class World:
    """A fan server: a category with channels, a thread, a spoiler channel and three people."""

    standin: StandIn
    guild: Guild
    films: Channel
    general: Channel
    theories: Channel
    spoilers: Channel
    thread: Thread
    owner: Member
    mod: Member
    fan: Member


def build_world(standin: StandIn) -> World:
    """`mod` has Manage Channels only in #theories (a role overwrite); `owner` owns the server."""
    guild = standin.add_guild("Starlight Fans")
    keeper = guild.add_role("Lore Keeper", Permission.MANAGE_MESSAGES)
    films = guild.add_category("Films")
    general = guild.add_text_channel("general", category=films)
    theories = guild.add_text_channel(
        "theories",
        category=films,
        overwrites=[Overwrite.for_role(keeper, allow=Permission.MANAGE_CHANNELS)],
    )
    spoilers = guild.add_text_channel("ending-talk", category=films)
    spoilers.flags = SPOILER_CHANNEL_FLAG
    thread = guild.add_thread(general, "first-watch")
    mod = guild.add_member(standin.add_user("mod"), roles=[keeper])
    fan = guild.add_member(standin.add_user("fan"))
    return World(
        standin,
        guild,
        films,
        general,
        theories,
        spoilers,
        thread,
        guild.member(guild.owner),
        mod,
        fan,
    )


@dataclass
class Env:
    standin: StandIn
    world: World
    bot: LoreBot
    settings: Settings

    async def ask(
        self,
        channel: Channel | Thread,
        question: str,
        member: Member | None = None,
        **options: object,
    ) -> dict:
        handle = await self.standin.send_interaction(
            self.world.guild,
            channel,
            member or self.world.fan,
            "ask",
            {"question": question, **options},
        )
        return await handle.response()

    async def spoilers(
        self, sub: str, member: Member, where: Channel | Thread | None = None, **options: object
    ) -> dict:
        """Run /spoilers <sub> as `member` in `where`; keyword arguments are the options."""
        handle = await self.standin.send_interaction(
            self.world.guild,
            where or self.world.general,
            member,
            "spoilers",
            options,
            subcommand=sub,
        )
        return await handle.response()


def settings_for(standin: StandIn, tmp_path: Path, **overrides: object) -> Settings:
    values = {
        "token": standin.token,
        "database": tmp_path / "bot.db",
        "facts_dir": DEFAULT_FACTS_DIR,
        "cooldown_rate": 100,
        "cooldown_per": 60.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def content(body: dict) -> str:
    return body["data"]["content"]


def flags(body: dict) -> int:
    return body["data"].get("flags", 0) or 0
