"""One measurement in a fresh process: `python -m bench.worker engine|e2e JSON`, prints JSON.

A fresh process per measurement keeps peak memory (ru_maxrss only ever grows) and warm caches
of one size from leaking into the next.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils

from bench.profiling import profile, summarise_profile
from bench.questions import Question, shipped_mix, synthetic_mix
from bench.report import SHIPPED
from bench.stats import fingerprint, peak_rss_mb, percentile, rss_mb
from bench.synthetic import synthetic_work
from bot.config import DEFAULT_FACTS_DIR, PROJECT_ROOT
from bot.core.engine import Engine
from bot.core.loader import load_works
from bot.core.model import Work

# The baseline is confident above this WRatio score. Exactly 90 is what WRatio gives a short
# phrasing merely contained in a much longer question ("soo chan?" in "is soo-chan in the ashen
# crew"): its partial score scaled by 0.9. Above 90 the whole question resembles a whole phrasing.
BASELINE_CONFIDENT = 90
# ... and clearly so when its best phrasing is this far ahead of every other fact's best: below
# that, two facts fit the question about equally well and the pick between them is a toss-up.
BASELINE_CLEAR = 5
RUNNER_UP_DEPTH = 50  # phrasings ranked to find the best one of another fact
MIN_SAMPLES = 2000  # timed questions wanted per run, for a p99 that is not just the maximum
PASS_BUDGET = 5.0  # seconds: no further pass over the question mix after this


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What an engine run measures."""

    size: str  # "shipped" or a number of facts
    questions: int = 0  # synthetic works: how many questions (0: 400)
    seed: int = 7
    baseline: bool = True
    profile_queries: int = 0  # profile this many questions after measuring (0: no profile)
    profile_build: bool = False
    runner_up: bool = False  # also find how far the baseline's pick is ahead (untimed, slow)


@dataclass(slots=True)
class EngineRun:
    """The numbers of one engine run on one work."""

    size: str
    facts: int
    phrasings: int
    questions: int
    samples: int
    build_s: float
    p50_ms: float
    p99_ms: float
    per_second: float
    rss_work_mb: float  # before building the index: interpreter, libraries and the work
    peak_rss_mb: float  # after building it and answering every question
    answered: float  # fraction of questions the engine answered (did not decline)
    engine_correct: float | None  # synthetic: fraction whose top fact is the source fact
    baseline_p50_ms: float | None = None
    baseline_p99_ms: float | None = None
    baseline_questions: int = 0
    baseline_correct: float | None = None
    engine_correct_same: float | None = None  # engine_correct on the baseline's questions only
    confident: int = 0  # questions where the baseline scored > BASELINE_CONFIDENT
    agree: int = 0  # ... and the engine's answer is the baseline's fact
    clear: int = -1  # ... and BASELINE_CLEAR ahead of any other fact (-1: not computed)
    clear_agree: int = -1  # ... and the engine's answer is the baseline's fact
    disagree_engine_right: int = 0  # ... not, and the engine's is the question's source fact
    disagree_baseline_right: int = 0  # ... not, and the baseline's is
    profiles: dict[str, Any] = field(default_factory=dict)
    code: str = ""  # fingerprint of bot/core/ and facts/ when the run started


def baseline_questions(facts: int) -> int:
    """Questions the baseline is timed on: fewer above 20k facts, where each takes a second."""
    return 400 if facts <= 20_000 else 120


def load_work(spec: EngineSpec) -> tuple[Work, list[Question]]:
    """The work to index and its question mix."""
    if spec.size == SHIPPED:
        work = load_works([DEFAULT_FACTS_DIR])[0]
        return work, shipped_mix(seed=spec.seed)
    work = synthetic_work(int(spec.size), spec.seed)
    return work, synthetic_mix(work, spec.questions or 400, spec.seed)


def pin_to_one_core() -> None:
    """Run on one CPU, so 'questions per second' is per core and runs don't migrate."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def engine_run(spec: EngineSpec) -> EngineRun:
    """Build the index, time every question, then the baseline; optionally profile."""
    code = fingerprint(PROJECT_ROOT, "bot/core")
    work, mix = load_work(spec)
    texts = [q.text for q in mix]
    level = work.safest
    gc.collect()
    rss_work = rss_mb()
    started = time.perf_counter()
    engine = Engine(work)
    build_s = time.perf_counter() - started

    for text in texts[:5]:  # warm caches the first questions would otherwise pay for
        engine.answer(text, level)
    timings: list[float] = []
    answers: list[str | None] = []
    answered = 0
    loop_started = time.perf_counter()
    while not timings or (
        len(timings) < MIN_SAMPLES and time.perf_counter() - loop_started < PASS_BUDGET
    ):
        first_pass = not timings
        for text in texts:
            t0 = time.perf_counter_ns()
            reply = engine.answer(text, level)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
            if first_pass:
                result = reply.result
                top = result.match or (result.ranked[0] if result.ranked else None)
                answers.append(top.fact.id if top else None)
                answered += result.answered
    loop_s = time.perf_counter() - loop_started
    peak = peak_rss_mb()

    sources = [q.source for q in mix]
    on_topic = [i for i, s in enumerate(sources) if s is not None]
    run = EngineRun(
        size=spec.size,
        facts=len(work.facts),
        phrasings=sum(len(f.questions) for f in work.facts),
        questions=len(texts),
        samples=len(timings),
        build_s=build_s,
        p50_ms=percentile(timings, 50),
        p99_ms=percentile(timings, 99),
        per_second=len(timings) / loop_s,
        rss_work_mb=rss_work,
        peak_rss_mb=peak,
        code=code,
        answered=answered / len(texts),
        engine_correct=_share(answers[i] == sources[i] for i in on_topic) if on_topic else None,
    )
    if spec.baseline:
        count = baseline_questions(len(work.facts))
        keep = [i for i in on_topic if i < count]
        _baseline(run, work, texts[:count], answers[:count], sources[:count], keep)
        if spec.runner_up:
            _clear_agreement(run, work, texts[:count], answers[:count])
    if spec.profile_queries:
        some = texts[: spec.profile_queries]
        # Small works answer in microseconds: repeat the questions for a readable profile.
        rounds = max(1, min(50, math.ceil(0.5 / max(loop_s / len(timings) * len(some), 1e-9))))
        run.profiles["questions"] = profile(
            lambda: [engine.answer(t, level) for _ in range(rounds) for t in some],
            f"{len(some)} questions" + (f" x {rounds}" if rounds > 1 else ""),
            per=len(some) * rounds,
        )
    if spec.profile_build:
        del engine
        gc.collect()
        run.profiles["build"] = profile(lambda: Engine(work), "one index build")
    return run


def _clear_agreement(
    run: EngineRun, work: Work, texts: list[str], answers: list[str | None]
) -> None:
    """Agreement where the baseline is not only above 90 but clearly ahead of other facts."""
    choices = [q for fact in work.facts for q in fact.questions]
    owner = [fact.id for fact in work.facts for _ in fact.questions]
    run.clear = run.clear_agree = 0
    for text, answer in zip(texts, answers, strict=True):
        ranked = process.extract(
            text, choices, scorer=fuzz.WRatio, processor=utils.default_process,
            limit=RUNNER_UP_DEPTH,
        )  # fmt: skip
        if not ranked or ranked[0][1] <= BASELINE_CONFIDENT:
            continue
        pick = owner[ranked[0][2]]
        other = max((score for _, score, k in ranked if owner[k] != pick), default=0.0)
        if ranked[0][1] - other >= BASELINE_CLEAR:
            run.clear += 1
            run.clear_agree += answer == pick


def _share(flags: Any) -> float:
    """The share of true values."""
    values = list(flags)
    return sum(values) / len(values) if values else math.nan


def _baseline(
    run: EngineRun,
    work: Work,
    texts: list[str],
    answers: list[str | None],
    sources: list[str | None],
    on_topic: list[int],
) -> None:
    """The first thing one would write: best WRatio over every phrasing of every fact."""
    choices = [q for fact in work.facts for q in fact.questions]
    owner = [fact.id for fact in work.facts for _ in fact.questions]
    timings = []
    picked: list[str | None] = []
    for text, answer in zip(texts, answers, strict=True):
        t0 = time.perf_counter_ns()
        best = process.extractOne(
            text, choices, scorer=fuzz.WRatio, processor=utils.default_process
        )
        timings.append((time.perf_counter_ns() - t0) / 1e6)
        picked.append(owner[best[2]] if best is not None else None)
        if best is not None and best[1] > BASELINE_CONFIDENT:
            run.confident += 1
            run.agree += answer == picked[-1]
            source = sources[len(picked) - 1]
            if answer != picked[-1] and source is not None:
                # Who was right where they differ: the question's source fact decides.
                run.disagree_engine_right += answer == source
                run.disagree_baseline_right += picked[-1] == source
    run.baseline_p50_ms = percentile(timings, 50)
    run.baseline_p99_ms = percentile(timings, 99)
    run.baseline_questions = len(texts)
    if on_topic:
        run.baseline_correct = _share(picked[i] == sources[i] for i in on_topic)
        run.engine_correct_same = _share(answers[i] == sources[i] for i in on_topic)


def e2e_run(options: dict[str, Any]) -> dict[str, Any]:
    """An end-to-end run (see bench.e2e) with the shipped facts."""
    from bench.e2e import run_e2e

    texts = [q.text for q in shipped_mix(seed=int(options.get("seed", 7)))]
    n, batch = int(options["n"]), int(options["batch"])
    code = fingerprint(PROJECT_ROOT)
    out: dict[str, Any] = {"run": asyncio.run(run_e2e(texts, n, batch=batch)).as_dict()}
    out["run"]["code"] = code
    if options.get("profile"):
        # A second run under the profiler: its own timings are not reported.
        profiler = cProfile.Profile()
        asyncio.run(run_e2e(texts, n, batch=batch, profiler=profiler))
        out["profile"] = summarise_profile(profiler, f"{2 * n} questions, {batch} in flight")
    return out


def main(argv: list[str]) -> int:
    """`engine JSON` or `e2e JSON`: run it and print the result as one JSON line."""
    kind, raw = argv
    options = json.loads(raw)
    if kind == "engine":
        pin_to_one_core()
        out: dict[str, Any] = asdict(engine_run(EngineSpec(**options)))
    elif kind == "e2e":
        out = e2e_run(options)
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
