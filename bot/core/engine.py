"""The answer engine: one work, its index, and rendering for a level. No Discord here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.core.loader import FactFileError, Problem, load_works
from bot.core.matcher import Matcher, Result
from bot.core.model import Tier, Work
from bot.core.render import render_result, render_summary


class UnknownTier(ValueError):
    """A tier name that the work does not have; the message lists the valid ones."""


@dataclass(slots=True)
class Reply:
    """What the bot would post for a question: the match result and the message texts."""

    result: Result
    messages: list[str]


class Engine:
    """Answers questions and gives summaries for one work at a viewer's level."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.matcher = Matcher(work)

    @classmethod
    def load(cls, paths: Iterable[str | Path], work_id: str | None = None) -> Engine:
        """Load and validate fact files, then index the chosen work (the only one by default)."""
        works = load_works(paths)
        if work_id is not None:
            chosen = [w for w in works if w.id == work_id]
        else:
            chosen = works[:1] if len(works) == 1 else []
        if not chosen:
            ids = ", ".join(w.id for w in works)
            wanted = f"no work '{work_id}'" if work_id else "several works; choose one"
            raise FactFileError([Problem(works[0].source, 1, "work.id", f"{wanted} ({ids})")])
        return cls(chosen[0])

    def tier(self, name: str | None) -> Tier:
        """The tier named by id or label; None means the safest. Raises UnknownTier."""
        if name is None:
            return self.work.safest
        tier = self.work.find_tier(name)
        if tier is None:
            raise UnknownTier(f"unknown tier '{name}'; valid tiers: {self.work.tier_ids()}")
        return tier

    def answer(self, question: str, level: Tier) -> Reply:
        """Match the question and render the reply for `level`."""
        result = self.matcher.ask(question)
        return Reply(result, render_result(result, level, self.work))

    def summary(self, level: Tier, through: Tier | None = None) -> list[str]:
        """The plot summary messages through `through` (default: the level)."""
        return render_summary(self.work, level, through)
