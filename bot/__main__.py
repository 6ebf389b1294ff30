"""Command line: `python -m bot run | sync | chat | ask | summary | validate`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from bot.config import ConfigError, Settings
from bot.core.engine import Engine, Reply, UnknownTier
from bot.core.loader import FactFileError, load_works
from bot.core.model import Tier

EXIT_UNANSWERED = 3
EXIT_USAGE = 2

CHAT_HELP = """\
Type a question and press Enter; the bot answers as it would in a channel at the current level.
  /level TIER      change the level (tiers: {tiers})
  /summary [TIER]  the plot summary through TIER (default: the current level)
  /help            this text
  /quit            leave (Ctrl-D works too)"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar."""
    parser = _Parser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    facts = _Parser(add_help=False)
    facts.add_argument(
        "--facts",
        type=Path,
        metavar="DIR",
        help="fact files directory (default: BOT_FACTS_DIR or ./facts)",
    )
    level = _Parser(add_help=False)
    level.add_argument("--level", metavar="TIER", help="viewer's spoiler level (default: safest)")

    sub.add_parser("run", help="connect to Discord and serve")
    sync = sub.add_parser("sync", help="register the slash commands with Discord, then exit")
    sync.add_argument("--guild", type=int, metavar="ID", help="sync to one server (instant)")

    sub.add_parser("chat", parents=[facts, level], help="try the bot in this terminal")
    ask = sub.add_parser("ask", parents=[facts, level], help="answer one question")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.add_argument("question", metavar="QUESTION", help="the question, or - to read lines")
    summary = sub.add_parser("summary", parents=[facts, level], help="print the plot summary")
    summary.add_argument("--through", metavar="TIER", help="how far (default: the level)")
    validate = sub.add_parser("validate", help="check fact files; exit 1 on any problem")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
        if args.command in ("run", "sync"):
            from bot.app import run_command  # Discord is imported only for these two

            return run_command(args.command, settings, getattr(args, "guild", None))
        if args.command == "validate":
            return _validate(args.paths or [settings.facts_dir])
        engine = Engine.load([args.facts or settings.facts_dir], settings.work_id)
        level = engine.tier(args.level)
        if args.command == "ask":
            return _ask(engine, level, args.question, args.json)
        if args.command == "summary":
            _print_messages(engine.summary(level, engine.tier(args.through or level.id)))
            return 0
        return _chat(engine, level, sys.stdin, sys.stdout)
    except (UnknownTier, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FactFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1


def _validate(paths: Sequence[Path]) -> int:
    try:
        works = load_works(paths)
    except FactFileError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) found")
        return 1
    for work in works:
        print(f"{work.source}: ok ({work.title}: {len(work.tiers)} tiers, {len(work.facts)} facts)")
    return 0


def _ask(engine: Engine, level: Tier, question: str, as_json: bool) -> int:
    if question != "-":
        reply = engine.answer(question, level)
        print(_format(reply, as_json))
        return 0 if reply.result.answered else EXIT_UNANSWERED
    for line in sys.stdin:
        # One output line per input line, so a script can zip questions with answers.
        print(
            _format(engine.answer(line.rstrip("\r\n"), level), as_json, one_line=True), flush=True
        )
    return 0


def _format(reply: Reply, as_json: bool, one_line: bool = False) -> str:
    text = "\n\n".join(reply.messages)
    if as_json:
        match = reply.result.match
        return json.dumps(
            {
                "question": reply.result.question,
                "answered": match is not None,
                "fact_id": match.fact.id if match else None,
                "tier": match.fact.tier.id if match else None,
                "score": round(match.score, 4) if match else None,
                "text": text,
            },
            ensure_ascii=False,
        )
    return text.replace("\n", " ") if one_line else text


def _print_messages(messages: Sequence[str], out: TextIO | None = None) -> None:
    print("\n\n".join(messages), file=out or sys.stdout)


def _chat(engine: Engine, level: Tier, stdin: TextIO, out: TextIO) -> int:
    interactive = stdin.isatty()
    if interactive:
        print(f"{engine.work.title}: ask away. /help for commands.", file=out)
    while True:
        if interactive:
            print(f"[{level.id}] > ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        command, _, rest = line.partition(" ")
        try:
            if command == "/quit":
                return 0
            if command == "/help":
                print(CHAT_HELP.format(tiers=engine.work.tier_ids()), file=out)
            elif command == "/level":
                if rest.strip():
                    level = engine.tier(rest.strip())
                print(f"Level: {level.id} ({level.label})", file=out)
            elif command == "/summary":
                through = engine.tier(rest.strip()) if rest.strip() else level
                _print_messages(engine.summary(level, through), out)
            elif command.startswith("/"):
                print(f"Unknown command {command}; /help lists them.", file=out)
            else:
                _print_messages(engine.answer(line, level).messages, out)
        except UnknownTier as exc:
            print(f"error: {exc}", file=out)
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
