"""End-to-end checks of the stand-in Discord with a real, unmodified discord.py bot."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import pytest_asyncio

from .standin import (
    Channel,
    Guild,
    Intents,
    Member,
    MessageFlags,
    Overwrite,
    Permission,
    Role,
    StandIn,
    Thread,
    running_bot,
)

if TYPE_CHECKING:
    from discord.ext import commands

# discord.py is imported inside the functions that use it, never at module level: the
# engine's tests assert that `discord` is absent from sys.modules, and test collection
# imports every module before any test runs. For the same reason this module does not use
# `from __future__ import annotations`: the slash command callbacks below need their
# annotations evaluated where discord is in scope, which discord.py then inspects.

# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """A small lore server: a category with two channels and a thread, two members."""

    standin: StandIn
    guild: Guild
    keeper: Role
    books: Channel
    general: Channel
    spoilers: Channel
    thread: Thread
    alice: Member
    bob: Member


def build_world(standin: StandIn) -> World:
    """Alice is a Lore Keeper: Manage Channels only in #spoilers (via a role overwrite)."""
    guild = standin.add_guild("Starlight Archive")
    keeper = guild.add_role("Lore Keeper", Permission.MANAGE_MESSAGES, hoist=True)
    books = guild.add_category("Books")
    general = guild.add_text_channel("general", category=books, topic="Spoiler-free chat")
    spoilers = guild.add_text_channel(
        "spoilers",
        category=books,
        overwrites=[
            Overwrite.for_role(guild.default_role, deny=Permission.EMBED_LINKS),
            Overwrite.for_role(keeper, allow=Permission.MANAGE_CHANNELS),
        ],
    )
    thread = guild.add_thread(general, "book-one-discussion")
    alice = guild.add_member(standin.add_user("alice", global_name="Alice"), roles=[keeper])
    bob = guild.add_member(standin.add_user("bob"))
    # Bob may read #spoilers but not talk there: a member overwrite beats the roles.
    spoilers.set_overwrite(bob, deny=Permission.SEND_MESSAGES)
    return World(standin, guild, keeper, books, general, spoilers, thread, alice, bob)


# --------------------------------------------------------------------------- the bot


@dataclass
class Observed:
    """What the bot saw while handling commands, for assertions."""

    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    permissions: dict[str, dict[str, int]] = field(default_factory=dict)
    own_messages: list[int] = field(default_factory=list)

    def error_for(self, command: str) -> BaseException:
        """The unwrapped exception a command raised."""
        for name, exc in self.errors:
            if name == command:
                return exc
        raise AssertionError(f"/{command} raised nothing; errors: {self.errors}")


def make_bot(observed: Observed) -> "commands.Bot":
    """A tiny lore bot using only public discord.py APIs."""
    import discord
    from discord import app_commands
    from discord.ext import commands

    class LoreBot(commands.Bot):
        """commands.Bot without the 5 s pause discord.py takes before every re-IDENTIFY."""

        async def before_identify_hook(
            self, shard_id: int | None, *, initial: bool = False
        ) -> None:
            """Skip the identify pacing; the stand-in has no identify rate limit."""
            return None

    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before
    # on_ready; the real default (2 s) would only slow the suite down.
    bot = LoreBot(
        command_prefix=commands.when_mentioned,
        intents=intents,
        help_command=None,
        guild_ready_timeout=0.05,
    )

    @bot.tree.command(name="ping", description="Check that the archive is awake")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @bot.tree.command(name="recall", description="Think, then recall a fact")
    async def recall(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("The archive was founded in the year of the comet.")

    @bot.tree.command(name="lookup", description="Think privately, then edit the answer in")
    async def lookup(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="Found 3 entries.")

    @bot.tree.command(name="twice", description="Answers twice (a bug Discord refuses)")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        # A fresh InteractionResponse bypasses discord.py's own guard, like a buggy bot would.
        await discord.InteractionResponse(interaction).send_message("second")

    @bot.tree.command(name="dawdle", description="Answers after Discord's 3 s deadline")
    async def dawdle(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.2)
        await interaction.response.send_message("too late")

    @bot.tree.command(name="ramble", description="Answers with too much text")
    async def ramble(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("lore " * 401)

    @bot.tree.command(name="eager", description="Follows up before acknowledging (a bug)")
    async def eager(interaction: discord.Interaction) -> None:
        try:
            await interaction.followup.send("too soon")
        finally:
            await interaction.response.send_message("acknowledged")

    lore = app_commands.Group(name="lore", description="Lore tools")
    link = app_commands.Group(name="link", description="Link lore to things", parent=lore)

    @link.command(name="member", description="Link a member to a channel")
    @app_commands.describe(who="Who", where="Where")
    async def link_member(
        interaction: discord.Interaction, who: discord.Member, where: discord.TextChannel
    ) -> None:
        await interaction.response.send_message(f"{who.display_name} -> {where.mention}")

    bot.tree.add_command(lore)

    @bot.tree.command(name="perms", description="Report permissions as discord.py sees them")
    async def perms(interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, (discord.TextChannel, discord.Thread))
        assert isinstance(interaction.user, discord.Member)
        assert interaction.guild is not None
        observed.permissions[channel.name] = {
            "interaction": interaction.permissions.value,
            "computed": channel.permissions_for(interaction.user).value,
            "app": interaction.app_permissions.value,
            "app_computed": channel.permissions_for(interaction.guild.me).value,
        }
        await interaction.response.send_message("noted", ephemeral=True)

    @bot.tree.command(name="topic", description="Look up a topic")
    @app_commands.describe(name="Topic name")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"About {name}")

    @topic.autocomplete("name")
    async def topic_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["Comet", "Compass", "Archivist"] + [f"Extra {i}" for i in range(30)]
        # Returning more than 25 choices is the bug under test when `current` is empty.
        limit = 25 if current else 30
        hits = [n for n in names if n.lower().startswith(current.lower())]
        return [app_commands.Choice(name=n, value=n) for n in hits[:limit]]

    @bot.tree.error
    async def on_app_command_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.name if interaction.command else "?"
        original = getattr(error, "original", error)
        observed.errors.append((name, original))

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            if bot.user is not None and message.author.id == bot.user.id:
                observed.own_messages.append(message.id)
            return
        if bot.user is not None and bot.user in message.mentions:
            await message.reply(
                f"Hello {message.author.mention}, ask me about the archive.",
                allowed_mentions=discord.AllowedMentions.none(),
            )

    return bot


@dataclass
class Env:
    """A running stand-in, its world, and a bot connected to it."""

    standin: StandIn
    world: World
    bot: "commands.Bot"
    observed: Observed


@pytest_asyncio.fixture
async def env(standin: StandIn) -> AsyncIterator[Env]:
    """The stand-in with the lore world and a ready bot."""
    world = build_world(standin)
    observed = Observed()
    async with running_bot(standin, make_bot(observed)) as bot:
        yield Env(standin, world, bot, observed)


# --------------------------------------------------------------------------- tests


async def test_bot_gets_ready_and_sees_the_world(env: Env) -> None:
    """READY + GUILD_CREATE (+ member chunking) give discord.py the whole guild."""
    import discord

    w = env.world
    guild = env.bot.get_guild(w.guild.id)
    assert guild is not None and guild.name == "Starlight Archive"
    assert guild.owner_id == w.guild.owner.id
    category = guild.get_channel(w.books.id)
    assert isinstance(category, discord.CategoryChannel)
    general = guild.get_channel(w.general.id)
    assert isinstance(general, discord.TextChannel)
    assert general.category == category and general.topic == "Spoiler-free chat"
    assert [c.name for c in category.text_channels] == ["general", "spoilers"]
    thread = guild.get_thread(w.thread.id)
    assert thread is not None and thread.parent == general
    # Only the bot is inlined in GUILD_CREATE; the rest arrives via REQUEST_GUILD_MEMBERS.
    assert {m.name for m in guild.members} == {
        "alice",
        "bob",
        "starlight-archive-owner",
        "Lore Keeper",
    }
    assert guild.me is not None and any(r.managed for r in guild.me.roles)
    alice = guild.get_member(w.alice.id)
    assert alice is not None and [r.name for r in alice.roles[1:]] == ["Lore Keeper"]
    session = env.standin.gateway.current
    assert session is not None
    assert session.intents & Intents.GUILD_MEMBERS and session.intents & Intents.MESSAGE_CONTENT
    assert env.standin.calls_to("GET", "/users/@me")[0].status == 200
    env.standin.assert_no_violations()


async def test_slash_command_round_trip(env: Env) -> None:
    """/ping answers with an ephemeral "pong" as the single initial response."""
    w = env.world
    handle = await env.standin.send_interaction(w.guild, w.general, w.alice, "ping")
    body = await handle.response()
    assert body["type"] == 4
    assert body["data"]["content"] == "pong"
    assert body["data"]["flags"] & MessageFlags.EPHEMERAL
    callback = env.standin.calls_to("POST", "/callback")[0]
    assert callback.query.get("with_response") == "1" and callback.status == 200
    env.standin.assert_no_violations()


async def test_deferred_response_then_followup(env: Env) -> None:
    """Defer (type 5) then follow up: the follow-up replaces the thinking message."""
    w = env.world
    handle = await env.standin.send_interaction(w.guild, w.general, w.bob, "recall")
    assert (await handle.response())["type"] == 5
    [followup] = await handle.followups()
    assert followup["content"].startswith("The archive was founded")
    original = await handle.original_message()
    assert not original["flags"] & MessageFlags.LOADING
    assert original["interaction_metadata"]["user"]["id"] == str(w.bob.user.id)
    env.standin.assert_no_violations()


async def test_deferred_ephemeral_then_edit_original(env: Env) -> None:
    """Defer ephemerally, then PATCH @original."""
    w = env.world
    handle = await env.standin.send_interaction(w.guild, w.general, w.alice, "lookup")
    body = await handle.response()
    assert body == {"type": 5, "data": {"flags": 64}}
    [edit] = await handle.edits()
    assert edit["content"] == "Found 3 entries."
    original = await handle.original_message()
    assert original["content"] == "Found 3 entries."
    assert original["flags"] == MessageFlags.EPHEMERAL
    env.standin.assert_no_violations()


async def test_mention_reply_uses_reference_and_allowed_mentions(env: Env) -> None:
    """A mention gets a reply with message_reference and the bot's allowed_mentions."""
    w, st = env.world, env.standin
    sent = await st.send_message(
        w.guild, w.general, w.alice, f"{st.bot_user.mention} who keeps the archive?"
    )
    assert [u["id"] for u in sent.payload["mentions"]] == [str(st.bot_user.id)]
    reply = await sent.reply()
    assert reply.message_reference is not None
    assert reply.message_reference["message_id"] == str(sent.id)
    assert reply.allowed_mentions is not None
    assert reply.allowed_mentions["parse"] == []
    assert not reply.allowed_mentions.get("replied_user", False)
    # Alice's mention is in the text but nobody gets pinged.
    assert w.alice.mention in reply.content and reply.mentions == []
    assert reply.payload["type"] == 19
    # Discord echoes the bot's own message back over the gateway.
    await st.wait_for(lambda: reply.id in env.observed.own_messages, what="echoed reply")
    st.assert_no_violations()


async def test_second_initial_response_is_rejected(env: Env) -> None:
    """Discord answers a second callback with 400 / 40060."""
    import discord

    w, st = env.world, env.standin
    handle = await st.send_interaction(w.guild, w.general, w.alice, "twice")
    assert (await handle.response())["data"]["content"] == "first"
    rejected = await handle.rejection()
    assert (rejected.status, rejected.error_code) == (400, 40060)
    await st.wait_for(lambda: bool(env.observed.errors), what="the command error")
    error = env.observed.error_for("twice")
    assert isinstance(error, discord.HTTPException) and error.code == 40060
    assert [v.kind for v in st.violations] == ["already_acknowledged"]


@pytest.mark.slow
async def test_response_after_three_seconds_is_rejected(env: Env) -> None:
    """Past the 3 s deadline the interaction is unknown (404 / 10062)."""
    import discord

    w, st = env.world, env.standin
    handle = await st.send_interaction(w.guild, w.general, w.alice, "dawdle")
    rejected = await handle.rejection(timeout=6)
    assert (rejected.status, rejected.error_code) == (404, 10062)
    await st.wait_for(lambda: bool(env.observed.errors), what="the command error")
    assert isinstance(env.observed.error_for("dawdle"), discord.NotFound)
    assert [v.kind for v in st.violations] == ["late_response"]
    assert handle.state.response is None


async def test_content_over_2000_characters_is_rejected(env: Env) -> None:
    """Content limits are enforced with Discord's Invalid Form Body error."""
    import discord

    w, st = env.world, env.standin
    handle = await st.send_interaction(w.guild, w.general, w.alice, "ramble")
    rejected = await handle.rejection()
    assert (rejected.status, rejected.error_code) == (400, 50035)
    [error] = rejected.response["errors"]["data"]["content"]["_errors"]
    assert error["code"] == "BASE_TYPE_MAX_LENGTH"
    await st.wait_for(lambda: bool(env.observed.errors), what="the command error")
    assert isinstance(env.observed.error_for("ramble"), discord.HTTPException)
    assert [v.kind for v in st.violations] == ["invalid_response"]


async def test_permissions_match_roles_and_overwrites(env: Env) -> None:
    """discord.py's own permission maths agrees with the payload's, channel by channel."""
    import discord

    w, st = env.world, env.standin
    for channel in (w.general, w.spoilers, w.thread):
        handle = await st.send_interaction(w.guild, channel, w.alice, "perms")
        await handle.response()
    handle = await st.send_interaction(w.guild, w.spoilers, w.bob, "perms")
    await handle.response()
    seen = env.observed.permissions
    # Discord's payload follows the documented algorithm, which keeps voice permissions in
    # text channels; discord.py's TextChannel.permissions_for drops them. Compare the rest.
    voice = discord.Permissions.voice().value
    for name, values in seen.items():
        assert values["interaction"] & ~voice == values["computed"] & ~voice, name
        assert values["app"] & ~voice == values["app_computed"] & ~voice, name
    # Alice: Manage Channels only where the Lore Keeper overwrite grants it.
    alice_general = discord.Permissions(seen["general"]["interaction"])
    assert not alice_general.manage_channels and alice_general.embed_links
    assert not discord.Permissions(seen["book-one-discussion"]["interaction"]).manage_channels
    # The last /perms call (Bob in #spoilers) overwrote Alice's #spoilers entry; check the
    # stand-in's own record of what it sent for Alice there.
    alice_spoilers = next(
        int(i.payload["member"]["permissions"])
        for i in st.interactions.values()
        if i.channel is w.spoilers and i.user is w.alice.user
    )
    assert alice_spoilers & Permission.MANAGE_CHANNELS
    assert not alice_spoilers & Permission.EMBED_LINKS
    bob_spoilers = discord.Permissions(seen["spoilers"]["interaction"])
    assert not bob_spoilers.send_messages and not bob_spoilers.manage_channels
    assert bob_spoilers.read_messages
    st.assert_no_violations()


async def test_tree_sync_to_guild_registers_commands(env: Env) -> None:
    """tree.sync(guild=...) PUTs the commands; interactions then carry the stored ids."""
    import discord

    w, st = env.world, env.standin
    target = discord.Object(id=w.guild.id)
    env.bot.tree.copy_global_to(guild=target)
    synced = await env.bot.tree.sync(guild=target)
    stored = {c["name"]: c for c in st.registered_commands(w.guild)}
    assert set(stored) == {c.name for c in synced} >= {"ping", "recall", "topic"}
    assert {str(c.id) for c in synced} == {c["id"] for c in stored.values()}
    assert stored["topic"]["options"][0]["autocomplete"] is True
    handle = await st.send_interaction(w.guild, w.general, w.alice, "ping")
    assert handle.payload["data"]["id"] == stored["ping"]["id"]
    assert handle.payload["data"]["guild_id"] == str(w.guild.id)
    assert (await handle.response())["data"]["content"] == "pong"
    # Re-syncing keeps ids stable, as Discord does for unchanged names.
    again = await env.bot.tree.sync(guild=target)
    assert {c.id for c in again} == {c.id for c in synced}
    st.assert_no_violations()


async def test_subcommand_group_with_resolved_options(env: Env) -> None:
    """Group/subcommand nesting and resolved user/channel options reach the callback."""
    w, st = env.world, env.standin
    handle = await st.send_interaction(
        w.guild,
        w.general,
        w.alice,
        "lore",
        {"who": w.bob, "where": w.spoilers},
        subcommand="link member",
    )
    [group] = handle.payload["data"]["options"]
    assert (group["type"], group["name"]) == (2, "link")
    assert group["options"][0]["type"] == 1
    resolved = handle.payload["data"]["resolved"]
    assert str(w.bob.user.id) in resolved["members"]
    assert "permissions" in resolved["channels"][str(w.spoilers.id)]
    body = await handle.response()
    assert body["data"]["content"] == f"bob -> <#{w.spoilers.id}>"
    st.assert_no_violations()


async def test_followup_before_acknowledging_is_rejected(env: Env) -> None:
    """The follow-up webhook does not exist until the interaction is acknowledged."""
    w, st = env.world, env.standin
    handle = await st.send_interaction(w.guild, w.general, w.alice, "eager")
    rejected = await handle.rejection()
    assert (rejected.status, rejected.error_code) == (404, 10015)
    assert (await handle.response())["data"]["content"] == "acknowledged"
    assert [v.kind for v in st.violations] == ["followup_before_response"]


async def test_invalid_command_registration_is_rejected(env: Env) -> None:
    """Upper-case names are refused with 50035, which discord.py maps to CommandSyncFailure."""
    import discord
    from discord import app_commands

    w, st = env.world, env.standin
    target = discord.Object(id=w.guild.id)

    @app_commands.command(name="shout", description="Renamed below to an invalid name")
    async def shout(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("!")

    # discord.py validates names locally, so bypass that check to reach the server.
    shout.name = "Shout"
    env.bot.tree.add_command(shout, guild=target)
    with pytest.raises(app_commands.CommandSyncFailure):
        await env.bot.tree.sync(guild=target)
    assert [v.kind for v in st.violations] == ["invalid_command"]
    assert st.registered_commands(w.guild) == []


async def test_autocomplete_choices_are_validated(env: Env) -> None:
    """Autocomplete results go through; more than 25 choices are refused."""
    w, st = env.world, env.standin
    handle = await st.send_autocomplete(
        w.guild, w.general, w.alice, "topic", {"name": "com"}, focused="name"
    )
    focused = handle.payload["data"]["options"][0]
    assert focused == {"name": "name", "type": 3, "value": "com", "focused": True}
    assert [c["name"] for c in await handle.choices()] == ["Comet", "Compass"]
    st.assert_no_violations()
    handle = await st.send_autocomplete(
        w.guild, w.general, w.alice, "topic", {"name": ""}, focused="name"
    )
    rejected = await handle.rejection()
    assert rejected.status == 400
    assert rejected.response["errors"]["data"]["choices"]["_errors"][0]["code"] == (
        "BASE_TYPE_MAX_LENGTH"
    )


async def test_reconnect_drop_and_invalidate_keep_the_bot_answering(env: Env) -> None:
    """Op 7, a dropped socket and op 9 all end with the bot connected and answering."""
    w, st = env.world, env.standin

    async def ping_ok() -> None:
        handle = await st.send_interaction(w.guild, w.general, w.alice, "ping")
        assert (await handle.response())["data"]["content"] == "pong"

    await st.request_reconnect()
    await st.wait_resumed(count=1)
    await ping_ok()

    # Abort the TCP stream, and inject an interaction while the bot is away: RESUME replays it.
    await st.drop_connection()
    handle = await st.send_interaction(w.guild, w.general, w.bob, "ping")
    await st.wait_resumed(count=2)
    assert (await handle.response())["data"]["content"] == "pong"
    resumed_on = [c.path for c in st.gateway.connections]
    assert resumed_on[0] == "/gateway" and set(resumed_on[1:]) == {"/gateway/resume"}

    await st.invalidate_session(resumable=True)
    await st.wait_resumed(count=3)
    await ping_ok()

    await st.invalidate_session(resumable=False)
    await st.wait_ready(count=2)
    await env.bot.wait_until_ready()
    await ping_ok()
    assert st.ready_count == 2
    st.assert_no_violations()


async def test_rate_limited_callback_is_retried(env: Env) -> None:
    """A 429 on the callback route is slept off and retried by discord.py."""
    w, st = env.world, env.standin
    rule = st.fail_next("/callback", status=429, retry_after=0.1)
    handle = await st.send_interaction(w.guild, w.general, w.alice, "ping")
    assert (await handle.response())["data"]["content"] == "pong"
    statuses = [c.status for c in st.calls_to("POST", "/callback")]
    assert statuses == [429, 200]
    limited = rule.hits[0]
    assert limited.response["retry_after"] == 0.1 and limited.fault_injected
    headers = limited.response_headers
    assert headers["Retry-After"] == "1" and headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Bucket" in headers
    st.assert_no_violations()


async def test_unknown_routes_are_recorded(env: Env) -> None:
    """Routes the stand-in lacks answer 404 like Discord and are reported."""
    import discord

    w, st = env.world, env.standin
    channel = env.bot.get_channel(w.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.NotFound):
        await channel.create_invite()
    [call] = st.unknown_routes
    assert call.path == f"/channels/{w.general.id}/invites"
    assert call.response == {"message": "404: Not Found", "code": 0}


async def test_zlib_transport_compression() -> None:
    """With real zlib-stream frames the bot still connects and answers."""

    async with StandIn(transport_compression=True) as st:
        world = build_world(st)
        async with running_bot(st, make_bot(Observed())):
            handle = await st.send_interaction(world.guild, world.general, world.alice, "ping")
            assert (await handle.response())["data"]["content"] == "pong"
        assert st.gateway.connections[0].compressor is not None
        st.assert_no_violations()


# --------------------------------------------------------------------------- raw protocol
# These talk to the stand-in with plain aiohttp, so the protocol itself is pinned down
# independently of how discord.py happens to use it.

RAW_QUERY = "?v=10&encoding=json"


async def _raw_identify(
    http: aiohttp.ClientSession, st: StandIn, intents: int
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    """Connect, check HELLO/heartbeat, IDENTIFY and return the socket and READY."""
    ws = await http.ws_connect(st.gateway_url + RAW_QUERY)
    hello = await ws.receive_json(timeout=2)
    assert hello == {
        "op": 10,
        "d": {"heartbeat_interval": 41250, "_trace": hello["d"]["_trace"]},
        "s": None,
        "t": None,
    }
    await ws.send_json({"op": 1, "d": None})
    assert (await ws.receive_json(timeout=2))["op"] == 11
    identify = {"token": st.token, "intents": intents, "properties": {"os": "linux"}}
    await ws.send_json({"op": 2, "d": identify})
    ready = await ws.receive_json(timeout=2)
    return ws, ready


async def test_raw_gateway_protocol(standin: StandIn) -> None:
    """HELLO, IDENTIFY/READY, GUILD_CREATE shape, content intent, RESUME replay, bad resume."""
    st = standin
    w = build_world(st)
    intents = Intents.GUILDS | Intents.GUILD_MESSAGES
    async with aiohttp.ClientSession() as http:
        ws, ready = await _raw_identify(http, st, intents)
        assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
        d = ready["d"]
        assert d["v"] == 10 and d["user"]["bot"] is True
        assert d["guilds"] == [{"id": str(w.guild.id), "unavailable": True}]
        assert d["application"] == {"id": str(st.application_id), "flags": st.application_flags}
        created = await ws.receive_json(timeout=2)
        assert (created["t"], created["s"]) == ("GUILD_CREATE", 2)
        g = created["d"]
        assert g["member_count"] == 4 and g["owner_id"] == str(w.guild.owner.id)
        # Without GUILD_PRESENCES only the bot's own member is inlined.
        assert [m["user"]["id"] for m in g["members"]] == [str(st.bot_user.id)]
        by_name = {c["name"]: c for c in g["channels"]}
        assert by_name["Books"]["type"] == 4
        assert by_name["general"]["type"] == 0
        assert by_name["general"]["parent_id"] == str(w.books.id)
        assert {o["id"] for o in by_name["spoilers"]["permission_overwrites"]} == {
            str(w.guild.id),
            str(w.keeper.id),
            str(w.bob.user.id),
        }
        [thread] = g["threads"]
        assert thread["type"] == 11 and thread["parent_id"] == str(w.general.id)
        assert {r["name"] for r in g["roles"]} == {"@everyone", "Lore Keeper", st.bot_user.username}

        # No MESSAGE_CONTENT intent: content is blanked unless the bot is mentioned.
        await st.send_message(w.guild, w.general, w.alice, "the ending is a twist")
        plain = await ws.receive_json(timeout=2)
        assert (plain["t"], plain["s"], plain["d"]["content"]) == ("MESSAGE_CREATE", 3, "")
        assert plain["d"]["member"]["roles"] == [str(w.keeper.id)]
        await st.send_message(w.guild, w.general, w.alice, f"{st.bot_user.mention} hi")
        mentioned = await ws.receive_json(timeout=2)
        assert mentioned["d"]["content"].endswith(" hi") and mentioned["s"] == 4

        # Disconnect resumably, miss an event, RESUME on resume_gateway_url: it is replayed.
        await ws.close(code=4000)
        await st.wait_for(lambda: st.gateway.live_connection is None, what="disconnect")
        await st.send_message(w.guild, w.general, w.bob, f"{st.bot_user.mention} while away")
        ws = await http.ws_connect(d["resume_gateway_url"] + RAW_QUERY)
        assert (await ws.receive_json(timeout=2))["op"] == 10
        resume = {"token": st.token, "session_id": d["session_id"], "seq": 4}
        await ws.send_json({"op": 6, "d": resume})
        replayed = await ws.receive_json(timeout=2)
        assert (replayed["t"], replayed["s"]) == ("MESSAGE_CREATE", 5)
        resumed = await ws.receive_json(timeout=2)
        assert (resumed["t"], resumed["s"]) == ("RESUMED", 6)

        # A clean 1000 close ends the session; resuming it gets op 9 d=false.
        await ws.close(code=1000)
        await st.wait_for(lambda: st.gateway.live_connection is None, what="disconnect")
        ws = await http.ws_connect(st.gateway_url + RAW_QUERY)
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": 6, "d": resume})
        assert await ws.receive_json(timeout=2) == {"op": 9, "d": False, "s": None, "t": None}
        await ws.close()

        # A wrong token closes with 4004.
        ws = await http.ws_connect(st.gateway_url + RAW_QUERY)
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 1, "properties": {}}})
        closing = await ws.receive(timeout=2)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4004
        await ws.close()


async def test_raw_interaction_rules() -> None:
    """Callback types, double ack, follow-up window and token expiry, checked over raw HTTP."""
    async with StandIn(interaction_token_ttl=0.5) as st:
        w = build_world(st)
        async with aiohttp.ClientSession() as http:
            ws, _ = await _raw_identify(http, st, Intents.GUILDS)
            await ws.receive_json(timeout=2)  # GUILD_CREATE
            handle = await st.send_interaction(
                w.guild, w.thread, w.alice, "topic", {"name": "Comet"}
            )
            event = await ws.receive_json(timeout=2)
            assert event["t"] == "INTERACTION_CREATE"
            i = event["d"]
            assert i["data"]["options"] == [{"name": "name", "type": 3, "value": "Comet"}]
            assert i["channel"]["type"] == 11 and i["channel"]["parent_id"] == str(w.general.id)
            assert i["member"]["user"]["id"] == str(w.alice.user.id)
            assert i["authorizing_integration_owners"] == {"0": str(w.guild.id)}
            assert (i["version"], i["context"], i["guild_locale"]) == (1, 0, "en-US")

            callback = f"{st.api_base}/interactions/{i['id']}/{i['token']}/callback"
            followup = f"{st.api_base}/webhooks/{i['application_id']}/{i['token']}"

            async def post(url: str, body: Any) -> tuple[int, Any]:
                async with http.post(url, json=body) as resp:
                    ctype = resp.headers.get("Content-Type")
                    data = await resp.json(content_type=None) if resp.status != 204 else None
                    assert resp.status == 204 or ctype == "application/json"
                    return resp.status, data

            status, body = await post(followup + "?wait=true", {"content": "early"})
            assert (status, body["code"]) == (404, 10015)
            status, body = await post(callback, {"type": 8, "data": {"choices": []}})
            assert (status, body["code"]) == (400, 50035) and "type" in body["errors"]
            status, body = await post(callback, {"type": 4, "data": {}})
            assert (status, body["code"]) == (400, 50006)
            assert await post(callback, {"type": 4, "data": {"content": "Comet!"}}) == (204, None)
            status, body = await post(callback, {"type": 4, "data": {"content": "again"}})
            assert (status, body["code"]) == (400, 40060)
            status, body = await post(followup + "?wait=true", {"content": "more", "flags": 64})
            assert status == 200 and body["flags"] == 64 and body["webhook_id"]
            assert [m["content"] for m in await handle.followups()] == ["more"]

            await asyncio.sleep(0.6)
            status, body = await post(followup + "?wait=true", {"content": "too late"})
            assert (status, body["code"]) == (401, 50027)
            kinds = [v.kind for v in st.violations]
            assert kinds == [
                "followup_before_response",
                "invalid_callback_type",
                "empty_message",
                "already_acknowledged",
                "expired_token",
            ]
            await ws.close()


async def test_raw_rest_rules(standin: StandIn) -> None:
    """Auth, channel permissions, content limits and command registration validation."""
    st = standin
    w = build_world(st)
    auth = {"Authorization": f"Bot {st.token}"}
    app = f"{st.api_base}/applications/{st.application_id}"
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
            url = path if path.startswith("http") else st.api_base + path
            async with http.request(method, url, json=body, **kw) as resp:
                data = await resp.json(content_type=None) if resp.status != 204 else None
                return resp.status, data

        status, body = await call("GET", "/users/@me")
        assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
        status, body = await call("GET", "/users/@me", headers=auth)
        assert status == 200 and body["id"] == str(st.bot_user.id)

        msgs = f"/channels/{w.general.id}/messages"
        status, body = await call("POST", msgs, {"content": "x" * 2001}, headers=auth)
        assert (status, body["code"]) == (400, 50035)
        assert "content" in body["errors"]
        status, body = await call("POST", msgs, {"content": "hello"}, headers=auth)
        assert status == 200 and body["content"] == "hello" and body["type"] == 0
        # The bot's managed role cannot manage messages, so it cannot delete Alice's.
        sent = await st.send_message(w.guild, w.general, w.alice, "mine")
        status, body = await call("DELETE", f"{msgs}/{sent.id}", headers=auth)
        assert (status, body["code"]) == (403, 50013)
        hidden = w.guild.add_text_channel(
            "staff",
            overwrites=[Overwrite.for_role(w.guild.default_role, deny=Permission.VIEW_CHANNEL)],
        )
        status, body = await call(
            "POST", f"/channels/{hidden.id}/messages", {"content": "hi"}, headers=auth
        )
        assert (status, body["code"]) == (403, 50001)

        option = {"type": 3, "name": "q", "description": "question"}
        bad = [
            {"name": "Ask", "description": "Upper case", "type": 1},
            {"name": "long", "description": "d" * 101, "type": 1},
            {
                "name": "many",
                "description": "Too many options",
                "options": [{**option, "name": f"o{i}"} for i in range(26)],
            },
            {
                "name": "order",
                "description": "Required after optional",
                "options": [
                    {**option, "name": "a", "required": False},
                    {**option, "name": "b", "required": True},
                ],
            },
            {
                "name": "choices",
                "description": "Too many choices",
                "options": [
                    {**option, "choices": [{"name": f"c{i}", "value": f"v{i}"} for i in range(26)]}
                ],
            },
        ]
        guild_cmds = f"{app}/guilds/{w.guild.id}/commands"
        status, body = await call("PUT", guild_cmds, bad, headers=auth)
        assert (status, body["code"]) == (400, 50035)
        errors = body["errors"]
        assert errors["0"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
        assert errors["1"]["description"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
        assert errors["2"]["options"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        assert "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID" in str(errors["3"])
        assert errors["4"]["options"]["0"]["choices"]["_errors"][0]["code"] == (
            "BASE_TYPE_MAX_LENGTH"
        )

        good = [{"name": "ask", "description": "Ask the archive", "options": [option]}]
        status, first = await call("PUT", guild_cmds, good, headers=auth)
        assert status == 200 and first[0]["guild_id"] == str(w.guild.id)
        status, again = await call("PUT", guild_cmds, good, headers=auth)
        assert again[0]["id"] == first[0]["id"] and again[0]["version"] != first[0]["version"]
        status, listed = await call("GET", guild_cmds, headers=auth)
        assert [c["name"] for c in listed] == ["ask"]
        status, body = await call("GET", "/nowhere", headers=auth)
        assert (status, body) == (404, {"message": "404: Not Found", "code": 0})

        # Multipart: payload_json is parsed into call.json and files become attachments.
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", '{"content": "map", "attachments": [{"id": 0}]}')
        form.add_field("files[0]", b"PNGDATA", filename="map.png", content_type="image/png")
        async with http.post(st.api_base + msgs, data=form, headers=auth) as resp:
            assert resp.status == 200
            sent_file = await resp.json()
        upload = st.calls[-1]
        assert upload.json["content"] == "map" and upload.files[0].filename == "map.png"
        [attachment] = sent_file["attachments"]
        async with http.get(attachment["url"]) as resp:
            assert await resp.read() == b"PNGDATA"

        # Injected faults, matched by predicate: one 500, then normal service.
        rule = st.fail_next(lambda c: c.path == "/gateway/bot", status=500)
        assert (await call("GET", "/gateway/bot", headers=auth))[0] == 500
        status, body = await call("GET", "/gateway/bot", headers=auth)
        assert status == 200 and body["url"] == st.gateway_url and rule.exhausted
