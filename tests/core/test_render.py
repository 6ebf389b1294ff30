"""Rendering keeps spoilers hidden, bars balanced, user text inert and messages within limits."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_FACTS_DIR
from bot.core.engine import Engine
from bot.core.matcher import Match, Result, display_question
from bot.core.render import MESSAGE_LIMIT, Block, escape, pack, render_result
from tests.quality import hidden_part, plain_part

ENGINE = Engine.load([DEFAULT_FACTS_DIR])
WORK = ENGINE.work


def leaks(messages: list[str], level_index: int, echoed: str = "") -> list[str]:
    """Fact answers and summary sections above the level that are readable without a click."""
    plain = "\n".join(plain_part(m) for m in messages)
    if echoed:
        plain = plain.replace(escape(echoed), "")
    secret = [f.answer for f in WORK.facts if f.tier.index > level_index]
    secret += [WORK.summaries[t.id] for t in WORK.tiers if t.index > level_index]
    return [s for s in secret if s in plain]


def well_formed(messages: list[str]) -> None:
    assert messages
    for message in messages:
        assert 0 < len(message) <= MESSAGE_LIMIT
        assert message.count("||") % 2 == 0, message


def test_engine_does_not_import_discord() -> None:
    # In a fresh interpreter: the test session itself imports discord for the bot's tests.
    code = (
        "import sys, pkgutil, importlib, bot.core\n"
        "for m in pkgutil.walk_packages(bot.core.__path__, 'bot.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import bot.__main__, bot.config\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'discord'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_answer_within_level_is_plain() -> None:
    fact = next(f for f in WORK.facts if f.tier.id == "ending")
    reply = ENGINE.answer(fact.questions[0], WORK.top)
    assert reply.result.match is not None and reply.result.match.fact is fact
    assert reply.messages == [fact.answer]


def test_answer_above_level_is_hidden_under_a_plain_warning() -> None:
    fact = next(f for f in WORK.facts if f.tier.id == "ending")
    (message,) = ENGINE.answer(fact.questions[0], WORK.safest).messages
    warning, hidden = message.split("\n")
    assert fact.tier.label in warning and fact.answer not in warning
    assert hidden == f"|| {fact.answer} ||"


def test_a_label_that_the_hidden_answer_uses_is_hidden_too() -> None:
    # "Where do they meet?" must not be answered by a warning that reads "Spoiler: Seoul".
    seoul = WORK.tier("setup")
    fact = next(f for f in WORK.facts if f.tier is seoul and "Seoul" in f.answer)
    (message,) = ENGINE.answer(fact.questions[0], WORK.safest).messages
    assert plain_part(message).count("Seoul") == 0
    assert message.split("\n")[0] == "\u26a0\ufe0f Spoiler: || Seoul ||"
    other = next(f for f in WORK.facts if f.tier is seoul and "Seoul" not in f.answer)
    (message,) = ENGINE.answer(other.questions[0], WORK.safest).messages
    assert message.split("\n")[0] == "\u26a0\ufe0f Spoiler: Seoul"


def test_suggestions_never_come_from_above_the_level() -> None:
    # An unanswerable question whose nearest facts are late in the story.
    for level in WORK.tiers:
        reply = ENGINE.answer("nan young flowers jay radio cave rescued xyzzy", level)
        assert not reply.result.answered
        text = "\n".join(reply.messages)
        above = [f for f in WORK.facts if f.tier.index > level.index]
        shown = [display_question(f) for f in above if display_question(f) in text]
        assert shown == [], (level.id, shown)


def test_escape_makes_user_text_inert() -> None:
    text = escape("||x|| @everyone <@123> <@&9> **b** `c` [l](http://e) # h\n> q")
    assert "||" not in text
    assert "@everyone" not in text and "<@123>" not in text and "<@&9>" not in text
    assert "**" not in text and "`c`" not in text and "](" not in text
    assert "\n" not in text
    assert len(escape("a" * 5000)) <= 100


def test_pack_splits_long_hidden_text_into_separately_barred_messages() -> None:
    words = " ".join(f"secret{i}" for i in range(900))
    messages = pack([Block("warning"), Block(words, hidden=True)])
    well_formed(messages)
    assert len(messages) > 1
    assert plain_part("\n".join(messages)).split() == ["warning"]
    assert hidden_part("\n".join(messages)).split() == words.split()


def test_summary_through_a_later_tier_hides_later_sections() -> None:
    level = WORK.tier("setup")
    messages = ENGINE.summary(level, WORK.top)
    well_formed(messages)
    assert leaks(messages, level.index) == []
    text = "\n".join(messages)
    for tier in WORK.tiers:
        section = WORK.summaries[tier.id]
        if tier.index <= level.index:
            assert section in plain_part(text)
        else:
            assert section in hidden_part(text) and tier.label in plain_part(text)


def test_summary_defaults_to_the_level() -> None:
    messages = ENGINE.summary(WORK.tier("departure"))
    text = "\n".join(messages)
    assert "||" not in text
    assert WORK.summaries["mars"] not in text and WORK.summaries["departure"] in text


QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("|*_`~>#@<&!:")) | st.characters(), max_size=50),
    st.builds(
        lambda parts: " ".join(parts),
        st.lists(
            st.sampled_from(
                [
                    "||",
                    "@everyone",
                    "<@123>",
                    "<@&456>",
                    "```",
                    "`",
                    "**",
                    "\u200b",
                    "\u202e",
                    "https://example.com/x",
                    "nan-young",
                    "jay",
                    "survive",
                    "flowers",
                    "🚀",
                    "\n",
                ]
                + [q for f in WORK.facts for q in f.questions[:1]]
            ),
            max_size=30,
        ),
    ),
    st.text(min_size=3000, max_size=5000),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=QUESTIONS, level_index=st.integers(0, len(WORK.tiers) - 1))
def test_any_question_at_any_level_is_safe(question: str, level_index: int) -> None:
    level = WORK.tiers[level_index]
    reply = ENGINE.answer(question, level)
    well_formed(reply.messages)
    assert leaks(reply.messages, level_index, question) == []
    if not reply.result.answered:
        echoed = plain_part("\n".join(reply.messages))
        assert "@everyone" not in echoed
        assert not re.search(r"(?<!\\)<@[!&]?\d+>", echoed)


@settings(max_examples=50, deadline=None)
@given(level_index=st.integers(0, 4), through_index=st.integers(0, 4))
def test_any_summary_is_safe(level_index: int, through_index: int) -> None:
    messages = ENGINE.summary(WORK.tiers[level_index], WORK.tiers[through_index])
    well_formed(messages)
    assert leaks(messages, level_index) == []


@pytest.mark.parametrize("tier", [t.id for t in WORK.tiers])
def test_every_fact_renders_within_limits_at_every_level(tier: str) -> None:
    level = WORK.tier(tier)
    for fact in WORK.facts:
        result = Result(fact.questions[0], Match(fact, 1.0, 1.0, 1.0), ())
        messages = render_result(result, level, WORK)
        well_formed(messages)
        assert leaks(messages, level.index) == []
