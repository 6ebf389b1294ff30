"""Small measurement helpers: percentiles, medians and the process's resident memory."""

from __future__ import annotations

import hashlib
import math
import resource
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (no interpolation: p99 of 100 samples is the 99th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values (a run that measured nothing)."""
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


# Memory is reported in MB (10**6 bytes), the unit the targets are written in.
MB = 1e6


def rss_mb() -> float:
    """The current resident set size of this process, in MB (Linux; the peak elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / MB if sys.platform == "darwin" else peak * 1024 / MB


def fingerprint(root: Path, code: str = "bot") -> str:
    """A short hash of the code under `code` and the fact files, to tell runs of one version."""
    digest = hashlib.sha256()
    for path in sorted([*root.glob(f"{code}/**/*.py"), *root.glob("facts/*.yaml")]):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
