"""Results to markdown tables, the targets' pass/miss verdicts, the profile notes and the plot.

Everything here works on the plain dictionaries the workers print, so the tables can be built
(and tested) without running anything; only `plot` needs matplotlib (the `bench` extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import median

Run = dict[str, Any]
SHIPPED = "shipped"


def label(size: str) -> str:
    """'shipped' stays, 100000 reads '100k'."""
    if size == SHIPPED:
        return SHIPPED
    n = int(size)
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def num(value: float | None, unit: str = "") -> str:
    """A number with about three significant digits, no exponent; '-' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    size = abs(value)
    if size >= 100:
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def pct(part: float | None) -> str:
    """A fraction as a percentage."""
    if part is None or math.isnan(part):
        return "-"
    return f"{100 * part:.1f}%"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------- summaries


@dataclass(frozen=True, slots=True)
class SizeSummary:
    """The medians over the runs of one work, and the run-independent numbers of the first."""

    size: str
    runs: int
    facts: int
    phrasings: int
    questions: int
    build_s: float
    p50_ms: float
    p99_ms: float
    per_second: float
    rss_work_mb: float
    peak_rss_mb: float
    baseline_p50_ms: float | None
    baseline_p99_ms: float | None
    baseline_questions: int
    answered: float
    engine_correct: float | None
    baseline_correct: float | None
    engine_correct_same: float | None
    confident: int
    agree: int
    clear: int
    clear_agree: int
    disagree_engine_right: int
    disagree_baseline_right: int
    profiles: dict[str, Any]

    @property
    def ratio(self) -> float | None:
        """Engine latency over baseline latency (p50): below 1 means the engine is faster."""
        if not self.baseline_p50_ms:
            return None
        return self.p50_ms / self.baseline_p50_ms

    @property
    def agreement(self) -> float | None:
        """Among questions where the baseline scored above 90, the share answered the same."""
        return self.agree / self.confident if self.confident else None

    @property
    def clear_agreement(self) -> float | None:
        """The same, where the baseline's fact is also clearly ahead of any other."""
        return self.clear_agree / self.clear if self.clear > 0 else None


def summarise(size: str, runs: Sequence[Run]) -> SizeSummary:
    """Median of each timing over the runs; answers are deterministic, so taken once."""

    def med(key: str) -> float:
        return median([r[key] for r in runs if r.get(key) is not None])

    with_baseline = [r for r in runs if r.get("baseline_p50_ms") is not None]
    first = with_baseline[0] if with_baseline else runs[0]
    cleared = next((r for r in runs if r.get("clear", -1) >= 0), {})
    profiles: dict[str, Any] = {}
    for run in runs:
        profiles.update(run.get("profiles") or {})
    return SizeSummary(
        size=size,
        runs=len(runs),
        facts=first["facts"],
        phrasings=first["phrasings"],
        questions=first["questions"],
        build_s=med("build_s"),
        p50_ms=med("p50_ms"),
        p99_ms=med("p99_ms"),
        per_second=med("per_second"),
        rss_work_mb=med("rss_work_mb"),
        peak_rss_mb=med("peak_rss_mb"),
        baseline_p50_ms=med("baseline_p50_ms") if with_baseline else None,
        baseline_p99_ms=med("baseline_p99_ms") if with_baseline else None,
        baseline_questions=first.get("baseline_questions", 0),
        answered=first["answered"],
        engine_correct=first.get("engine_correct"),
        baseline_correct=first.get("baseline_correct"),
        engine_correct_same=first.get("engine_correct_same"),
        confident=first.get("confident", 0),
        agree=first.get("agree", 0),
        clear=cleared.get("clear", -1),
        clear_agree=cleared.get("clear_agree", -1),
        disagree_engine_right=first.get("disagree_engine_right", 0),
        disagree_baseline_right=first.get("disagree_baseline_right", 0),
        profiles=profiles,
    )


@dataclass(frozen=True, slots=True)
class E2ESummary:
    """Medians over the end-to-end runs at the default batch, and the batch sweep."""

    runs: int
    asked: int
    batch: int
    users: int
    per_second: float
    p50_ms: float
    p99_ms: float
    rss_before_mb: float
    rss_after_mb: float
    apologies: int
    violations: int
    unanswered: int
    rest_calls: float
    sweep: list[Run]
    profile: dict[str, Any] | None = None


def summarise_e2e(
    runs: Sequence[Run], sweep: Sequence[Run] = (), profile: dict[str, Any] | None = None
) -> E2ESummary:
    """Median of each number over the runs."""

    def med(key: str) -> float:
        return median([r[key] for r in runs])

    return E2ESummary(
        runs=len(runs),
        asked=runs[0]["asked"],
        batch=runs[0]["batch"],
        users=runs[0]["users"],
        per_second=med("per_second"),
        p50_ms=med("p50_ms"),
        p99_ms=med("p99_ms"),
        rss_before_mb=med("rss_before_mb"),
        rss_after_mb=med("rss_after_mb"),
        apologies=max(r["apologies"] for r in runs),
        violations=max(r["violations"] for r in runs),
        unanswered=max(r["asked"] - r["answered"] for r in runs),
        rest_calls=med("rest_calls"),
        sweep=list(sweep),
        profile=profile,
    )


# ------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for one number of one work; `value` reads it from the summaries."""

    where: str  # a size ("shipped", "10000") or "e2e"
    what: str
    goal: str
    value: Callable[[Any], float | None]
    ok: Callable[[float], bool]
    shown: Callable[[float], str]
    kind: str  # what explains a miss: "questions", "build", "memory", "quality" or "e2e"


TARGETS: tuple[Target, ...] = (
    Target("shipped", "p99 per question", "< 0.3 ms", lambda s: s.p99_ms,
           lambda v: v < 0.3, lambda v: num(v, "ms"), "questions"),
    Target("shipped", "index build", "< 0.3 s", lambda s: s.build_s,
           lambda v: v < 0.3, lambda v: num(v, "s"), "build"),
    Target("10000", "p99 per question", "< 2 ms", lambda s: s.p99_ms,
           lambda v: v < 2, lambda v: num(v, "ms"), "questions"),
    Target("100000", "p99 per question", "< 10 ms", lambda s: s.p99_ms,
           lambda v: v < 10, lambda v: num(v, "ms"), "questions"),
    Target("100000", "index build", "< 10 s", lambda s: s.build_s,
           lambda v: v < 10, lambda v: num(v, "s"), "build"),
    Target("100000", "peak memory (RSS) with the index", "< 500 MB", lambda s: s.peak_rss_mb,
           lambda v: v < 500, lambda v: num(v, "MB"), "memory"),
    Target("100000", "speed-up over the baseline (p50)", ">= 20x",
           lambda s: 1 / s.ratio if s.ratio else None,
           lambda v: v >= 20, lambda v: f"{num(v)}x", "questions"),
    Target("100000", "same answer where the baseline is confident", "100%",
           lambda s: s.clear_agreement, lambda v: v >= 1.0, pct, "quality"),
    Target("e2e", "answered per second", ">= 300/s", lambda e: e.per_second,
           lambda v: v >= 300, lambda v: f"{num(v)}/s", "e2e"),
    Target("e2e", "p99 event to REST reply", "< 50 ms", lambda e: e.p99_ms,
           lambda v: v < 50, lambda v: num(v, "ms"), "e2e"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """A target with its measured value."""

    target: Target
    value: float | None

    @property
    def passed(self) -> bool | None:
        """True / False, or None when not measured."""
        if self.value is None or math.isnan(self.value):
            return None
        return self.target.ok(self.value)


def verdicts(sizes: dict[str, SizeSummary], e2e: E2ESummary | None) -> list[Verdict]:
    """Every target whose work was measured in this run."""
    out = []
    for target in TARGETS:
        subject: Any = e2e if target.where == "e2e" else sizes.get(target.where)
        if subject is not None:
            out.append(Verdict(target, target.value(subject)))
    return out


def targets_table(results: Sequence[Verdict]) -> str:
    """Measured value against each target, with a pass/miss column."""
    rows = []
    for v in results:
        where = "end to end" if v.target.where == "e2e" else label(v.target.where)
        shown = v.target.shown(v.value) if v.passed is not None and v.value is not None else "-"
        result = {True: "pass", False: "**miss**", None: "-"}[v.passed]
        rows.append([where, v.target.what, shown, v.target.goal, result])
    return table(["work", "measure", "measured", "target", "result"], rows)


# ------------------------------------------------------------------------- tables


def engine_table(sizes: Sequence[SizeSummary]) -> str:
    """One row per work: index build, latency, throughput, memory, and the baseline."""
    rows = []
    for s in sizes:
        ratio = s.ratio
        rows.append(
            [
                label(s.size),
                f"{s.facts:,}",
                f"{s.phrasings:,}",
                num(s.build_s),
                num(s.p50_ms),
                num(s.p99_ms),
                num(s.per_second),
                num(s.peak_rss_mb),
                num(s.baseline_p50_ms),
                num(s.baseline_p99_ms),
                f"{num(ratio)} ({num(1 / ratio)}x)" if ratio else "-",
                f"{s.agree}/{s.confident} ({pct(s.agreement)})" if s.confident else "-",
                f"{s.clear_agree}/{s.clear} ({pct(s.clear_agreement)})" if s.clear > 0 else "-",
            ]
        )
    head = [
        "work",
        "facts",
        "phrasings",
        "build s",
        "p50 ms",
        "p99 ms",
        "questions/s (1 core)",
        "peak RSS MB",
        "baseline p50 ms",
        "baseline p99 ms",
        "engine/baseline p50",
        "agreement where baseline > 90",
        "... and 5 ahead of other facts (confident)",
    ]
    return table(head, rows)


def quality_table(sizes: Sequence[SizeSummary]) -> str:
    """What the index does with the questions: answers, correctness, facts scored."""
    rows = [
        [
            label(s.size),
            str(s.questions),
            pct(s.answered),
            pct(s.engine_correct),
            f"{pct(s.engine_correct_same)} / {pct(s.baseline_correct)}"
            if s.baseline_correct is not None
            else "-",
            _disagreements(s),
            num(s.rss_work_mb),
        ]
        for s in sizes
    ]
    head = [
        "work",
        "questions",
        "engine answered",
        "engine top fact = source",
        "on the baseline's questions: engine / baseline = source",
        "confident disagreements: engine / baseline right",
        "RSS before index MB",
    ]
    return table(head, rows)


def _disagreements(s: SizeSummary) -> str:
    """Where the baseline is confident but the engine answers otherwise: who had it right."""
    if s.engine_correct is None or not s.confident:
        return "-"
    differ = s.confident - s.agree
    return f"{differ}: {s.disagree_engine_right} / {s.disagree_baseline_right}"


def e2e_table(e2e: E2ESummary) -> str:
    """The end-to-end medians, then one row per batch size of the sweep."""
    rows = [
        [
            f"{e2e.batch} (median of {e2e.runs})",
            str(e2e.asked),
            num(e2e.per_second),
            num(e2e.p50_ms),
            num(e2e.p99_ms),
            num(e2e.rss_before_mb),
            num(e2e.rss_after_mb),
            num(e2e.rest_calls),
            str(e2e.unanswered),
        ]
    ]
    for run in e2e.sweep:
        rows.append(
            [
                str(run["batch"]),
                str(run["asked"]),
                num(run["per_second"]),
                num(run["p50_ms"]),
                num(run["p99_ms"]),
                num(run["rss_before_mb"]),
                num(run["rss_after_mb"]),
                num(run["rest_calls"]),
                str(run["asked"] - run["answered"]),
            ]
        )
    head = [
        "in flight (batch)",
        "questions",
        "answered/s",
        "p50 ms",
        "p99 ms",
        "RSS before the bot MB",
        "RSS after MB",
        "REST calls per question",
        "unanswered",
    ]
    return table(head, rows)


def results_markdown(
    sizes: Sequence[SizeSummary], e2e: E2ESummary | None, results: Sequence[Verdict]
) -> str:
    """The tables `python -m bench` prints."""
    parts = ["### Targets", targets_table(results), "### Engine", engine_table(sizes)]
    parts += ["### What the index does", quality_table(sizes)]
    if e2e is not None:
        parts += ["### End to end", e2e_table(e2e)]
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------- profiles


def profile_notes(
    sizes: dict[str, SizeSummary], e2e: E2ESummary | None, results: Sequence[Verdict]
) -> str:
    """For each missed target: where the time goes (profiles) or what differs (answers)."""
    missed: dict[str, set[str]] = {}
    for v in results:
        if v.passed is False:
            missed.setdefault(v.target.where, set()).add(v.target.kind)
    parts: list[str] = []
    for where, kinds in missed.items():
        if where == "e2e":
            if e2e is not None and e2e.profile:
                parts += _e2e_notes(e2e)
            continue
        s = sizes[where]
        for kind in ("questions", "build"):
            if kind in kinds and s.profiles.get(kind):
                parts += _engine_notes(s, kind, s.profiles[kind])
            elif kind in kinds:
                parts.append(
                    f"**{label(where)} facts, {kind}:** missed on the median, but the earlier "
                    "runs passed, so the last one was not profiled: rerun to profile it."
                )
        if "quality" in kinds:
            parts.append(_quality_note(s))
        if "memory" in kinds:
            parts.append(
                f"**{label(where)} facts, memory.** Peak RSS {num(s.peak_rss_mb)} MB, of which "
                f"{num(s.rss_work_mb)} MB were there before the index was built (interpreter, "
                "libraries and the `Work` itself)."
            )
    return "\n\n".join(parts)


def _engine_notes(s: SizeSummary, kind: str, profile: dict[str, Any]) -> list[str]:
    """The function and line tables of one engine profile."""
    title = "per question" if kind == "questions" else "index build"
    per = "per question" if kind == "questions" else "calls"
    intro = (
        f"**{label(s.size)} facts, {title}** (cProfile over {profile['what']}: "
        f"{num(profile['total_s'])} s profiled). By function, own time:"
    )
    rows = [
        [
            pct(r["share"]),
            f"`{r['function']}`",
            num(r["calls"]),
            num(r["cumulative_s"]),
            f"`{r['source']}`" if r["source"] else "",
        ]
        for r in profile["top"][:6]
    ]
    out = [intro, table(["own time", "function", per, "cumulative s", "code"], rows)]
    lines = profile.get("lines") or []
    if lines:
        out.append("By line of `bot/` on top of the stack (sampled every 0.5 ms, same work):")
        out.append(
            table(
                ["samples", "line", "code"],
                [[pct(r["share"]), f"`{r['line']}`", f"`{r['source']}`"] for r in lines],
            )
        )
    return out


def _quality_note(s: SizeSummary) -> str:
    """Why the engine and the baseline differ where the baseline is confident."""
    differ = s.confident - s.agree
    text = (
        f"**{label(s.size)} facts, agreement.** Not a matter of speed: the baseline scored "
        f"above 90 on {s.confident} of the {s.baseline_questions} questions it was timed on, "
        f"and the engine answered {differ} of those with another fact"
    )
    if s.engine_correct is not None:
        neither = differ - s.disagree_engine_right - s.disagree_baseline_right
        text += (
            f": the engine's fact was the one the question was made from in "
            f"{s.disagree_engine_right}, the baseline's in {s.disagree_baseline_right}, neither "
            f"in {neither} (synthetic names repeat: 'who is ji-hee' fits every Ji-hee). "
            f"Over those of the {s.baseline_questions} questions made from a fact, the "
            f"engine's top fact is the source in {pct(s.engine_correct_same)}, the baseline's "
            f"in {pct(s.baseline_correct)}"
        )
    if s.clear > 0:
        text += (
            f". Where the baseline's fact is also 5 ahead of any other (confident), "
            f"{s.clear - s.clear_agree} of {s.clear} differ"
        )
    return text + "."


def _e2e_notes(e2e: E2ESummary) -> list[str]:
    """Where end-to-end time goes, by area and by function."""
    profile = e2e.profile or {}
    queue = e2e.batch / e2e.per_second * 1000 if e2e.per_second else math.nan
    areas = ", ".join(f"{a['area']} {pct(a['share'])}" for a in profile.get("areas", [])[:8])
    intro = (
        f"**End to end** (cProfile of a separate run, {profile.get('what', '')}: "
        f"{num(profile.get('total_s'))} s profiled). With {e2e.batch} questions sent at once, "
        f"the last of a batch waits for the ones before it on the single event loop: at "
        f"{num(e2e.per_second)} answered/s that alone is about {num(queue)} ms "
        f"(see the batch sweep above). Own time by area: {areas}."
    )
    rows = [
        [pct(r["share"]), f"`{r['function']}`", num(r["calls"]), num(r["cumulative_s"])]
        for r in profile.get("top", [])[:8]
    ]
    return [intro, table(["own time", "function", "calls", "cumulative s"], rows)]


# ------------------------------------------------------------------------- plot


def plot(sizes: Sequence[SizeSummary], path: Path) -> bool:
    """Latency against work size, log-log, engine beside baseline; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ordered = sorted(sizes, key=lambda s: s.facts)
    x = [s.facts for s in ordered]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    ax.plot(x, [s.p50_ms for s in ordered], "o-", color="tab:blue", label="engine p50")
    ax.plot(x, [s.p99_ms for s in ordered], "o--", color="tab:blue", alpha=0.6,
            label="engine p99")  # fmt: skip
    base = [s for s in ordered if s.baseline_p50_ms]
    if base:
        bx = [s.facts for s in base]
        ax.plot(bx, [s.baseline_p50_ms for s in base], "s-", color="tab:orange",
                label="baseline p50 (WRatio over all phrasings)")  # fmt: skip
        ax.plot(bx, [s.baseline_p99_ms for s in base], "s--", color="tab:orange", alpha=0.6,
                label="baseline p99")  # fmt: skip
    goals = {"shipped": 0.3, "10000": 2.0, "100000": 10.0}
    tx = [s.facts for s in ordered if s.size in goals]
    if tx:
        ty = [goals[s.size] for s in ordered if s.size in goals]
        ax.plot(tx, ty, "x", color="tab:red", markersize=9, mew=2, label="p99 target")
    for s in ordered:
        ax.annotate(f"{label(s.size)} ({s.facts:,})", (s.facts, s.p50_ms),
                    textcoords="offset points", xytext=(6, 6), fontsize=8)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("facts in the work")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title("Question latency against work size (one core)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
