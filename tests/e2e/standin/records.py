"""What the stand-in remembers: REST calls, rule violations and injected faults."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(eq=False)
class RecordedCall:
    """One REST request the bot made, and what the stand-in answered."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    headers: dict[str, str]
    at: float
    wall_time: float
    route: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    fault_injected: bool = False

    @property
    def key(self) -> str:
        """`METHOD /path`, handy for substring matching."""
        return f"{self.method} {self.path}"

    @property
    def ok(self) -> bool:
        """Whether the answer was a 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def error_code(self) -> int | None:
        """Discord's JSON error code of the answer, if it was an error."""
        if isinstance(self.response, dict) and not self.ok:
            code = self.response.get("code")
            return code if isinstance(code, int) else None
        return None

    def __repr__(self) -> str:
        """Short form for assertion messages."""
        return f"<RecordedCall {self.key} -> {self.status}>"


@dataclass(frozen=True)
class Violation:
    """A request Discord would have refused (or one the stand-in does not know)."""

    kind: str
    message: str
    status: int
    code: int
    call: RecordedCall | None = None

    def __str__(self) -> str:
        """Human-readable form for assertion messages."""
        where = f" on {self.call.key}" if self.call is not None else ""
        return f"{self.kind}{where}: {self.status}/{self.code} {self.message}"


CallMatcher = str | re.Pattern[str] | Callable[[RecordedCall], bool]


def call_matches(matcher: CallMatcher, call: RecordedCall) -> bool:
    """Match a call by substring of `METHOD /path`, regex, or predicate."""
    if isinstance(matcher, str):
        return matcher in call.key
    if isinstance(matcher, re.Pattern):
        return matcher.search(call.key) is not None
    return bool(matcher(call))


@dataclass(eq=False)
class FaultRule:
    """An injected failure for the next matching REST calls."""

    matcher: CallMatcher
    status: int
    retry_after: float
    remaining: int
    is_global: bool = False
    hits: list[RecordedCall] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        """Whether the rule has fired as often as requested."""
        return self.remaining <= 0
