"""Where time goes: cProfile by function, a line sampler for the project's code, and areas.

cProfile charges the time of compiled calls (rapidfuzz's scorers, dict lookups inside a loop)
to the Python function around them, so a hot function with one long loop says little on its
own; the sampler says which line of it the time is spent on.
"""

from __future__ import annotations

import cProfile
import linecache
import os
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any

from bot.config import PROJECT_ROOT

ROOT = str(PROJECT_ROOT) + os.sep
BOT = os.path.join(ROOT, "bot") + os.sep

# Where end-to-end time goes, by the path of the code (first match wins).
AREAS: tuple[tuple[str, str], ...] = (
    (os.path.join(BOT, "core") + os.sep, "engine (bot/core)"),
    (BOT, "bot: cogs, app, storage"),
    (os.path.join(ROOT, "tests", "e2e", "standin") + os.sep, "stand-in (tests/e2e/standin)"),
    (f"{os.sep}discord{os.sep}", "discord.py"),
    (f"{os.sep}aiohttp{os.sep}", "aiohttp, yarl, multidict"),
    (f"{os.sep}yarl{os.sep}", "aiohttp, yarl, multidict"),
    (f"{os.sep}multidict{os.sep}", "aiohttp, yarl, multidict"),
    (f"{os.sep}aiosqlite{os.sep}", "aiosqlite"),
    (f"{os.sep}asyncio{os.sep}", "asyncio"),
    (f"{os.sep}json{os.sep}", "json"),
)


def where(path: str, line: int, name: str) -> str:
    """A short, readable location: project-relative path, or the last two path parts."""
    if path == "~":
        return name  # a built-in, e.g. "<method 'sort' of 'list' objects>"
    if path == "<string>":
        return f"{name} (generated code, e.g. a dataclass __init__)"
    if path.startswith(ROOT):
        return f"{path[len(ROOT) :]}:{line} {name}"
    return f"{'/'.join(path.split(os.sep)[-2:])}:{line} {name}"


def source(path: str, line: int, lines: int = 1) -> str:
    """The code at `line` (and the next `lines - 1`), squeezed onto one line."""
    if not os.path.isabs(path):
        return ""
    text = " ".join(linecache.getline(path, n).strip() for n in range(line, line + lines))
    return " ".join(text.split())[:110]


def area(path: str, name: str) -> str:
    """Which part of the system a profiled function belongs to."""
    if path == "~":
        return "waiting for I/O (epoll)" if "poll" in name else "built-ins and C extensions"
    for marker, label in AREAS:
        if marker in path:
            return label
    return "other Python (standard library)"


def cprofile(work: Callable[[], object], what: str, per: int = 1, top: int = 8) -> dict[str, Any]:
    """cProfile `work()`: the functions where time goes by own time, and totals by area."""
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    return summarise_profile(profiler, what, per, top)


def summarise_profile(
    profiler: cProfile.Profile, what: str, per: int = 1, top: int = 8
) -> dict[str, Any]:
    """The top functions by own time (calls divided by `per`) and own time by area."""
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1e-12
    rows = []
    areas: Counter[str] = Counter()
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in raw.items():
        areas[area(path, name)] += tottime
        rows.append(
            {
                "function": where(path, line, name),
                "source": source(path, line, 3),
                "calls": ncalls / per,
                "own_s": tottime,
                "cumulative_s": cumtime,
                "share": tottime / total,
            }
        )
    rows.sort(key=lambda r: -r["own_s"])
    return {
        "what": what,
        "total_s": total,
        "top": rows[:top],
        "areas": [{"area": a, "share": s / total} for a, s in areas.most_common()],
    }


class LineSampler:
    """Samples the running thread's innermost line of the project's `bot/` code.

    A background thread looks at the measured thread's stack every `interval` seconds; the
    switch interval is lowered meanwhile so that it gets the interpreter lock that often.
    """

    def __init__(self, interval: float = 0.0005, prefix: str = BOT) -> None:
        self.interval = interval
        self.prefix = prefix
        self.counts: Counter[tuple[str, int, str]] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._target = 0
        self._switch = sys.getswitchinterval()

    def __enter__(self) -> LineSampler:
        """Start sampling the calling thread."""
        self._target = threading.get_ident()
        sys.setswitchinterval(self.interval / 2)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._switch)

    def _run(self) -> None:
        """Sample until stopped: the innermost frame of the measured thread in `prefix`."""
        while not self._stop.is_set():
            time.sleep(self.interval)
            frame = sys._current_frames().get(self._target)
            while frame is not None and not frame.f_code.co_filename.startswith(self.prefix):
                frame = frame.f_back
            self.samples += 1
            if frame is not None:
                code = frame.f_code
                # A frame caught between instructions may have no line yet: use its first.
                line = frame.f_lineno or code.co_firstlineno
                self.counts[(code.co_filename, line, code.co_name)] += 1

    def hot_lines(self, top: int = 6) -> list[dict[str, Any]]:
        """The lines most often on top of the project's part of the stack."""
        return [
            {
                "line": where(path, line, name),
                "source": source(path, line),
                "share": count / self.samples if self.samples else 0.0,
            }
            for (path, line, name), count in self.counts.most_common(top)
        ]


def profile(work: Callable[[], object], what: str, per: int = 1) -> dict[str, Any]:
    """cProfile `work()`, then run it again under the line sampler."""
    result = cprofile(work, what, per)
    with LineSampler() as sampler:
        work()
    result["lines"] = sampler.hot_lines()
    return result
