"""Fact files (YAML) to `Work` objects, reporting every problem with file, line and field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.model import Fact, Tier, Work

# An answer must fit one Discord message (2000) together with the warning line and the bars.
MAX_ANSWER = 1500
# A summary section is sent in a message of its own at worst, with a label line and bars.
MAX_SUMMARY = 1800
SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a fact file, located for the person who has to fix it."""

    path: str
    line: int
    where: str
    message: str

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.path}:{self.line}: {where}{self.message}"


class FactFileError(Exception):
    """Raised when fact files fail validation; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class _Map(dict):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class _Seq(list):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int
    item_lines: list[int]


# libyaml's parser, where PyYAML has it, reads the shipped facts 14 times faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):
    """SafeLoader whose mappings and sequences carry 1-based line numbers.

    A key repeated in one mapping is noted in `repeated` (line, key, first line): YAML would
    silently keep only the last value, and a moderator would lose the first.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[tuple[int, Any, int]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result.key_lines:
            loader.repeated.append((line, key, result.key_lines[key]))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines.setdefault(key, line)
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class _Checker:
    """Collects problems for one file while reading typed fields out of it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, where, message))

    def mapping(self, value: Any, line: int, where: str) -> _Map | None:
        if isinstance(value, _Map):
            return value
        self.add(line, where, f"must be a mapping, got {_kind(value)}")
        return None

    def fields(
        self, node: _Map, where: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> None:
        required = tuple(required)
        known = set(required) | set(optional)
        for key in required:
            if key not in node:
                self.add(node.line, where, f"missing field '{key}'")
        for key in node:
            if key not in known:
                expected = ", ".join(sorted(known))
                self.add(
                    node.key_lines[key], where, f"unknown field '{key}' (expected: {expected})"
                )

    def text(self, node: _Map, key: str, where: str, max_len: int | None = None) -> str | None:
        """A required non-empty string field, checked for bars and length."""
        if key not in node:
            return None  # already reported as missing
        value, line = node[key], node.key_lines[key]
        field = f"{where}.{key}" if where else key
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(line, field, f"must be text, got {_kind(value)}")
            return None
        value = str(value).strip()
        if not value:
            self.add(line, field, "is empty")
            return None
        if max_len is not None:
            self._body(value, line, field, max_len)
        return value

    def _body(self, value: str, line: int, field: str, max_len: int) -> None:
        if "||" in value:
            self.add(line, field, "contains '||', which would break the spoiler bars")
        if len(value) > max_len:
            self.add(line, field, f"is {len(value)} characters; at most {max_len} fit a message")

    def texts(self, node: _Map, key: str, where: str) -> tuple[str, ...]:
        """A required non-empty list of non-empty strings."""
        if key not in node:
            return ()
        value, line = node[key], node.key_lines[key]
        field = f"{where}.{key}"
        if not isinstance(value, _Seq):
            self.add(line, field, f"must be a list, got {_kind(value)}")
            return ()
        if not value:
            self.add(line, field, "is empty")
            return ()
        out = []
        for i, (item, item_line) in enumerate(zip(value, value.item_lines, strict=True)):
            if (
                isinstance(item, bool)
                or not isinstance(item, str | int | float)
                or not str(item).strip()
            ):
                self.add(item_line, f"{field}[{i}]", "must be non-empty text")
                continue
            out.append(str(item).strip())
        return tuple(out)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    for typ, name in ((bool, "true/false"), (dict, "a mapping"), (list, "a list"), (str, "text")):
        if isinstance(value, typ):
            return name
    return type(value).__name__


def parse_work(text: str, path: str = "<string>") -> Work:
    """Parse and validate one fact file's text; raise FactFileError listing every problem."""
    check = _Checker(path)
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        check.add(line, "", f"YAML syntax error: {exc.problem or exc.context}")
        raise FactFileError(check.problems) from None
    except yaml.YAMLError as exc:
        check.add(1, "", f"YAML error: {exc}")
        raise FactFileError(check.problems) from None
    finally:
        loader.dispose()
    for line, key, first in loader.repeated:
        check.add(line, str(key), f"duplicate key (first at line {first}); only one may stay")

    root = check.mapping(data, 1, "file")
    if root is None:
        raise FactFileError(check.problems)
    check.fields(root, "", ("work", "tiers", "facts", "summaries"))

    header = _read_work_header(check, root)
    tiers = _read_tiers(check, root)
    by_id = {tier.id: tier for tier in tiers}
    facts = _read_facts(check, root, by_id)
    summaries = _read_summaries(check, root, by_id)

    if check.problems:
        raise FactFileError(check.problems)
    return Work(
        id=header.id or "",
        title=header.title or "",
        aliases=header.aliases,
        tiers=tuple(tiers),
        facts=tuple(facts),
        summaries=summaries,
        synonyms=header.synonyms,
        source=path,
        people=header.people,
    )


@dataclass(frozen=True, slots=True)
class _Header:
    id: str | None = None
    title: str | None = None
    aliases: tuple[str, ...] = ()
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    people: tuple[str, ...] = ()


def _read_work_header(check: _Checker, root: _Map) -> _Header:
    if "work" not in root:
        return _Header()
    work = check.mapping(root["work"], root.key_lines["work"], "work")
    if work is None:
        return _Header()
    check.fields(work, "work", ("id", "title", "aliases"), ("synonyms", "people"))
    work_id = check.text(work, "id", "work")
    if work_id is not None and not SLUG.match(work_id):
        check.add(work.key_lines["id"], "work.id", "must be lower-case letters, digits and dashes")
    title = check.text(work, "title", "work")
    aliases = check.texts(work, "aliases", "work")
    synonyms: dict[str, tuple[str, ...]] = {}
    if "synonyms" in work:
        table = check.mapping(work["synonyms"], work.key_lines["synonyms"], "work.synonyms")
        for canonical in table or ():
            name = str(canonical)
            if not re.fullmatch(r"[a-z0-9]+", name):
                check.add(
                    table.key_lines[canonical],
                    f"work.synonyms.{name}",
                    "the canonical form must be one lower-case word",
                )
            synonyms[name] = check.texts(table, canonical, "work.synonyms")
    people = check.texts(work, "people", "work") if "people" in work else ()
    return _Header(work_id, title, aliases, synonyms, people)


def _read_tiers(check: _Checker, root: _Map) -> list[Tier]:
    if "tiers" not in root:
        return []
    value, line = root["tiers"], root.key_lines["tiers"]
    if not isinstance(value, _Seq) or not value:
        check.add(line, "tiers", "must be a non-empty list of tiers, safest first")
        return []
    tiers: list[Tier] = []
    for i, (item, item_line) in enumerate(zip(value, value.item_lines, strict=True)):
        where = f"tiers[{i}]"
        node = check.mapping(item, item_line, where)
        if node is None:
            continue
        check.fields(node, where, ("id", "label", "description"))
        tier_id = check.text(node, "id", where)
        label = check.text(node, "label", where)
        description = check.text(node, "description", where)
        if tier_id is None:
            continue
        if not SLUG.match(tier_id):
            check.add(
                node.key_lines["id"], f"{where}.id", "must be lower-case letters, digits and dashes"
            )
        if any(t.id == tier_id for t in tiers):
            check.add(node.key_lines["id"], f"{where}.id", f"duplicate tier id '{tier_id}'")
            continue
        tiers.append(Tier(tier_id, label or tier_id, description or "", len(tiers)))
    return tiers


def _read_facts(check: _Checker, root: _Map, tiers: dict[str, Tier]) -> list[Fact]:
    if "facts" not in root:
        return []
    value, line = root["facts"], root.key_lines["facts"]
    if not isinstance(value, _Seq) or not value:
        check.add(line, "facts", "must be a non-empty list of facts")
        return []
    facts: list[Fact] = []
    seen: dict[str, int] = {}
    for i, (item, item_line) in enumerate(zip(value, value.item_lines, strict=True)):
        node = check.mapping(item, item_line, f"facts[{i}]")
        if node is None:
            continue
        fact_id = node.get("id")
        where = f"facts[{i}]" + (f" ({fact_id})" if isinstance(fact_id, str) else "")
        check.fields(node, where, ("id", "tier", "answer", "questions", "terms"))
        fact_id = check.text(node, "id", where)
        tier_id = check.text(node, "tier", where)
        answer = check.text(node, "answer", where, MAX_ANSWER)
        questions = check.texts(node, "questions", where)
        terms = check.texts(node, "terms", where)
        if fact_id is not None:
            if fact_id in seen:
                check.add(
                    node.key_lines["id"],
                    f"{where}.id",
                    f"duplicate fact id '{fact_id}' (first at line {seen[fact_id]})",
                )
            else:
                seen[fact_id] = node.key_lines["id"]
        tier = tiers.get(tier_id) if tier_id is not None else None
        if tier_id is not None and tier is None and tiers:
            check.add(
                node.key_lines["tier"],
                f"{where}.tier",
                f"unknown tier '{tier_id}' (valid: {', '.join(tiers)})",
            )
        if fact_id and tier and answer and questions and terms:
            facts.append(Fact(fact_id, tier, answer, questions, terms))
    return facts


def _read_summaries(check: _Checker, root: _Map, tiers: dict[str, Tier]) -> dict[str, str]:
    if "summaries" not in root or not tiers:
        return {}  # without valid tiers, every summary would just repeat that problem
    node = check.mapping(root["summaries"], root.key_lines["summaries"], "summaries")
    if node is None:
        return {}
    summaries: dict[str, str] = {}
    for key in node:
        tier_id = str(key)
        if tier_id not in tiers:
            check.add(
                node.key_lines[key],
                f"summaries.{tier_id}",
                f"unknown tier '{tier_id}' (valid: {', '.join(tiers)})",
            )
            continue
        text = check.text(node, key, "summaries", MAX_SUMMARY)
        if text is not None:
            summaries[tier_id] = text
    for tier_id in tiers:
        if tier_id not in {str(k) for k in node}:
            check.add(
                root.key_lines["summaries"],
                "summaries",
                f"missing the summary for tier '{tier_id}'",
            )
    return summaries


def load_work(path: str | Path) -> Work:
    """Read, decode and validate one fact file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FactFileError([Problem(str(path), 1, "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = Problem(str(path), line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x})")
        raise FactFileError([problem]) from None
    return parse_work(text.removeprefix("\ufeff"), str(path))


def fact_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to the YAML files inside them, in a stable order."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            out.append(path)
    return out


def load_works(paths: Iterable[str | Path]) -> list[Work]:
    """Load every fact file under `paths`; raise FactFileError with the problems of all of them."""
    paths = list(paths)
    files = fact_files(paths)
    problems: list[Problem] = []
    works: list[Work] = []
    if not files:
        where = ", ".join(map(str, paths))
        raise FactFileError([Problem(where, 1, "", "no fact files (*.yaml) found")])
    for file in files:
        try:
            works.append(load_work(file))
        except FactFileError as exc:
            problems.extend(exc.problems)
    ids: dict[str, str] = {}
    for work in works:
        if work.id in ids:
            problems.append(
                Problem(
                    work.source,
                    1,
                    "work.id",
                    f"duplicate work id '{work.id}' (also in {ids[work.id]})",
                )
            )
        ids[work.id] = work.source
    if problems:
        raise FactFileError(problems)
    return works
