"""The real bot on the stand-in: adversarial questions, Discord faults and a slow database.

The property tests are plain `@given` functions: hypothesis drives them synchronously, so the
stand-in and the bot live in one event loop in a background thread (the `live` fixture) and each
example submits coroutines to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import discord.gateway
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import LoreBot, open_bot
from bot.cogs.lore import MAX_SLASH_QUESTION, USAGE
from bot.core.matcher import display_question
from bot.core.model import Tier
from tests.core.test_fuzz_engine import questions, repeat_to, revealed
from tests.e2e.world import (
    ENDING_QUESTION,
    EPHEMERAL,
    WORK,
    Env,
    World,
    build_world,
    content,
    settings_for,
)

from .standin import BotMessage, CallbackType, Channel, StandIn, Thread, running_bot

T = TypeVar("T")
APOLOGY = "Sorry, something went wrong"
DEADLINE = 3.0  # seconds Discord gives an interaction for its first response
VOICE_OF_JAY = "Hong Kyung"
PLACES = ("general", "theories", "spoilers", "thread")


class LoopThread:
    """An event loop running in a daemon thread; `run` waits for a coroutine submitted to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run `coro` on the loop and return its result (cancelled if it takes too long)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Cancel what is left, stop the loop and join the thread."""

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        self.run(cancel_rest(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ErrorLog(logging.Handler):
    """Collects ERROR records from any logger, logged on one thread (the bot's loop)."""

    def __init__(self, thread: threading.Thread) -> None:
        super().__init__(logging.ERROR)
        self.thread = thread
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Other tests of the module run their own bots on the main thread: not ours to judge.
        if record.thread == self.thread.ident:
            self.records.append(record)

    def take(self) -> list[str]:
        """The messages logged since the last call, then forget them."""
        taken, self.records = self.records, []
        return [f"{r.name}: {r.getMessage()}" for r in taken]


@dataclass
class Live:
    """The stand-in, its world and the running bot, all on `loop`."""

    loop: LoopThread
    standin: StandIn
    world: World
    bot: LoreBot
    errors: ErrorLog

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the bot's loop and return its result."""
        return self.loop.run(coro)

    def place(self, name: str) -> Channel | Thread:
        """A channel or thread of the world by attribute name."""
        return getattr(self.world, name)

    async def set_level(self, place: Channel | Thread, tier: Tier) -> None:
        """Set the level where the question is asked (on the thread's parent for the thread)."""
        channel = self.world.general if isinstance(place, Thread) else place
        await self.bot.store.set_level(self.world.guild.id, channel.id, "channel", tier.id, 1)

    def new_bot_messages(self, before: set[int]) -> list[BotMessage]:
        """Messages the bot created since `before` (a set of message ids), oldest first."""
        return [m for m in self.standin.bot_messages() if m.id not in before]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One stand-in and one bot for every property example of this module."""
    loop = LoopThread()
    errors = ErrorLog(loop.thread)
    logging.getLogger().addHandler(errors)
    stack = contextlib.AsyncExitStack()

    async def start() -> Live:
        standin = await stack.enter_async_context(StandIn())
        world = build_world(standin)
        # Examples ask hundreds of questions as one person: the cooldown is not under test here.
        settings_ = settings_for(standin, tmp_path_factory.mktemp("live"), cooldown_rate=10**6)
        bot = await open_bot(settings_, guild_ready_timeout=0.05)
        stack.push_async_callback(bot.store.close)
        await stack.enter_async_context(running_bot(standin, bot))
        return Live(loop, standin, world, bot, errors)

    try:
        state = loop.run(start())
        yield state
        state.standin.assert_no_violations()
    finally:
        loop.run(stack.aclose())
        logging.getLogger().removeHandler(errors)
        loop.close()


def sent_mentions(message: BotMessage) -> dict[str, Any] | None:
    """The allowed_mentions the bot sent with a message (an interaction callback nests it)."""
    body = message.call.json if message.call is not None else None
    if isinstance(body, dict) and "type" in body and isinstance(body.get("data"), dict):
        body = body["data"]
    return body.get("allowed_mentions") if isinstance(body, dict) else None


def check_sent(messages: list[BotMessage], level: Tier, asked: str, live: Live) -> None:
    """Everything the bot sent for one question: Discord-valid, ping-free, spoiler-safe."""
    assert messages, "the bot sent nothing"
    for message in messages:
        text = message.content
        assert 0 < len(text) <= 2000, len(text)
        assert text.count("||") % 2 == 0, text
        assert APOLOGY not in text
        allowed = sent_mentions(message)
        assert allowed is not None and allowed.get("parse") == [], allowed
        assert not allowed.get("users") and not allowed.get("roles"), allowed
        if message.message_reference is not None:
            assert allowed.get("replied_user") is False, allowed
        payload = message.payload
        assert payload["mentions"] == [] and payload["mention_roles"] == []
        assert payload["mention_everyone"] is False
    assert revealed([m.content for m in messages], level, asked) == []
    assert live.errors.take() == []


def real_mentions(world: World, standin: StandIn) -> list[str]:
    """Mentions of this world's people, roles and channels, and of the bot itself."""
    roles = [r.id for r in world.guild.roles]
    return [
        "@everyone",
        "@here",
        f"<@{world.mod.user.id}>",
        f"<@!{world.owner.user.id}>",
        f"<@{standin.bot_user.id}>",
        *(f"<@&{r}>" for r in roles),
        f"<#{world.theories.id}>",
    ]


PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LEVELS = st.integers(0, len(WORK.tiers) - 1)
WHERE = st.sampled_from(PLACES)


# ---------------------------------------------------------------- questions, any level


@PROPERTY
@given(
    question=questions(),
    level_index=LEVELS,
    where=WHERE,
    own_index=st.none() | LEVELS,
    extra=st.data(),
)
def test_ask_any_question_at_any_level(
    live: Live,
    question: str,
    level_index: int,
    where: str,
    own_index: int | None,
    extra: st.DataObject,
) -> None:
    w, standin, bot = live.world, live.standin, live.bot
    mention = extra.draw(st.sampled_from(real_mentions(w, standin)))
    private = extra.draw(st.booleans())
    # Discord keeps the option to the length the command declares.
    asked = f"{mention} {question}"[:MAX_SLASH_QUESTION]
    tiers = bot.engine.work.tiers
    # A private answer follows the asker's own level when they set one.
    level = tiers[own_index if private and own_index is not None else level_index]
    place = live.place(where)

    async def ask() -> list[BotMessage]:
        await live.set_level(place, tiers[level_index])
        await set_own_level(live, own_index)
        before = set(standin.messages)
        handle = await standin.send_interaction(
            w.guild, place, w.fan, "ask", {"question": asked, "private": private}
        )
        body = await handle.response()
        assert bool((body["data"].get("flags") or 0) & EPHEMERAL) == private
        expected = bot.engine.answer(asked, level).messages
        if len(expected) > 1:
            await handle.followups(count=len(expected) - 1)
        sent = live.new_bot_messages(before)
        assert [m.content for m in sent] == expected
        assert (handle.state.responded_at or 0) - handle.state.created_at < DEADLINE
        return sent

    check_sent(live.run(ask()), level, asked, live)
    standin.assert_no_violations()


async def set_own_level(live: Live, own_index: int | None) -> None:
    """Record (or clear) how far the asker has watched."""
    user_id = live.world.fan.user.id
    if own_index is None:
        await live.bot.store.clear_user_level(user_id)
    else:
        await live.bot.store.set_user_level(user_id, live.bot.engine.work.tiers[own_index].id)


@PROPERTY
@given(question=questions(), level_index=LEVELS, where=WHERE, extra=st.data())
def test_mention_any_question_at_any_level(
    live: Live, question: str, level_index: int, where: str, extra: st.DataObject
) -> None:
    w, standin, bot = live.world, live.standin, live.bot
    mention = extra.draw(st.sampled_from(real_mentions(w, standin)))
    me = f"<@{standin.bot_user.id}>"
    text = f"{me} {mention} {question}"[:4000]
    level = bot.engine.work.tiers[level_index]
    place = live.place(where)
    # What the bot reads as the question: the message without its mentions of the bot.
    asked = re.sub(rf"<@!?{standin.bot_user.id}>", " ", text).strip()
    if not asked or asked.casefold() in ("help", "?", "hi", "hello"):
        expected = [USAGE.format(title=bot.engine.work.title)]
    else:
        expected = bot.engine.answer(asked, level).messages

    async def mention_bot() -> list[BotMessage]:
        await live.set_level(place, level)
        before = set(standin.messages)
        sent = await standin.send_message(w.guild, place, w.fan, text)

        def replies() -> list[BotMessage]:
            return [
                m
                for m in live.new_bot_messages(before)
                if (m.message_reference or {}).get("message_id") == str(sent.id)
            ]

        await standin.wait_for(lambda: len(replies()) >= len(expected), what="the replies")
        # Nothing but the replies: no apology, no stray message.
        assert len(live.new_bot_messages(before)) == len(expected)
        return replies()

    sent = live.run(mention_bot())
    assert [m.content for m in sent] == expected
    check_sent(sent, level, asked, live)
    standin.assert_no_violations()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(level_index=LEVELS, through=st.none() | LEVELS, where=WHERE)
def test_summary_at_any_level(
    live: Live, level_index: int, through: int | None, where: str
) -> None:
    w, standin, bot = live.world, live.standin, live.bot
    work = bot.engine.work
    level = work.tiers[level_index]
    options = {} if through is None else {"through": work.tiers[through].id}
    place = live.place(where)

    async def summary() -> list[BotMessage]:
        await live.set_level(place, level)
        before = set(standin.messages)
        handle = await standin.send_interaction(w.guild, place, w.fan, "summary", options)
        await handle.response()
        expected = bot.engine.summary(level, work.tiers[through] if through is not None else None)
        if len(expected) > 1:
            await handle.followups(count=len(expected) - 1)
        sent = live.new_bot_messages(before)
        assert [m.content for m in sent] == expected
        return sent

    check_sent(live.run(summary()), level, "", live)
    standin.assert_no_violations()


@pytest.mark.parametrize("size", [MAX_SLASH_QUESTION + 1, 2000, 6000])
def test_ask_longer_than_the_option_allows_is_handled(live: Live, size: int) -> None:
    # Discord enforces the option's 500 characters; the stand-in does not, so the bot gets it.
    w, standin, bot = live.world, live.standin, live.bot
    asked = repeat_to(f"<@{w.mod.user.id}> @everyone ||x `y` does nan-young survive? ", size)
    level = bot.engine.work.safest

    async def ask() -> list[BotMessage]:
        await live.set_level(w.general, level)
        before = set(standin.messages)
        handle = await standin.send_interaction(
            w.guild, w.general, w.fan, "ask", {"question": asked}
        )
        await handle.response()
        return live.new_bot_messages(before)

    sent = live.run(ask())
    assert [m.content for m in sent] == bot.engine.answer(asked, level).messages
    check_sent(sent, level, asked, live)
    standin.assert_no_violations()


# ---------------------------------------------------------------- autocomplete


@PROPERTY
@given(
    typed=questions(),
    level_index=LEVELS,
    where=WHERE,
    private=st.booleans(),
    own_index=st.none() | LEVELS,
)
def test_autocomplete_within_the_deadline_and_the_level(
    live: Live, typed: str, level_index: int, where: str, private: bool, own_index: int | None
) -> None:
    w, standin, bot = live.world, live.standin, live.bot
    tiers = bot.engine.work.tiers
    level = tiers[level_index]
    place = live.place(where)
    # A private answer follows the asker's own level when they set one.
    effective = tiers[own_index] if private and own_index is not None else level
    shown_tier = {display_question(f): f.tier for f in bot.engine.work.facts}

    async def complete() -> tuple[list[dict[str, Any]], float]:
        await live.set_level(place, level)
        await set_own_level(live, own_index)
        handle = await standin.send_autocomplete(
            w.guild, place, w.fan, "ask", {"question": typed, "private": private}, "question"
        )
        choices = await handle.choices()
        assert handle.state.responded_at is not None
        return choices, handle.state.responded_at - handle.state.created_at

    choices, took = live.run(complete())
    assert took < DEADLINE
    assert 0 < len(choices) <= 25
    for choice in choices:
        assert 1 <= len(choice["name"]) <= 100 and choice["value"] == choice["name"]
        assert shown_tier[choice["name"]].index <= effective.index, (choice, effective.id)
    assert live.errors.take() == []
    standin.assert_no_violations()


# ---------------------------------------------------------------- Discord faults


def bot_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records from the bot's own code (discord.py logs reconnects on its own)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] == "bot"
    ]


async def answers(env: Env, place: Channel | Thread | None = None) -> None:
    """Both ways of asking get the answer."""
    w, standin = env.world, env.standin
    place = place or w.general
    assert VOICE_OF_JAY in content(await env.ask(place, "who voices jay"))
    sent = await standin.send_message(
        w.guild, place, w.fan, f"<@{standin.bot_user.id}> who voices jay"
    )
    assert VOICE_OF_JAY in (await sent.reply()).content


async def test_reconnects_and_invalidated_sessions_keep_the_bot_answering(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    standin = env.standin
    await answers(env)
    await standin.request_reconnect()  # op 7
    await standin.wait_resumed(count=1)
    await answers(env)
    # A dropped TCP stream. (Not a close frame with a resumable code: the stand-in takes the
    # client's 1000 echo of any close frame as a clean close and ends the session.)
    await standin.drop_connection()
    await standin.wait_resumed(count=2)
    await answers(env, env.world.thread)
    await standin.invalidate_session(resumable=True)  # op 9, d=true
    await standin.wait_resumed(count=3)
    await answers(env)
    assert standin.ready_count == 1  # all of these resumed the one session
    await standin.invalidate_session(resumable=False)  # op 9, d=false: a new session
    # discord.py waits 5 s before identifying again, as Discord's identify limit asks.
    await standin.wait_ready(count=2, timeout=15)
    await env.bot.wait_until_ready()
    await answers(env)
    await answers(env, env.world.spoilers)
    assert bot_errors(caplog) == []


async def test_questions_sent_while_disconnected_are_answered_after_resume(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w, standin = env.world, env.standin
    await answers(env)
    # Hold the bot's reconnection until the questions are in the session's backlog.
    gate = asyncio.Event()
    connect = discord.gateway.DiscordWebSocket.from_client

    async def held(cls: type, *args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await connect(*args, **kwargs)

    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "from_client", classmethod(held))
    await standin.drop_connection()  # the TCP stream dies without a close frame
    handle = await standin.send_interaction(
        w.guild, w.general, w.fan, "ask", {"question": "who voices jay"}
    )
    sent = await standin.send_message(
        w.guild, w.theories, w.mod, f"<@{standin.bot_user.id}> who directed it"
    )
    assert standin.gateway.live_connection is None and standin.resume_count == 0
    gate.set()
    await standin.wait_resumed(count=1)
    assert VOICE_OF_JAY in content(await handle.response())
    assert "Han Ji-won" in (await sent.reply()).content
    assert standin.ready_count == 1  # resumed, not re-identified: that is what replays
    assert (handle.state.responded_at or 0) - handle.state.created_at < DEADLINE
    await answers(env)
    assert bot_errors(caplog) == []
    standin.assert_no_violations()


async def test_rate_limits_and_server_errors_are_retried(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    w, standin = env.world, env.standin
    messages = f"POST /channels/{w.general.id}/messages"
    faults = [
        standin.fail_next("/callback", status=429, retry_after=0.3, count=2),
        standin.fail_next(messages, status=429, retry_after=0.3, count=2),
    ]
    await answers(env)
    # A 500 is retried after a second: still within the interaction's three.
    faults += [standin.fail_next("/callback", status=500), standin.fail_next(messages, status=500)]
    await answers(env)
    assert all(f.exhausted for f in faults)
    tries = [c.ok or c.status for c in standin.calls_to("POST", "/callback")]
    assert tries == [429, 429, True, 500, True]
    assert bot_errors(caplog) == []
    standin.assert_no_violations()


@pytest.mark.parametrize("status", [429, 503])
async def test_when_every_retry_fails_the_bot_carries_on(
    env: Env, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    w, standin = env.world, env.standin
    # discord.py tries five times on a 429 (a 503 on a channel route, once): give up each time.
    callback = standin.fail_next("/callback", status=429, retry_after=0.05, count=5)
    handle = await standin.send_interaction(
        w.guild, w.general, w.fan, "ask", {"question": "who voices jay"}
    )
    # The command tree turns the failure into a private apology, once the route works again.
    body = await handle.response()
    assert body["data"]["flags"] & EPHEMERAL and APOLOGY in content(body)
    assert callback.exhausted
    tries = 5 if status == 429 else 1
    reply_route = standin.fail_next(
        f"POST /channels/{w.general.id}/messages", status=status, retry_after=0.05, count=tries
    )
    sent = await standin.send_message(
        w.guild, w.general, w.fan, f"<@{standin.bot_user.id}> who voices jay"
    )
    await standin.wait_for(
        lambda: reply_route.exhausted and all(c.status for c in reply_route.hits)
    )
    assert not [m for m in standin.bot_messages() if m.message_reference and m.id > sent.id]
    # Still connected, still answering.
    await answers(env)
    assert not env.bot.is_closed()
    standin.assert_no_violations()


# ---------------------------------------------------------------- a slow database


def slow(call: Callable[..., Awaitable[T]], seconds: float = 2.5) -> Callable[..., Awaitable[T]]:
    """`call`, after a wait: a database on a busy disk or behind a lock."""

    async def slowly(*args: Any, **kwargs: Any) -> T:
        await asyncio.sleep(seconds)
        return await call(*args, **kwargs)

    return slowly


async def test_slow_database_defers_then_answers(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w, standin, bot = env.world, env.standin, env.bot
    store = bot.store
    monkeypatch.setattr(store, "levels", slow(store.levels))
    monkeypatch.setattr(store, "user_level", slow(store.user_level))
    work = bot.engine.work
    ask = await standin.send_interaction(
        w.guild, w.general, w.fan, "ask", {"question": ENDING_QUESTION}
    )
    summary = await standin.send_interaction(w.guild, w.theories, w.fan, "summary", {})
    show = await standin.send_interaction(
        w.guild, w.general, w.fan, "spoilers", {}, subcommand="show"
    )
    # Autocomplete cannot defer: it falls back to the safest level in time.
    typed = await standin.send_autocomplete(
        w.guild, w.spoilers, w.fan, "ask", {"question": "does she survive"}, "question"
    )
    for handle in (ask, summary, show):
        body = await handle.response()
        assert body["type"] == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        assert (handle.state.responded_at or 0) - handle.state.created_at < DEADLINE
    assert show.state.response["data"]["flags"] & EPHEMERAL
    choices = await typed.choices()
    assert choices and (typed.state.responded_at or 0) - typed.state.created_at < DEADLINE
    shown_tier = {display_question(f): f.tier for f in work.facts}
    assert {shown_tier[c["name"]].id for c in choices} == {work.safest.id}

    # The real answers replace the "thinking" messages.
    (answer,) = await ask.followups(timeout=10)
    assert answer["id"] == str(ask.state.original_message_id)
    assert [answer["content"]] == bot.engine.answer(ENDING_QUESTION, work.safest).messages
    expected = bot.engine.summary(work.safest)
    texts = [m["content"] for m in await summary.followups(count=len(expected), timeout=10)]
    assert texts == expected
    (shown,) = await show.followups(timeout=10)
    assert "Spoiler level in" in shown["content"] and work.safest.label in shown["content"]
    assert shown["flags"] & EPHEMERAL
    assert bot_errors(caplog) == []
    standin.assert_no_violations()


@pytest.mark.parametrize("command", ["ask", "autocomplete"])
async def test_slow_database_on_a_busy_bot_still_meets_the_deadline(
    env: Env, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    w, standin, bot = env.world, env.standin, env.bot
    monkeypatch.setattr(bot.store, "levels", slow(bot.store.levels))
    options = {"question": ENDING_QUESTION}
    if command == "ask":
        handle = await standin.send_interaction(w.guild, w.spoilers, w.fan, "ask", options)
    else:
        handle = await standin.send_autocomplete(
            w.guild, w.spoilers, w.fan, "ask", options, "question"
        )
    # The bot's loop is busy (a burst of events, a long collection) before it reads the
    # interaction: Discord's three seconds started when the interaction was created.
    time.sleep(1.6)
    body = await handle.response()
    assert (handle.state.responded_at or 0) - handle.state.created_at < DEADLINE
    work = bot.engine.work
    if command == "ask":
        assert body["type"] == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        (answer,) = await handle.followups(timeout=10)
        # A spoiler channel shows everything: the late level lookup still decided the answer.
        assert [answer["content"]] == bot.engine.answer(ENDING_QUESTION, work.top).messages
    else:
        shown_tier = {display_question(f): f.tier for f in work.facts}
        names = [c["name"] for c in await handle.choices()]
        assert names and {shown_tier[n].id for n in names} == {work.safest.id}
    standin.assert_no_violations()
