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
HELD_OUT = [Path(__file__).parents[1] / "data" / "heldout-questions.yaml"]


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared is not beside the repository")
def test_sample_questions_all_pass() -> None:
    report = grade(load_items(SAMPLE), WORK)
    assert report.on_topic >= 18 and report.off_topic >= 3
    assert report.failures == []


@pytest.mark.parametrize("path", HELD_OUT, ids=[p.name for p in HELD_OUT])
def test_held_out_questions_meet_the_bar(path: Path) -> None:
    report = grade(load_items(path), WORK)
    assert report.on_topic >= 100 and report.off_topic >= 40
    summary = "\n".join(report.failures)
    assert report.accuracy >= 0.95, summary
    assert report.decline_rate >= 0.85, summary
