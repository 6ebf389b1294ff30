"""The real bot, unmodified, against the loopback Discord stand-in: commands and behaviour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import open_bot
from tests.quality import hidden_part, plain_part

from .standin import Channel, StandIn, Thread, running_bot
from .world import (
    ENDING_FACT,
    ENDING_QUESTION,
    EPHEMERAL,
    WORK,
    Env,
    build_world,
    content,
    flags,
    settings_for,
)

# ---------------------------------------------------------------------------------- /ask


async def test_ask_follows_the_channel_level(env: Env) -> None:
    w = env.world
    body = await env.ask(w.general, ENDING_QUESTION)
    text = content(body)
    assert ENDING_FACT.answer not in plain_part(text)
    assert ENDING_FACT.answer in hidden_part(text)
    assert "Ending" in plain_part(text)
    assert flags(body) & EPHEMERAL == 0
    assert body["data"]["allowed_mentions"] == {"parse": []}

    await env.spoilers("set", w.owner, w.general, level="ending")
    assert content(await env.ask(w.general, ENDING_QUESTION)) == ENDING_FACT.answer


async def test_ask_private_uses_the_askers_own_level(env: Env) -> None:
    w = env.world
    body = await env.spoilers("me", w.fan, level="ending")
    assert flags(body) & EPHEMERAL
    private = await env.ask(w.general, ENDING_QUESTION, private=True)
    assert flags(private) & EPHEMERAL
    assert content(private) == ENDING_FACT.answer
    # Public answers still follow the channel, and other people get their channel's level.
    assert "||" in content(await env.ask(w.general, ENDING_QUESTION))
    assert "||" in content(await env.ask(w.general, ENDING_QUESTION, w.mod, private=True))


async def test_unknown_question_is_declined_with_safe_suggestions(env: Env) -> None:
    text = content(await env.ask(env.world.general, "who directed inception"))
    assert text.startswith("I don't know")
    late = [f for f in WORK.facts if f.tier.index > 0]
    assert not [f.id for f in late if f.questions[0].casefold() in text.casefold()]


async def test_question_with_mentions_pings_nobody(env: Env) -> None:
    w = env.world
    body = await env.ask(w.general, f"@everyone <@{w.mod.user.id}> <@&{w.guild.id}> ||x|| hi")
    assert body["data"]["allowed_mentions"] == {"parse": []}
    text = content(body)
    assert "@everyone" not in text and f"<@{w.mod.user.id}>" not in text
    assert text.count("||") % 2 == 0


async def test_autocomplete_only_offers_questions_within_the_level(env: Env) -> None:
    w, st = env.world, env.standin

    async def choices(channel: Channel, text: str) -> list[str]:
        handle = await st.send_autocomplete(
            w.guild, channel, w.fan, "ask", {"question": text}, focused="question"
        )
        return [c["name"] for c in await handle.choices()]

    def tiers_of(names: list[str]) -> set[str]:
        from bot.core.matcher import display_question

        by_display = {display_question(f): f.tier.id for f in WORK.facts}
        return {by_display[n] for n in names}

    await env.spoilers("set", w.owner, w.theories, level="setup")
    low = await choices(w.general, "")
    assert low and tiers_of(low) == {"premise"}
    for typed in ("flowers", "does she survive", "jay"):
        got = await choices(w.theories, typed)
        assert 0 < len(got) <= 25 and all(1 <= len(n) <= 100 for n in got)
        assert tiers_of(got) <= {"premise", "setup"}
    assert "ending" in tiers_of(await choices(w.spoilers, "does she survive"))


async def test_summary_hides_later_parts(env: Env) -> None:
    w, st = env.world, env.standin
    handle = await st.send_interaction(w.guild, w.general, w.fan, "summary", {"through": "mars"})
    body = await handle.response()
    expected = env.bot.engine.summary(WORK.safest, WORK.tier("mars"))
    followups = await handle.followups(count=len(expected) - 1) if len(expected) > 1 else []
    texts = [content(body)] + [m["content"] for m in followups]
    assert texts == expected
    joined = "\n".join(texts)
    assert WORK.summaries["premise"] in plain_part(joined)
    assert WORK.summaries["mars"] in hidden_part(joined)
    assert WORK.summaries["ending"] not in joined
    assert all(len(t) <= 2000 for t in texts)


# ------------------------------------------------------------------------------ mentions


async def test_mention_is_answered_without_pinging(env: Env) -> None:
    w, st = env.world, env.standin
    sent = await st.send_message(
        w.guild, w.general, w.fan, f"<@{st.bot_user.id}> who voices jay @everyone"
    )
    reply = await sent.reply()
    assert "Hong Kyung" in reply.content
    assert reply.allowed_mentions == {"parse": [], "replied_user": False}
    assert reply.message_reference["message_id"] == str(sent.id)


async def test_mention_follows_the_level_and_help(env: Env) -> None:
    w, st = env.world, env.standin
    sent = await st.send_message(w.guild, w.thread, w.fan, f"<@{st.bot_user.id}> {ENDING_QUESTION}")
    reply = await sent.reply()
    assert ENDING_FACT.answer in hidden_part(reply.content)
    assert ENDING_FACT.answer not in plain_part(reply.content)
    usage = await (await st.send_message(w.guild, w.general, w.fan, f"<@{st.bot_user.id}>")).reply()
    assert "/ask" in usage.content
    usage = await (
        await st.send_message(w.guild, w.general, w.fan, f"<@{st.bot_user.id}> help")
    ).reply()
    assert "/ask" in usage.content


async def test_messages_without_mention_are_ignored(env: Env) -> None:
    w, st = env.world, env.standin
    await st.send_message(w.guild, w.general, w.fan, "who voices jay")
    sent = await st.send_message(w.guild, w.general, w.fan, f"<@{st.bot_user.id}> who voices jay")
    await sent.reply()
    assert len(st.bot_messages(w.general)) == 1


# ------------------------------------------------------------------------------ /spoilers


async def test_set_needs_manage_channels_in_that_channel(env: Env) -> None:
    w = env.world
    refused = await env.spoilers("set", w.mod, w.general, level="ending")
    assert flags(refused) & EPHEMERAL and "Manage Channels" in content(refused)
    refused = await env.spoilers("set", w.fan, w.general, level="ending", channel=w.theories)
    assert "Manage Channels" in content(refused)
    assert await env.bot.store.levels(w.guild.id, [w.general.id, w.theories.id]) == {}

    # The same moderator may change #theories, from any channel.
    done = await env.spoilers("set", w.mod, w.general, level="mars", channel=w.theories)
    assert "now **On Mars**" in content(done)
    assert await env.bot.store.levels(w.guild.id, [w.theories.id]) == {w.theories.id: "mars"}


async def test_server_default_needs_manage_server(env: Env) -> None:
    w = env.world
    refused = await env.spoilers("server", w.mod, level="ending")
    assert "Manage Server" in content(refused)
    await env.spoilers("server", w.owner, level="departure")
    shown = content(await env.spoilers("show", w.fan, w.general))
    assert "**Departure**" in shown and "server default" in shown


async def test_inheritance_thread_channel_category_server(env: Env) -> None:
    w = env.world

    async def shown(place: Channel | Thread) -> str:
        return content(await env.spoilers("show", w.fan, place)).split("\n")[0]

    assert "**Premise**" in await shown(w.thread) and "default" in await shown(w.thread)
    await env.spoilers("server", w.owner, level="setup")
    assert "**Seoul**" in await shown(w.thread)
    await env.spoilers("set", w.owner, level="departure", channel=w.general)
    line = await shown(w.thread)
    assert "**Departure**" in line and "inherited from the channel #general" in line
    await env.spoilers("set", w.owner, w.thread, level="mars")
    assert "**On Mars**" in await shown(w.thread) and "set here" in await shown(w.thread)
    await env.spoilers("reset", w.owner, w.thread)
    await env.spoilers("reset", w.owner, w.general)
    assert "**Seoul**" in await shown(w.thread)
    # A category level reaches its channels.
    await env.spoilers("set", w.owner, level="mars", channel=w.films)
    assert "inherited from the category Films" in await shown(w.thread)


async def test_spoiler_channel_counts_as_top_unless_set_lower(env: Env) -> None:
    w = env.world
    assert content(await env.ask(w.spoilers, ENDING_QUESTION)) == ENDING_FACT.answer
    await env.spoilers("set", w.owner, w.spoilers, level="setup")
    assert "||" in content(await env.ask(w.spoilers, ENDING_QUESTION))


async def test_tier_options_are_the_works_tiers(env: Env) -> None:
    synced = await env.bot.tree.sync(guild=None)
    names = sorted(c.name for c in synced)
    assert names == ["ask", "facts", "spoilers", "summary"]
    registered = {c["name"]: c for c in env.standin.registered_commands()}
    spoilers = {o["name"]: o for o in registered["spoilers"]["options"]}
    assert set(spoilers) == {"show", "set", "server", "reset", "me"}
    level = next(o for o in spoilers["set"]["options"] if o["name"] == "level")
    assert [c["value"] for c in level["choices"]] == [t.id for t in WORK.tiers]
    assert all(t.label in c["name"] for c, t in zip(level["choices"], WORK.tiers, strict=True))


# ------------------------------------------------------------------- cooldown and errors


async def test_cooldown_per_user(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    bot = await open_bot(settings_for(standin, tmp_path, cooldown_rate=2), guild_ready_timeout=0.05)
    try:
        async with running_bot(standin, bot):
            env = Env(standin, w, bot, bot.settings)
            for _ in range(2):
                assert "Hong Kyung" in content(await env.ask(w.general, "who voices jay"))
            note = await env.ask(w.general, "who voices jay")
            assert flags(note) & EPHEMERAL and "Try again" in content(note)
            # Someone else is not held back by the first person's pace.
            assert "Hong Kyung" in content(await env.ask(w.general, "who voices jay", w.mod))
    finally:
        await bot.store.close()


async def test_error_in_command_gives_a_private_apology(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    w = env.world
    await env.bot.store.close()  # every command touching storage now fails
    body = await env.spoilers("show", w.fan)
    assert flags(body) & EPHEMERAL and "Sorry" in content(body)
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    # The bot is still up: commands that need no storage still work.
    handle = await env.standin.send_autocomplete(
        w.guild, w.general, w.fan, "ask", {"question": "jay"}, focused="question"
    )
    assert await handle.choices() is not None


# ------------------------------------------------------------------------- persistence


async def test_settings_survive_a_restart(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    settings = settings_for(standin, tmp_path)
    for round_ in range(2):
        bot = await open_bot(settings, guild_ready_timeout=0.05)
        try:
            async with running_bot(standin, bot):
                env = Env(standin, w, bot, settings)
                if round_ == 0:
                    await env.spoilers("set", w.owner, w.general, level="ending")
                    await env.spoilers("me", w.fan, level="mars")
                else:
                    assert content(await env.ask(w.general, ENDING_QUESTION)) == ENDING_FACT.answer
                    shown = content(await env.spoilers("show", w.fan))
                    assert "Your own level: **On Mars**" in shown
        finally:
            await bot.store.close()
    standin.assert_no_violations()


# ------------------------------------------------------------------------- Q&A channels


async def test_qa_channel_answers_every_message_it_can(standin: StandIn, tmp_path: Path) -> None:
    w = build_world(standin)
    settings = settings_for(standin, tmp_path, qa_channels=frozenset({w.theories.id}))
    bot = await open_bot(settings, guild_ready_timeout=0.05)
    try:
        async with running_bot(standin, bot):
            sent = await standin.send_message(w.guild, w.theories, w.fan, "who voices jay")
            assert "Hong Kyung" in (await sent.reply()).content
            await standin.send_message(w.guild, w.theories, w.fan, "lol same")
            await standin.send_message(w.guild, w.general, w.fan, "who voices jay")
            sent = await standin.send_message(w.guild, w.theories, w.fan, "who directed it")
            assert "Han Ji-won" in (await sent.reply()).content
            assert len(standin.bot_messages()) == 2
    finally:
        await bot.store.close()


def test_usage_text_mentions_no_one() -> None:
    # The usage text is the one message with markup written by hand: keep it ping-free.
    from bot.cogs.lore import USAGE

    assert not re.search(r"@(everyone|here)|<@", USAGE)


async def test_works_without_privileged_intents(tmp_path: Path) -> None:
    from .standin import Intents

    # An application with no privileged intent enabled: asking for one closes the gateway (4014).
    async with StandIn(enabled_privileged_intents=Intents(0)) as standin:
        w = build_world(standin)
        bot = await open_bot(settings_for(standin, tmp_path), guild_ready_timeout=0.05)
        try:
            async with running_bot(standin, bot):
                sent = await standin.send_message(
                    w.guild, w.general, w.fan, f"<@{standin.bot_user.id}> who voices jay"
                )
                assert "Hong Kyung" in (await sent.reply()).content
                assert "Hong Kyung" in content(
                    await Env(standin, w, bot, bot.settings).ask(w.general, "who voices jay")
                )
        finally:
            await bot.store.close()
        standin.assert_no_violations()
    assert not bot.intents.message_content and not bot.intents.members
