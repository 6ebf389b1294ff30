"""Question sets run through `python -m bot ask --json -`, graded like the acceptance run.

The sample set comes with the spoiler policy; the held-out sets were written apart from the fact
file, in the same style, to measure how well matching generalises rather than memorises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_FACTS_DIR, PROJECT_ROOT
from bot.core.loader import load_works
from tests.quality import grade, load_items

WORK = load_works([DEFAULT_FACTS_DIR])[0]
SAMPLE = PROJECT_ROOT.parent / "shared" / "lost-in-starlight" / "sample-questions.yaml"
DATA = Path(__file__).parents[1] / "data"
# (set, on-topic accuracy, off-topic declined). Every set was written from the policy and the
# recap by someone who had not seen the fact file. The first three were used to calibrate the
# matcher and curate the facts from the start. Each later one was first measured before anyone
# looked at it, then joined the others as a guide: heldout-4 at 75.4% / 100%, heldout-5 at
# 84.4% / 86.0%, heldout-6 at 86.4% / 94.0%, heldout-7 at 88.9% / 96.0%, heldout-8 at 84.7% /
# 92.0%, heldout-9 at 87.7% / 92.2%, heldout-10 at 76.5% / 98.0%, heldout-11 at 87.6% / 98.0%,
# heldout-12 at 94.9% / 94.0%, heldout-13 at 91.1% / 94.0%, heldout-14 at 95.5% / 98.1%,
# heldout-15 at 94.8% / 96.2%, heldout-16 at 89.8% / 91.3%, heldout-17 at 95.9% / 95.6%,
# heldout-18 at 88.5% / 80.0%, heldout-19 at 91.8% / 91.1%, heldout-20 at 94.6% / 97.8%,
# heldout-21 at 91.9% / 95.7%, heldout-22 at 94.6% / 91.1%, heldout-23 at 95.2% / 91.5%,
# heldout-24 at 97.2% / 95.6%, heldout-25 at 92.1% / 91.1%, heldout-26 at 96.5% / 95.6%,
# heldout-27 at 94.5% / 86.7%, heldout-28 at 95.9% / 91.1%, heldout-29 at 99.3% / 97.8%,
# heldout-30 at 97.2% / 97.8%, heldout-31 at 94.5% / 93.3%. Those first looks are the honest
# measure of how well matching generalises. The bars sit a few points under what each set
# reaches now, so that a change that costs answers is noticed.
HELD_OUT = [
    ("heldout-questions.yaml", 0.95, 0.90),
    ("heldout-2.yaml", 0.95, 0.90),
    ("heldout-3.yaml", 0.95, 0.95),
    ("heldout-4.yaml", 0.88, 0.95),
    ("heldout-5.yaml", 0.90, 0.95),
    ("heldout-6.yaml", 0.90, 0.95),
    ("heldout-7.yaml", 0.87, 0.95),
    ("heldout-8.yaml", 0.92, 0.95),
    ("heldout-9.yaml", 0.88, 0.88),
    ("heldout-10.yaml", 0.88, 0.94),
    ("heldout-11.yaml", 0.88, 0.90),
    ("heldout-12.yaml", 0.91, 0.90),
    ("heldout-13.yaml", 0.87, 0.90),
    ("heldout-14.yaml", 0.91, 0.94),
    ("heldout-15.yaml", 0.91, 0.92),
    ("heldout-16.yaml", 0.90, 0.90),
    ("heldout-17.yaml", 0.96, 0.93),
    ("heldout-18.yaml", 0.92, 0.80),
    ("heldout-19.yaml", 0.92, 0.90),
    ("heldout-20.yaml", 0.94, 0.95),
    ("heldout-21.yaml", 0.93, 0.95),
    ("heldout-22.yaml", 0.95, 0.95),
    ("heldout-23.yaml", 0.95, 0.90),
    ("heldout-24.yaml", 0.95, 0.90),
    ("heldout-25.yaml", 0.95, 0.90),
    ("heldout-26.yaml", 0.94, 0.93),
    ("heldout-27.yaml", 0.92, 0.88),
    ("heldout-28.yaml", 0.93, 0.90),
    ("heldout-29.yaml", 0.96, 0.95),
    ("heldout-30.yaml", 0.95, 0.95),
    ("heldout-31.yaml", 0.92, 0.90),
]


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared is not beside the repository")
def test_sample_questions_all_pass() -> None:
    report = grade(load_items(SAMPLE), WORK)
    assert report.on_topic >= 18 and report.off_topic >= 3
    assert report.failures == []


@pytest.mark.parametrize(("name", "accuracy", "declined"), HELD_OUT, ids=[h[0] for h in HELD_OUT])
def test_held_out_questions_meet_the_bar(name: str, accuracy: float, declined: float) -> None:
    report = grade(load_items(DATA / name), WORK)
    assert report.on_topic >= 100 and report.off_topic >= 40
    summary = "\n".join(report.failures)
    assert report.accuracy >= accuracy, summary
    assert report.decline_rate >= declined, summary
