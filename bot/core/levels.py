"""Which spoiler level applies where: thread -> channel -> category -> server -> safest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.model import Tier, Work

# Discord marks channels that members must opt into as spoiler channels with this flag.
SPOILER_CHANNEL_FLAG = 1 << 21


@dataclass(frozen=True, slots=True)
class Scope:
    """One place a level can be set: a thread, channel, category or the server itself."""

    kind: str  # "thread" | "channel" | "category" | "guild"
    id: int
    name: str = ""
    spoiler_channel: bool = False


@dataclass(frozen=True, slots=True)
class Resolved:
    """The effective level and why: the scope it was set on, or None for a default."""

    tier: Tier
    scope: Scope | None
    reason: str


def resolve(work: Work, chain: Sequence[Scope], stored: Mapping[int, str]) -> Resolved:
    """The effective level for the first scope of `chain` (most specific first).

    A level set on a scope wins over everything above it. A spoiler channel without a level of
    its own shows everything: its members opted in. A stored tier the work no longer has (the
    fact file changed) is skipped rather than trusted.
    """
    here = chain[0] if chain else None
    for scope in chain:
        tier = work.find_tier(stored[scope.id]) if scope.id in stored else None
        if tier is not None:
            how = "set here" if scope is here else f"inherited from the {_describe(scope)}"
            return Resolved(tier, scope, how)
        if scope.spoiler_channel:
            how = "a spoiler channel" if scope is here else f"inside spoiler {_describe(scope)}"
            return Resolved(work.top, scope, how)
    return Resolved(work.safest, None, "the default: nothing is set here or above")


def _describe(scope: Scope) -> str:
    if scope.kind == "guild":
        return "server default"
    return f"{scope.kind} {scope.name}".strip()
