"""Domain objects: a work, its ordered spoiler tiers, its facts and its per-tier summaries."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Tier:
    """One spoiler tier; `index` orders tiers from safest (0) to most revealing."""

    id: str
    label: str
    description: str
    index: int


@dataclass(frozen=True, slots=True)
class Fact:
    """One answerable point of the story, at a spoiler tier."""

    id: str
    tier: Tier
    answer: str
    questions: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Work:
    """A film (or any work) with everything the bot knows about it."""

    id: str
    title: str
    aliases: tuple[str, ...]
    tiers: tuple[Tier, ...]
    facts: tuple[Fact, ...]
    summaries: dict[str, str] = field(hash=False)
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    source: str = ""
    people: tuple[str, ...] = ()  # names of the work's characters and makers

    @property
    def safest(self) -> Tier:
        """The least revealing tier: the default wherever nothing is set."""
        return self.tiers[0]

    @property
    def top(self) -> Tier:
        """The most revealing tier."""
        return self.tiers[-1]

    def tier(self, tier_id: str) -> Tier:
        """The tier with this id; KeyError names the valid ids."""
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(f"unknown tier {tier_id!r}; valid tiers: {self.tier_ids()}")

    def find_tier(self, text: str) -> Tier | None:
        """The tier whose id or label is `text` (case-insensitive), or None."""
        wanted = text.strip().casefold()
        for tier in self.tiers:
            if wanted in (tier.id.casefold(), tier.label.casefold()):
                return tier
        return None

    def tier_ids(self) -> str:
        """The tier ids, safest first, as one comma-separated string for messages."""
        return ", ".join(tier.id for tier in self.tiers)
