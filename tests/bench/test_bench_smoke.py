"""The benchmark runs end to end on tiny works and writes its tables; no timing is asserted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.questions import SAMPLE_QUESTIONS, synthetic_mix
from bench.report import SizeSummary, summarise, targets_table, verdicts
from bench.synthetic import synthetic_work


def test_synthetic_work_is_deterministic_and_sized() -> None:
    work = synthetic_work(200)
    again = synthetic_work(200)
    assert work.facts == again.facts
    assert len(work.facts) == 200
    assert len({f.id for f in work.facts}) == 200
    assert all(6 <= len(f.questions) <= 10 and f.terms and f.answer for f in work.facts)
    assert len({f.tier.id for f in work.facts}) >= 4
    mix = synthetic_mix(work, 50)
    assert mix == synthetic_mix(work, 50)
    assert any(q.source is None for q in mix) and any(q.source for q in mix)


def _run(size: str, p99_ms: float) -> dict[str, object]:
    return {
        "size": size,
        "facts": 10,
        "phrasings": 60,
        "questions": 5,
        "build_s": 0.01,
        "p50_ms": p99_ms / 2,
        "p99_ms": p99_ms,
        "per_second": 1000.0,
        "rss_work_mb": 30.0,
        "peak_rss_mb": 31.0,
        "answered": 1.0,
        "engine_correct": None,
        "baseline_questions": 0,
    }


def test_targets_table_says_pass_or_miss() -> None:
    sizes: dict[str, SizeSummary] = {
        "shipped": summarise("shipped", [_run("shipped", 0.2), _run("shipped", 0.9)]),
        "10000": summarise("10000", [_run("10000", 5.0)]),
    }
    rows = targets_table(verdicts(sizes, None)).splitlines()[2:]
    assert rows == [
        "| shipped | p99 per question | 0.550 ms | < 0.3 ms | **miss** |",
        "| shipped | index build | 0.010 s | < 0.3 s | pass |",
        "| 10k | p99 per question | 5.00 ms | < 2 ms | **miss** |",
    ]


@pytest.mark.skipif(not SAMPLE_QUESTIONS.exists(), reason="shared/ sample questions not found")
def test_benchmark_runs_end_to_end_on_a_tiny_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--sizes", "shipped,200",
            "--repeat", "1",
            "--questions", "20",
            "--e2e", "5",
            "--no-sweep",
            "--no-profile",
            "--no-plot",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    written = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert printed.strip() in written
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    for start in (
        "| shipped | p99 per question |",
        "| shipped | index build |",
        "| end to end | answered per second |",
        "| end to end | p99 event to REST reply |",
        "| 200 | 200 |",
        "| 5 (median of 1) | 10 |",
    ):
        assert any(row.startswith(start) for row in rows), start
    assert any(re.match(r"\| shipped \| [\d,]+ \| [\d,]+ \|", row) for row in rows)
    # Agreement above 90, then where the baseline is also clearly ahead (first run only).
    assert any(
        re.match(r"\| 200 \| 200 \|.* \| \d+/\d+ \(.*\) \| \d+/\d+ \(.*\) \|$", r) for r in rows
    )
    targets = [r for r in rows if r.startswith(("| shipped | p99", "| end to end | answered"))]
    assert all(r.endswith(("| pass |", "| **miss** |")) for r in targets)
    assert not (tmp_path / "benchmarks.png").exists()
