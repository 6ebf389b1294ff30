"""Grading of question sets written like ../shared/lost-in-starlight/sample-questions.yaml."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.model import Work

BARS = re.compile(r"\|\|(.*?)\|\|", re.S)


def plain_part(text: str) -> str:
    """The text a reader sees without clicking any spoiler."""
    return BARS.sub(" ", text)


def hidden_part(text: str) -> str:
    """The text inside spoiler bars."""
    return " ".join(BARS.findall(text))


def load_items(path: Path) -> list[dict]:
    """The `items` of a question set."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["items"]


def ask_cli(questions: Sequence[str], level: str) -> list[dict]:
    """Answer questions through `python -m bot ask --json -`, one JSON object per question."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--level", level, "-"],
        input="".join(q.replace("\n", " ") + "\n" for q in questions),
        capture_output=True,
        text=True,
        check=True,
        encoding="utf-8",
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(questions), proc.stderr
    return rows


def _groups_in(groups: list[list[str]], text: str) -> bool:
    low = text.casefold()
    return all(any(s.casefold() in low for s in group) for group in groups)


@dataclass
class Report:
    """How a question set fared; `failures` explains each miss."""

    on_topic: int = 0
    correct: int = 0
    off_topic: int = 0
    declined: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.on_topic if self.on_topic else 1.0

    @property
    def decline_rate(self) -> float:
        return self.declined / self.off_topic if self.off_topic else 1.0


def grade(items: list[dict], work: Work) -> Report:
    """Run every item at the top level and one level below its tier, and grade the answers."""
    report = Report()
    top = work.top.id
    questions = [item["q"] for item in items]
    at_top = ask_cli(questions, top)
    below: dict[str, list[dict]] = {}
    for tier in work.tiers[:-1]:
        below[tier.id] = ask_cli(questions, tier.id)
    for i, item in enumerate(items):
        q = item["q"]
        if item.get("offtopic"):
            report.off_topic += 1
            if not at_top[i]["answered"]:
                report.declined += 1
            else:
                report.failures.append(f"answered off-topic {q!r} with {at_top[i]['fact_id']}")
            continue
        report.on_topic += 1
        tiers = item["tier"] if isinstance(item["tier"], list) else [item["tier"]]
        low = work.tier(tiers[0])
        row = at_top[i]
        ok = row["answered"] and _groups_in(item["expect"], plain_part(row["text"]))
        why = f"top: {row['fact_id']}: {row['text'][:80]!r}"
        if ok and low.index > 0:
            under = below[work.tiers[low.index - 1].id][i]
            ok = (
                under["answered"]
                and _groups_in(item["expect"], hidden_part(under["text"]))
                and not any(
                    s.casefold() in plain_part(under["text"]).casefold()
                    for group in item["expect"]
                    for s in group
                    if s.casefold() not in q.casefold()
                )
            )
            why = f"below: {under['fact_id']}: {under['text'][:80]!r}"
        if ok:
            report.correct += 1
        else:
            report.failures.append(f"{q!r} [{'/'.join(tiers)}] -> {why}")
    return report
