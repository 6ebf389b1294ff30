"""`python -m bot` as a user runs it: exit codes, JSON lines, piped chat, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def bot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ask_answers_and_exits_0() -> None:
    out = bot("ask", "--level", "ending", "who voices jay")
    assert out.returncode == 0 and "Hong Kyung" in out.stdout


def test_ask_unknown_exits_3_and_default_level_is_safest() -> None:
    assert bot("ask", "asdfgh qwerty").returncode == 3
    hidden = bot("ask", "--json", "does nan-young survive")
    row = json.loads(hidden.stdout)
    assert row["answered"] and row["tier"] == "ending"
    assert row["text"].splitlines()[1].startswith("|| ")


def test_ask_json_from_stdin_is_one_line_per_question_in_order() -> None:
    questions = ["who directed it", "", "tell me a joke", "what year is it in the movie"]
    out = bot("ask", "--json", "--level", "ending", "-", stdin="\n".join(questions) + "\n")
    assert out.returncode == 0
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert set(rows[0]) == {"question", "answered", "fact_id", "tier", "score", "text"}
    assert [r["answered"] for r in rows] == [True, False, False, True]
    assert "2050" in rows[3]["text"] and rows[2]["fact_id"] is None


def test_ask_plain_from_stdin_keeps_one_line_per_answer() -> None:
    out = bot("ask", "-", stdin="does nan-young survive\nwho directed it\n")
    assert len(out.stdout.splitlines()) == 2


def test_chat_reads_piped_lines() -> None:
    script = (
        "who directed it\n/level ending\ndoes nan young survive\n/level nope\n/summary\n/quit\n"
    )
    out = bot("chat", stdin=script)
    assert out.returncode == 0
    assert "Han Ji-won" in out.stdout
    assert "Level: ending" in out.stdout
    assert "error: unknown tier 'nope'; valid tiers: premise, setup" in out.stdout
    assert "**Ending**" in out.stdout and "||" not in out.stdout


def test_summary_through_a_later_tier_spoilers_it() -> None:
    out = bot("summary", "--level", "premise", "--through", "mars")
    assert out.returncode == 0 and out.stdout.count("||") >= 6


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "--level", "finale", "x"],
        ["summary", "--through", "epilogue"],
        ["chat", "--level", "x"],
        ["ask", "--bogus", "x"],
        ["frobnicate"],
        ["ask"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str]) -> None:
    out = bot(*args)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    if "x" in args[-1:] and "--bogus" not in args:
        assert "valid tiers: premise, setup, departure, mars, ending" in out.stderr
