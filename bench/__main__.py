"""`python -m bench`: measure the engine, the baseline and the bot; write docs/benchmarks.md.

Every measurement runs in a fresh process (`bench.worker`), one after the other, so that
peak memory and warm caches do not mix between sizes and runs do not compete for the cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import (
    SHIPPED,
    TARGETS,
    E2ESummary,
    SizeSummary,
    label,
    plot,
    profile_notes,
    results_markdown,
    summarise,
    summarise_e2e,
    verdicts,
)
from bot.config import PROJECT_ROOT

DEFAULT_SIZES = "shipped,1k,10k,100k"
QUICK_SIZES = "shipped,1k,10k"
SWEEP = (1, 20, 50)  # batch sizes tried once each beside the default, to show the trade-off
PROFILE_QUESTIONS = 30
# Every run's numbers by what it measured, to check that the runs of one measurement all
# measured the same code: bot/ and facts/ may be edited while the benchmark runs.
RUNS: dict[str, list[dict[str, Any]]] = {}


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    sizes: list[str]
    repeat: int
    questions: int
    e2e: int
    batch: int
    sweep: bool
    profile: bool
    plot: bool
    out: Path
    seed: int
    command: str


def parse_size(text: str) -> str:
    """'shipped', '1k', '100000' or '1m' -> 'shipped' or a number of facts as text."""
    text = text.strip().lower()
    if text == SHIPPED:
        return SHIPPED
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = int(float(text[:-1] if scale > 1 else text) * scale)
    if number < 10:
        raise argparse.ArgumentTypeError(f"a work needs at least 10 facts, not {text!r}")
    return str(number)


def parse_args(argv: list[str]) -> Options:
    """Command-line options; --quick lowers the defaults it is given no explicit value for."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the answer engine, a plain rapidfuzz baseline and the bot.",
    )
    parser.add_argument("--sizes", help=f"works to measure (default {DEFAULT_SIZES})")
    parser.add_argument("--repeat", type=int, help="runs per work; medians are quoted (3)")
    parser.add_argument(
        "--questions",
        type=int,
        default=0,
        help="questions per synthetic work (default 400, 120 above 20k facts)",
    )
    parser.add_argument("--e2e", type=int, help="mentions and /ask each per end-to-end run (500)")
    parser.add_argument(
        "--batch", type=int, default=5, help="questions in flight at once end to end (5)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a fast look: {QUICK_SIZES}, one run, fewer questions, no sweep",
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the end-to-end batch sweep")
    parser.add_argument("--no-profile", action="store_true", help="skip profiling missed targets")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "docs",
        help="folder for benchmarks.md and benchmarks.png (docs/)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of works and questions (7)")
    args = parser.parse_args(argv)  # fmt: skip
    quick = args.quick
    sizes = args.sizes or (QUICK_SIZES if quick else DEFAULT_SIZES)
    return Options(
        sizes=[parse_size(s) for s in sizes.split(",") if s.strip()],
        repeat=max(1, args.repeat or (1 if quick else 3)),
        questions=args.questions or (150 if quick else 0),
        e2e=args.e2e if args.e2e is not None else (200 if quick else 500),
        batch=max(1, args.batch),
        sweep=not (quick or args.no_sweep),
        profile=not args.no_profile,
        plot=not args.no_plot,
        out=args.out,
        seed=args.seed,
        command=" ".join(["python -m bench", *argv]),
    )


def log(text: str) -> None:
    """Progress goes to stderr; stdout is the table."""
    print(text, file=sys.stderr, flush=True)


def worker(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return what it printed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", kind, json.dumps(options)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"bench worker {kind} {options} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _profile_flags(size: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What to profile in a work's last run: the kinds of targets an earlier run missed.

    The median of three misses only if one of the first two did. With a single run nothing is
    known yet, so every kind with a target is profiled.
    """
    kinds = set()
    for target in TARGETS:
        if target.where != size:
            continue
        values = [target.value(summarise(size, [run])) for run in runs]
        if not runs or any(v is None or not target.ok(v) for v in values):
            kinds.add(target.kind)
    return {
        "profile_queries": PROFILE_QUESTIONS if "questions" in kinds else 0,
        "profile_build": "build" in kinds,
    }


def measure_size(size: str, opts: Options) -> SizeSummary:
    """`opts.repeat` engine runs on one work, each in a fresh process."""
    runs: list[dict[str, Any]] = []
    for i in range(opts.repeat):
        spec: dict[str, Any] = {"size": size, "questions": opts.questions, "seed": opts.seed}
        # Answers are deterministic: how clearly the baseline leads is measured once.
        spec["runner_up"] = i == 0
        if opts.profile and i == opts.repeat - 1:
            spec.update(_profile_flags(size, runs))
        started = time.perf_counter()
        run = worker("engine", spec)
        runs.append(run)
        RUNS.setdefault(label(size), []).append(run)
        log(
            f"  {label(size)} run {i + 1}/{opts.repeat}: build {run['build_s']:.2f} s, "
            f"p50 {run['p50_ms']:.3f} ms, p99 {run['p99_ms']:.3f} ms, "
            f"peak {run['peak_rss_mb']:.0f} MB ({time.perf_counter() - started:.0f} s, "
            f"code {run['code'][:6]})"
        )
    return summarise(size, runs)


def measure_e2e(opts: Options) -> E2ESummary:
    """`opts.repeat` end-to-end runs at the default batch, then the sweep, one process each."""
    runs: list[dict[str, Any]] = []
    profile = None
    for i in range(opts.repeat):
        options: dict[str, Any] = {"n": opts.e2e, "batch": opts.batch, "seed": opts.seed}
        if opts.profile and i == opts.repeat - 1:
            options["profile"] = _e2e_missed(runs)
        out = worker("e2e", options)
        run = out["run"]
        runs.append(run)
        RUNS.setdefault("end to end", []).append(run)
        profile = out.get("profile") or profile
        log(
            f"  end to end run {i + 1}/{opts.repeat}: {run['per_second']:.0f}/s, "
            f"p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms (code {run['code'][:6]})"
        )
    sweep = []
    if opts.sweep:
        for batch in (b for b in SWEEP if b != opts.batch):
            run = worker("e2e", {"n": opts.e2e, "batch": batch, "seed": opts.seed})["run"]
            sweep.append(run)
            RUNS.setdefault("end to end", []).append(run)
    return summarise_e2e(runs, sweep, profile)


def _e2e_missed(runs: list[dict[str, Any]]) -> bool:
    """Whether an earlier end-to-end run missed a target (with none yet: profile anyway)."""
    if not runs:
        return True
    for run in runs:
        summary = summarise_e2e([run])
        for target in (t for t in TARGETS if t.where == "e2e"):
            value = target.value(summary)
            if value is not None and not target.ok(value):
                return True
    return False


def versions() -> dict[str, list[str]]:
    """The code fingerprints each measurement's runs saw, in the order they were measured."""
    return {what: list(dict.fromkeys(run["code"] for run in runs)) for what, runs in RUNS.items()}


def load_average() -> float | None:
    """The 1-minute load average, where the system tells it."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine(load: float | None) -> str:
    """One line about where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import discord
    import rapidfuzz

    # Other work on the machine shows up as noise in the numbers: say how busy it was.
    busy = f", load average {load:.2f} before the run" if load is not None else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"rapidfuzz {rapidfuzz.__version__}, discord.py {discord.__version__}, "
        f"{platform.system()} {platform.release()}{busy}"
    )


def code_line(codes: dict[str, list[str]]) -> str:
    """Which code was measured (sha256 prefixes), and a warning for any measurement that mixed."""
    engine = sorted({c for what, seen in codes.items() if what != "end to end" for c in seen})
    bot = codes.get("end to end", [])
    parts = []
    if engine:
        parts.append("engine " + ", ".join(f"`{c}`" for c in engine) + " (`bot/core/`, `facts/`)")
    if bot:
        parts.append("bot " + ", ".join(f"`{c}`" for c in bot) + " (`bot/`, `facts/`)")
    text = f"Code measured: {'; '.join(parts)}." if parts else ""
    mixed = [what for what, seen in codes.items() if len(seen) > 1]
    if mixed:
        text += (
            f" **The code changed between the runs of {', '.join(mixed)}: those medians mix "
            "versions.**"
        )
    return text


def document(
    opts: Options,
    tables: str,
    notes: str,
    plotted: bool,
    seconds: float,
    load: float | None,
    codes: dict[str, list[str]],
) -> str:
    """docs/benchmarks.md: how to run, the tables, the plot, the profile notes, the method."""
    today = datetime.date.today().isoformat()
    parts = [
        "# Benchmarks",
        f"Measured on {today} with `{opts.command}` ({seconds / 60:.1f} minutes) on "
        f"{machine(load)}. Every figure is the median of {opts.repeat} run(s), each in a fresh "
        f"process; engine runs are pinned to one core. {code_line(codes)} This file and the "
        "plot are written by the benchmark itself: rerun it rather than editing them.",
        "## How to run",
        "```sh\n"
        ".venv/bin/pip install -e '.[bench]'   # matplotlib, for the plot\n"
        ".venv/bin/python -m bench             # about 10 minutes: shipped, 1k, 10k, 100k facts\n"
        ".venv/bin/python -m bench --quick     # under a minute: shipped, 1k, 10k; one run\n"
        ".venv/bin/python -m bench --sizes shipped,10k --repeat 5 --e2e 1000\n"
        "```",
        "Run it from the repository root: the end-to-end part imports the Discord stand-in of "
        "the tests as `tests.e2e.standin`. `--out DIR` writes the report elsewhere, "
        "`--no-profile`, `--no-sweep` and `--no-plot` skip those parts.",
        "## Results",
        tables.strip(),
    ]
    if plotted:
        parts += [
            "## Latency against size",
            "![Latency per question against the number of facts, log-log: engine and "
            "baseline, p50 and p99](benchmarks.png)",
        ]
    if notes:
        parts += [
            "## What the profile shows",
            "For each missed target of the engine, cProfile of the last run of that work (after "
            "its timings were taken). rapidfuzz's scorers are compiled and do not appear as "
            "entries of their own: their time is counted in the Python line that calls them, "
            "shown in the last column.",
            notes,
        ]
    parts += ["## How it is measured", METHOD.strip()]
    return "\n\n".join(parts) + "\n"


METHOD = """
- **Works.** `shipped` is the fact file in `facts/` (`bot.config.DEFAULT_FACTS_DIR`). The
  others are synthetic (`bench/synthetic.py`), built in memory as `Work` objects with a fixed
  seed: a franchise with characters with Korean and English names (one per 12 facts), places,
  objects, events and groups over six tiers. Facts are about one entity (who voices, who is,
  fate, motive, what is the place, ...) or about a pair (relationships, who holds what, who is
  where at which event, membership); popular characters appear in many facts. Each fact has 6
  to 10 phrasings from shared templates, its terms and an answer sentence.
- **Questions.** Shipped: the sample questions of `shared/lost-in-starlight/sample-questions.yaml`
  and four retypings of each (typos, a dropped or swapped word, capitals, question marks).
  Synthetic: 400 phrasings of random facts with 0 to 3 such edits, and 10% off-topic
  questions.
- **Engine.** `Engine(work)` is the index build. Each question is timed through
  `engine.answer(question, safest tier)`, i.e. matching and rendering, in passes over the mix
  until 2,000 timings or 5 s (at least one pass); questions/s is timings over their wall time.
  Peak RSS (`ru_maxrss`) is read right after, before anything else runs in that process; it
  includes the interpreter, the libraries and the work itself (the *RSS before index* column).
- **Baseline.** What one writes first: `process.extractOne(question, phrasings,
  scorer=fuzz.WRatio, processor=utils.default_process)` over every phrasing of every fact, its
  answer the fact of the best phrasing. Timed in every run over one pass of the same
  questions (the first 120 of them above 20k facts, where each takes about a second).
- **Agreement.** Among the questions where the baseline's best score is above 90, the share
  where the engine's answer (its match, or its top-ranked fact when it declines) is the same
  fact. Exactly 90 is not counted: it is what WRatio gives any short phrasing contained in a
  longer question (a partial ratio of 100 scaled by 0.9), such as "soo chan?" inside "is
  soo-chan in the ashen crew", and those picks are mostly wrong. The baseline counts as
  *confident* (the target) when, in addition, its best phrasing scores at least 5 more than
  the best phrasing of any other fact (found in its top 50, untimed, in the first run): closer
  than that, two facts fit the question about equally well ("who voices woo" with a Jun-woo
  and a Woo-jin in the work) and its pick between them is a toss-up. *Top fact =
  source* is the share of non-off-topic synthetic questions whose top fact is the one the
  question was made from.
- **End to end.** The real bot (`bot.app.open_bot`) against the loopback Discord stand-in of
  `tests/e2e`, in the same process and event loop, with the shipped facts, 200 members, 4
  channels, cooldown and stand-in rate limits out of the way. Mentions and `/ask` alternate;
  each batch is sent concurrently and the next one starts when all are answered. Latency is
  from the event's dispatch to the arrival of the bot's REST reply (the stand-in's
  timestamps); answered/s is replies over the wall time of the run. Latency grows with the
  batch (questions queue behind each other on one event loop): the sweep shows the trade-off.
  RSS is the whole process, stand-in included: before the bot is opened (stand-in, world,
  libraries) and right after the last reply.
"""


def main(argv: list[str] | None = None) -> int:
    """Run everything asked for, print the tables, write the report and the plot."""
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    RUNS.clear()
    load = load_average()
    started = time.perf_counter()
    summaries: list[SizeSummary] = []
    for size in opts.sizes:
        log(f"{label(size)}:")
        summaries.append(measure_size(size, opts))
    e2e = None
    if opts.e2e > 0:
        log("end to end:")
        e2e = measure_e2e(opts)
    codes = versions()
    for what, seen in codes.items():
        if len(seen) > 1:
            log(f"warning: the code changed between the runs of {what} ({', '.join(seen)})")
    by_size = {s.size: s for s in summaries}
    results = verdicts(by_size, e2e)
    tables = results_markdown(summaries, e2e, results)
    print(tables)
    opts.out.mkdir(parents=True, exist_ok=True)
    plotted = opts.plot and plot(summaries, opts.out / "benchmarks.png")
    if opts.plot and not plotted:
        log("matplotlib is missing (pip install -e '.[bench]'): no plot")
    notes = profile_notes(by_size, e2e, results) if opts.profile else ""
    seconds = time.perf_counter() - started
    text = document(opts, tables, notes, plotted, seconds, load, codes)
    (opts.out / "benchmarks.md").write_text(text, encoding="utf-8")
    log(f"wrote {opts.out / 'benchmarks.md'} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
