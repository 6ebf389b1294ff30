"""Answers, suggestions and summaries as Discord message text for a viewer's spoiler level.

Invariants every function here keeps (and tests/core check with hypothesis):
- nothing of a fact or summary above the level appears outside `|| ... ||`;
- spoiler bars are balanced in every message;
- every message is at most `MESSAGE_LIMIT` characters;
- text a user typed is escaped, so it cannot open a spoiler, format the message or mention anyone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.core.matcher import Result, display_question
from bot.core.model import Tier, Work

MESSAGE_LIMIT = 2000
ECHO_LIMIT = 100  # characters of the user's question repeated back

_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<:])")
_MENTION = re.compile(r"@")
_SPACE = re.compile(r"\s+")


def escape(text: str, limit: int = ECHO_LIMIT) -> str:
    """User text made inert: one line, no markdown, no spoiler bars, no mentions."""
    # Invisible format characters (bidi overrides, zero-width joiners) could reorder or hide
    # the rest of the bot's line.
    if not text.isascii():  # no ASCII character is a format character
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    # A zero-width space after '@' keeps @everyone and <@id> from resolving or pinging.
    return _MENTION.sub("@\u200b", _MARKDOWN.sub(r"\\\1", text))


def code(text: str, limit: int = 300) -> str:
    """Text shown verbatim as inline code: nothing in it formats, mentions or spoils."""
    text = _SPACE.sub(" ", text).strip().replace("`", "\u02cb").replace("||", "| |")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def spoiler(text: str) -> str:
    """Hide text behind bars; the spaces keep a URL at either end from swallowing a bar."""
    return f"|| {text} ||"


@dataclass(slots=True)
class Block:
    """A unit of a message: plain text, or text that must stay hidden behind bars."""

    text: str
    hidden: bool = False


def pack(blocks: list[Block], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks into as few messages as fit `limit`; long blocks split, each piece barred."""
    pieces: list[str] = []
    for block in blocks:
        room = limit - (len(spoiler("")) if block.hidden else 0)
        for chunk in _split_words(block.text, room):
            pieces.append(spoiler(chunk) if block.hidden else chunk)
    messages: list[str] = []
    for piece in pieces:
        if messages and len(messages[-1]) + 1 + len(piece) <= limit:
            messages[-1] += "\n" + piece
        else:
            messages.append(piece)
    return messages


def _split_words(text: str, limit: int) -> list[str]:
    """Split at line breaks, else spaces, else anywhere, into chunks of at most `limit`."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not chunks:
        chunks.append(text)
    return chunks


def warning(tier: Tier, hidden: str = "") -> str:
    """The plain line above hidden text: names the tier, nothing of the content.

    A label is a place or a stage of the story ("Seoul"); where the hidden answer uses it too
    ("they meet in Seoul"), the label itself would answer the question, so it is hidden as well.
    """
    label = spoiler(tier.label) if _shares_a_word(tier.label, hidden) else tier.label
    return f"\u26a0\ufe0f Spoiler: {label}"


@lru_cache(maxsize=4096)  # labels and answers come from the fact store: few, and asked again
def _shares_a_word(label: str, text: str) -> bool:
    """True when a word of the label begins like a word of the text ("Mars", "Martian")."""
    heads = {w[:4] for w in re.findall(r"\w{4,}", text.casefold())}
    return any(w[:4] in heads for w in re.findall(r"\w{4,}", label.casefold()))


def render_result(result: Result, level: Tier, work: Work, suggestions: int = 3) -> list[str]:
    """The bot's reply to a question at `level`: the answer, or I-don't-know with suggestions."""
    if result.match is not None:
        fact = result.match.fact
        if fact.tier.index <= level.index:
            return pack([Block(fact.answer)])
        return pack([Block(warning(fact.tier, fact.answer)), Block(fact.answer, hidden=True)])
    return pack(_unknown(result, level, work, suggestions))


def _unknown(result: Result, level: Tier, work: Work, limit: int) -> list[Block]:
    asked = escape(result.question)
    head = f"I don't know the answer to \u201c{asked}\u201d." if asked else "Ask me a question."
    # Only facts within the level may be suggested: a question's wording can itself spoil.
    seen: list[str] = []
    for match in result.ranked:
        shown = display_question(match.fact)
        if match.fact.tier.index <= level.index and shown not in seen:
            seen.append(shown)
    blocks = [Block(f"{head} I answer questions about *{work.title}*.")]
    if seen[:limit]:
        blocks.append(Block("Did you mean:\n" + "\n".join(f"- {q}" for q in seen[:limit])))
    return blocks


def render_summary(work: Work, level: Tier, through: Tier | None = None) -> list[str]:
    """The plot through `through` (default: the level); parts above the level behind bars."""
    through = through or level
    blocks = [Block(f"**{work.title}: the story through {through.label}**")]
    for tier in work.tiers[: through.index + 1]:
        text = work.summaries[tier.id]
        if tier.index <= level.index:
            blocks.append(Block(f"**{tier.label}**\n{text}"))
        else:
            blocks.append(Block(f"**{tier.label}** \u26a0\ufe0f spoiler, beyond this level"))
            blocks.append(Block(text, hidden=True))
    return pack(blocks)


def render_tiers(work: Work, level: Tier | None = None) -> str:
    """A short list of the tiers, marking the current level."""
    lines = []
    for tier in work.tiers:
        mark = " \u2190 current" if level is not None and tier.id == level.id else ""
        lines.append(f"`{tier.id}` **{tier.label}**: {tier.description}{mark}")
    return "\n".join(lines)
