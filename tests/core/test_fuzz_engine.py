"""The engine alone under adversarial input: Discord markup, invisible and bidi characters, emoji,
mentions, URLs, very long and empty text; summaries at every level; autocomplete's limits.

`questions()` is shared with the end-to-end property tests (tests/e2e/test_resilience.py), so both
layers see the same kinds of input.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_FACTS_DIR
from bot.core.engine import Engine
from bot.core.matcher import display_question
from bot.core.model import Tier, Work
from bot.core.render import MESSAGE_LIMIT, render_summary
from tests.quality import hidden_part, plain_part

ENGINE = Engine.load([DEFAULT_FACTS_DIR])
WORK = ENGINE.work
LONG = 4000  # a Nitro user's message limit: the longest text a mention can carry

# Characters that format a Discord message, and what escaping must neutralise in echoed text.
MARKUP_CHARS = frozenset("\\*_~`|>#-[]()<:")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
BIDI = ("\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e")
BIDI += ("\u2066", "\u2067", "\u2068", "\u2069")
LINE_BREAKS = ("\n", "\r\n", "\u2028", "\u2029", "\x85", "\x0b")
MARKDOWN = (
    "*", "**", "***", "_", "__", "~~", "> ", ">>> ", "# ", "## ", "-# ", "- ", "1. ",
    "\\", "\\|", "[link](https://example.com)", "[**x**](<https://example.com>)",
)  # fmt: skip
SPOILERS = ("||", "|", "|||", "||secret||", "|| x", "x ||", "\\||")
CODE = ("`", "``", "```", "`code`", "```py\nprint('||')\n```", "``` ||", "```\n")
EMOJI = (
    "🚀", "👩\u200d🚀", "🇰🇷", "❤\ufe0f", "🏳\ufe0f\u200d🌈", "e\u0301", ":rocket:",
    "<:starlight:123456789012345678>", "<a:wave:123456789012345678>",
)  # fmt: skip
URLS = (
    "https://example.com/a||b",
    "<https://example.com>",
    "http://x.y/z?q=1&r=2#frag",
    "https://discord.gg/invite",
    "https://example.com/" + "a" * 60,
    "www.example.com",
)
ADVERSARIAL = (*MARKDOWN, *SPOILERS, *CODE, *EMOJI, *URLS, *ZERO_WIDTH, *BIDI, *LINE_BREAKS)
# Words of the story, so adversarial text also lands on real answers at every tier.
STORY = (
    "nan-young", "Nan Young", "jay", "survive", "mars", "flowers", "the ending", "radio",
    *(fact.questions[0] for fact in WORK.facts),
)  # fmt: skip
FAKE_MENTIONS = (
    "@everyone", "@here", "<@123456789012345678>", "<@!123456789012345678>",
    "<@&234567890123456789>", "<#345678901234567890>", "<t:1700000000:R>", "</ask:42>",
)  # fmt: skip


def repeat_to(text: str, size: int) -> str:
    """`text` repeated and cut to exactly `size` characters."""
    text = text or "|"
    return (text * (size // len(text) + 1))[:size]


def questions(mentions: Sequence[str] = FAKE_MENTIONS) -> st.SearchStrategy[str]:
    """Markup, emoji, mentions, URLs, invisible and bidi marks amid story words; long or empty."""
    piece = st.one_of(
        st.sampled_from((*ADVERSARIAL, *mentions)),
        st.sampled_from(STORY),
        st.text(max_size=12),
    )
    mixed = st.builds(
        lambda parts, sep: sep.join(parts),
        st.lists(piece, max_size=24),
        st.sampled_from(("", " ", "\n")),
    )
    long = mixed.map(lambda text: repeat_to(text, LONG))
    blank = st.sampled_from(("", " ", "\n\n", *ZERO_WIDTH))
    return st.one_of(mixed, st.one_of(long, blank))


def secrets_above(work: Work, level: Tier) -> list[str]:
    """Texts that must stay behind bars at `level`: answers and summary sections above it."""
    out = [f.answer for f in work.facts if f.tier.index > level.index]
    return out + [work.summaries[t.id] for t in work.tiers if t.index > level.index]


def revealed(messages: Sequence[str], level: Tier, asked: str = "", work: Work = WORK) -> list[str]:
    """Secrets above `level` readable without a click (the asker's own words do not count)."""
    plain = "\n".join(plain_part(m) for m in messages)
    return [s for s in secrets_above(work, level) if s in plain and s not in asked]


def echoed(message: str) -> str | None:
    """The asker's words as repeated back in an I-don't-know reply, if this is one."""
    head, tail = "I don't know the answer to \u201c", "\u201d. I answer questions about"
    if not message.startswith(head):
        return None
    return message[len(head) : message.rindex(tail)]


def unescaped_markup(text: str) -> list[str]:
    """Markup characters in `text` that are not neutralised by a preceding backslash."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2  # an escape pair: the next character is literal
            continue
        if text[i] in MARKUP_CHARS:
            found.append(text[i])
        i += 1
    return found


def well_formed(messages: Sequence[str]) -> None:
    """Messages Discord accepts and whose spoiler bars pair up."""
    assert messages
    for message in messages:
        assert 0 < len(message) <= MESSAGE_LIMIT, len(message)
        assert message.count("||") % 2 == 0, message


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(question=questions())
def test_adversarial_question_is_safe_at_every_level(question: str) -> None:
    for level in WORK.tiers:
        reply = ENGINE.answer(question, level)
        well_formed(reply.messages)
        assert revealed(reply.messages, level, question) == [], level.id
        text = "\n".join(reply.messages)
        if reply.result.answered:
            # An answer is the fact's own text: nothing the asker typed comes back.
            assert reply.result.match is not None
            assert reply.result.match.fact.answer in text
            continue
        # Suggestions come only from within the level: a question's wording can spoil.
        shown = {line[2:] for line in text.splitlines() if line.startswith("- ")}
        tiers = {display_question(f): f.tier for f in WORK.facts}
        assert all(tiers[s].index <= level.index for s in shown), (level.id, shown)


@FUZZ
@given(question=questions())
def test_echoed_question_is_inert(question: str) -> None:
    (first, *_) = ENGINE.answer(question, WORK.safest).messages
    echo = echoed(first)
    if echo is None:
        return
    # One line, no markup, no mention: what the asker typed cannot format or ping.
    assert not any(brk in echo for brk in LINE_BREAKS), repr(echo)
    assert unescaped_markup(echo) == [], repr(echo)
    assert re.search(r"@(?!\u200b)", echo) is None, repr(echo)
    assert "||" not in echo
    assert len(echo) <= 2 * 100 + 2  # at most 100 characters echoed, each escaped at worst


@pytest.mark.parametrize("level", WORK.tiers, ids=lambda t: t.id)
def test_summary_at_every_level_and_through_every_tier(level: Tier) -> None:
    for through in (None, *WORK.tiers):
        messages = ENGINE.summary(level, through)
        well_formed(messages)
        assert revealed(messages, level) == []
        text = "\n".join(messages)
        last = (through or level).index
        for tier in WORK.tiers:
            section = WORK.summaries[tier.id]
            if tier.index > last:
                assert section not in text, (level.id, tier.id)
            elif tier.index <= level.index:
                assert section in plain_part(text), (level.id, tier.id)
            else:
                assert section in hidden_part(text) and tier.label in plain_part(text)


# Summary text a fact file may hold: anything but '||' (the loader refuses it), up to its limit.
SUMMARY_TEXT = st.builds(
    lambda parts, size: repeat_to("".join(parts), size) if size else "".join(parts),
    st.lists(st.sampled_from(ADVERSARIAL) | st.text(max_size=20), min_size=1, max_size=20),
    st.sampled_from((0, 0, 700, 1799, 1800)),
).map(lambda text: (text.replace("||", "|\u200b|").replace("||", "|\u200b|") or "x")[:1800])


def _with_summaries(texts: Sequence[str]) -> Work:
    """The work with other summary sections, one per tier."""
    summaries = {t.id: text for t, text in zip(WORK.tiers, texts, strict=True)}
    return Work(WORK.id, WORK.title, WORK.aliases, WORK.tiers, WORK.facts, summaries)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(SUMMARY_TEXT, min_size=len(WORK.tiers), max_size=len(WORK.tiers)))
def test_any_summary_text_keeps_bars_and_limits_at_every_level(texts: list[str]) -> None:
    work = _with_summaries(texts)
    # The same summary with empty sections: its plain words are the headings and labels.
    scaffold = _with_summaries([""] * len(texts))
    for level in work.tiers:
        for through in work.tiers:
            messages = render_summary(work, level, through)
            well_formed(messages)
            text = "\n".join(messages)
            shown = work.tiers[: through.index + 1]
            # Exactly the sections above the level are hidden, whole and in order...
            hidden = [w for t in shown if t.index > level.index for w in texts[t.index].split()]
            assert hidden_part(text).split() == hidden
            # ...and nothing but the headings and the sections within the level is plain.
            frame = plain_part("\n".join(render_summary(scaffold, level, through))).split()
            plain = frame + [
                w for t in shown if t.index <= level.index for w in texts[t.index].split()
            ]
            assert Counter(plain_part(text).split()) == Counter(plain)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=questions(), level_index=st.integers(0, len(WORK.tiers) - 1))
def test_autocomplete_choices_fit_discord_and_the_level(text: str, level_index: int) -> None:
    level = WORK.tiers[level_index]
    choices = ENGINE.matcher.complete(text, level)
    assert 0 < len(choices) <= 25
    assert len(set(choices)) == len(choices)
    tiers = {display_question(f): f.tier for f in WORK.facts}
    for choice in choices:
        assert 1 <= len(choice) <= 100, choice
        assert tiers[choice].index <= level.index, (choice, tiers[choice].id, level.id)
