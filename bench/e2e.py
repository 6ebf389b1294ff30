"""End to end: the real bot against the loopback Discord stand-in, answering as fast as it can.

The stand-in and the bot share one process and one event loop (as in tests/e2e), so every
number here includes the stand-in's own work: gateway framing, REST routing and validation,
recording. They are a lower bound for the bot alone.
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import percentile, rss_mb
from bot.app import open_bot
from bot.config import DEFAULT_FACTS_DIR, Settings
from tests.e2e.standin import Channel, Guild, InteractionHandle, Member, StandIn, running_bot

CALLBACK_MESSAGE = 4  # interaction callback type: a message, not a deferral


@dataclass(frozen=True, slots=True)
class E2EResult:
    """Throughput and latency of one end-to-end run."""

    asked: int
    answered: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    apologies: int  # replies saying something went wrong
    rest_calls: float  # REST requests the bot made per question
    rss_before_mb: float
    rss_after_mb: float
    batch: int
    users: int
    violations: int

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class _Job:
    """One question to send, and when it was sent and answered."""

    kind: str  # "mention" or "ask"
    question: str
    member: Member
    channel: Channel
    sent_at: float = 0.0
    message_id: str = ""
    handle: InteractionHandle | None = None
    done_at: float | None = None


class _Replies:
    """Bot replies to user messages, indexed as they appear (one scan of new messages only)."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.seen = 0
        self.at: dict[str, float] = {}

    def update(self) -> None:
        """Index the messages stored since the last call."""
        messages = self.standin.messages
        new = itertools.islice(messages.items(), self.seen, None)
        for mid, msg in new:
            self.seen += 1
            ref = msg.get("message_reference") or {}
            call = self.standin.message_calls.get(mid)
            if "message_id" in ref and call is not None:
                self.at.setdefault(ref["message_id"], call.at)


def _interaction_done_at(standin: StandIn, handle: InteractionHandle) -> float | None:
    """When the bot's REST reply to the interaction arrived (a deferral waits for its follow-up)."""
    state = handle.state
    if state.response is None or state.response_call is None:
        return None
    if state.response.get("type") == CALLBACK_MESSAGE:
        return state.response_call.at
    if state.followup_ids:
        call = standin.message_calls.get(state.followup_ids[0])
        return call.at if call is not None else None
    return None


def build_world(
    standin: StandIn, users: int, channels: int
) -> tuple[Guild, list[Channel], list[Member]]:
    """A server with a few channels under one category and many members."""
    guild = standin.add_guild("Bench Fans")
    category = guild.add_category("Films")
    places = [guild.add_text_channel(f"talk-{i}", category=category) for i in range(channels)]
    members = [guild.add_member(standin.add_user(f"fan-{i}")) for i in range(users)]
    return guild, places, members


async def run_e2e(
    questions: list[str],
    n: int,
    *,
    batch: int = 20,
    users: int = 200,
    channels: int = 4,
    profiler: cProfile.Profile | None = None,
) -> E2EResult:
    """Ask `n` mention questions and `n` /ask questions, `batch` at a time, and time the replies.

    With a `profiler`, it is enabled for the timed part only (not start-up or warm-up).
    """
    # discord.py logs every gateway event at DEBUG and the stand-in its routing at INFO.
    logging.getLogger().setLevel(logging.WARNING)
    async with StandIn(rate_limit=10**9) as standin:
        guild, places, members = build_world(standin, users, channels)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                token=standin.token,
                database=Path(tmp) / "bot.db",
                facts_dir=DEFAULT_FACTS_DIR,
                cooldown_rate=10**6,
                cooldown_per=1.0,
                log_level="WARNING",
            )
            rss_before = rss_mb()
            bot = await open_bot(settings, guild_ready_timeout=0.05)
            try:
                async with running_bot(standin, bot):
                    jobs = _jobs(questions, n, places, members)
                    # Warm up: first use of each channel reads its flags and the database.
                    await _run_batches(
                        standin, guild, _jobs(questions, channels, places, members), batch
                    )
                    calls_before = len(standin.calls)
                    started = time.perf_counter()
                    if profiler is not None:
                        profiler.enable()
                    await _run_batches(standin, guild, jobs, batch)
                    if profiler is not None:
                        profiler.disable()
                    seconds = time.perf_counter() - started
                    rss_after = rss_mb()
                    calls = len(standin.calls) - calls_before
            finally:
                await bot.store.close()
        latencies = [(j.done_at - j.sent_at) * 1000 for j in jobs if j.done_at is not None]
        answered = len(latencies)
        return E2EResult(
            asked=len(jobs),
            answered=answered,
            seconds=seconds,
            per_second=answered / seconds if seconds else 0.0,
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            rest_calls=calls / len(jobs),
            apologies=sum(1 for m in standin.bot_messages() if m.content.startswith("Sorry")),
            rss_before_mb=rss_before,
            rss_after_mb=rss_after,
            batch=batch,
            users=users,
            violations=len(standin.violations),
        )


def _jobs(questions: list[str], n: int, places: list[Channel], members: list[Member]) -> list[_Job]:
    """`n` mentions and `n` /ask, interleaved, spread over members and channels."""
    jobs = []
    for i in range(2 * n):
        jobs.append(
            _Job(
                kind="mention" if i % 2 == 0 else "ask",
                question=questions[(i // 2) % len(questions)],
                member=members[i % len(members)],
                channel=places[i % len(places)],
            )
        )
    return jobs


async def _send(standin: StandIn, guild: Guild, job: _Job) -> None:
    """Dispatch the question as a mention or an /ask interaction, noting when."""
    loop = asyncio.get_running_loop()
    if job.kind == "mention":
        job.sent_at = loop.time()
        content = f"<@{standin.bot_user.id}> {job.question}"
        sent = await standin.send_message(guild, job.channel, job.member, content)
        job.message_id = str(sent.id)
    else:
        job.handle = await standin.send_interaction(
            guild, job.channel, job.member, "ask", {"question": job.question}
        )
        # The stand-in starts the interaction's clock when it dispatches the event.
        job.sent_at = job.handle.state.created_at


async def _run_batches(standin: StandIn, guild: Guild, jobs: list[_Job], batch: int) -> None:
    """Send each batch concurrently, then wait until every question in it has its reply."""
    replies = _Replies(standin)
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        await asyncio.gather(*(_send(standin, guild, job) for job in chunk))

        def finished(chunk: list[_Job] = chunk) -> bool:
            replies.update()
            pending = False
            for job in chunk:
                if job.done_at is None:
                    if job.handle is not None:
                        job.done_at = _interaction_done_at(standin, job.handle)
                    else:
                        job.done_at = replies.at.get(job.message_id)
                    pending = pending or job.done_at is None
            return not pending

        await standin.wait_for(finished, timeout=30.0, what="replies to a batch")
