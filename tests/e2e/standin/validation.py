"""Discord-shaped errors and the request validation Discord performs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .model import MessageFlags, OptionType


class DiscordError(Exception):
    """An error response in Discord's JSON shape; `violation` marks bot mistakes."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        kind: str,
        errors: dict[str, Any] | None = None,
        violation: bool = True,
    ) -> None:
        """Create the error; `kind` is a short label used in violation reports."""
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind
        self.errors = errors
        self.violation = violation

    def body(self) -> dict[str, Any]:
        """Return the JSON body Discord sends for this error."""
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def unknown(kind: str, code: int, what: str, *, violation: bool = False) -> DiscordError:
    """Build a 404 `Unknown <what>` error (e.g. 10003 Unknown Channel)."""
    return DiscordError(404, code, f"Unknown {what}", kind=kind, violation=violation)


class FormErrors:
    """Collects field errors into Discord's nested `errors` object."""

    def __init__(self) -> None:
        """Start with no errors."""
        self.tree: dict[str, Any] = {}

    def __bool__(self) -> bool:
        """Whether any error was recorded."""
        return bool(self.tree)

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        """Record an error at a field path such as ("data", "content")."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self, kind: str) -> None:
        """Raise 400/50035 Invalid Form Body if anything was recorded."""
        if self.tree:
            raise DiscordError(400, 50035, "Invalid Form Body", kind=kind, errors=self.tree)


def _max_len(errors: FormErrors, path: Sequence[str | int], value: Any, limit: int) -> None:
    """Flag strings or lists longer than `limit`."""
    if value is not None and len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _bad_len(errors: FormErrors, path: Sequence[str | int], value: Any, lo: int, hi: int) -> None:
    """Flag strings whose length is outside lo..hi."""
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
    elif not lo <= len(value) <= hi:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length.")


CONTENT_LIMIT = 2000
EMBED_TOTAL_LIMIT = 6000
SENDABLE_FLAGS = (
    MessageFlags.SUPPRESS_EMBEDS
    | MessageFlags.SUPPRESS_NOTIFICATIONS
    | MessageFlags.IS_VOICE_MESSAGE
    | MessageFlags.IS_COMPONENTS_V2
)


def validate_message_body(
    body: Any,
    errors: FormErrors,
    prefix: Sequence[str | int] = (),
    *,
    file_count: int = 0,
    allow_ephemeral: bool = False,
    require_non_empty: bool = True,
) -> None:
    """Check a create/edit message body; raise 50006 when it would be an empty message."""
    if body is None:
        # A missing body/data is simply an empty message.
        body = {}
    if not isinstance(body, dict):
        errors.add(prefix, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    p = list(prefix)
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors.add([*p, "content"], "BASE_TYPE_STRING", "Must be a string.")
        else:
            _max_len(errors, [*p, "content"], content, CONTENT_LIMIT)
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list):
        errors.add([*p, "embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        embeds = []
    _max_len(errors, [*p, "embeds"], embeds, 10)
    total = 0
    for i, embed in enumerate(embeds):
        total += _validate_embed(embed, errors, [*p, "embeds", i])
    if total > EMBED_TOTAL_LIMIT:
        errors.add(
            [*p, "embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_LIMIT}",
        )
    _validate_allowed_mentions(body.get("allowed_mentions"), errors, [*p, "allowed_mentions"])
    flags = body.get("flags")
    if flags is not None:
        allowed = SENDABLE_FLAGS | (MessageFlags.EPHEMERAL if allow_ephemeral else 0)
        if not isinstance(flags, int) or flags & ~int(allowed):
            errors.add([*p, "flags"], "MESSAGE_FLAGS_INVALID", "Invalid flags")
    components = body.get("components") or []
    v2 = isinstance(flags, int) and flags & MessageFlags.IS_COMPONENTS_V2
    _max_len(errors, [*p, "components"], components, 40 if v2 else 5)
    if require_non_empty and not errors and not has_message_content(body, file_count):
        raise DiscordError(400, 50006, "Cannot send an empty message", kind="empty_message")


def has_message_content(body: dict[str, Any], file_count: int = 0) -> bool:
    """Whether a message body carries anything Discord would display."""
    return bool(
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or body.get("attachments")
        or file_count
    )


def _validate_embed(embed: Any, errors: FormErrors, path: list[str | int]) -> int:
    """Check one embed's field limits and return its character count."""
    if not isinstance(embed, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return 0
    total = 0
    for key, limit in (("title", 256), ("description", 4096)):
        value = embed.get(key)
        if isinstance(value, str):
            _max_len(errors, [*path, key], value, limit)
            total += len(value)
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        value = (embed.get(key) or {}).get(sub)
        if isinstance(value, str):
            _max_len(errors, [*path, key, sub], value, limit)
            total += len(value)
    fields = embed.get("fields") or []
    _max_len(errors, [*path, "fields"], fields, 25)
    for i, fld in enumerate(fields):
        name, value = fld.get("name"), fld.get("value")
        _bad_len(errors, [*path, "fields", i, "name"], name, 1, 256)
        _bad_len(errors, [*path, "fields", i, "value"], value, 1, 1024)
        total += len(name or "") + len(value or "")
    return total


def _validate_allowed_mentions(value: Any, errors: FormErrors, path: list[str | int]) -> None:
    """Check allowed_mentions the way Discord does (parse and explicit lists are exclusive)."""
    if value is None:
        return
    if not isinstance(value, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    parse = value.get("parse", [])
    for i, item in enumerate(parse):
        if item not in ("users", "roles", "everyone"):
            errors.add([*path, "parse", i], "BASE_TYPE_CHOICES", "Value must be one of {...}.")
    for kind in ("users", "roles"):
        ids = value.get(kind) or []
        _max_len(errors, [*path, kind], ids, 100)
        if ids and kind in parse:
            errors.add(
                [*path, "parse"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


# Python's \w is Unicode-aware, which approximates Discord's \p{L}\p{N} (plus Deva/Thai) class.
COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
VALUE_OPTION_TYPES = frozenset(t for t in OptionType if t > OptionType.SUB_COMMAND_GROUP)


def validate_commands(commands: Any) -> FormErrors:
    """Validate a bulk-overwrite list of application commands; errors are keyed by index."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return errors
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        validate_command(cmd, errors, [i])
        if isinstance(cmd, dict):
            key = (cmd.get("type", 1), str(cmd.get("name")))
            if key in seen:
                errors.add(
                    [i, "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {key[1]}",
                )
            seen.add(key)
    if sum(1 for c in commands if isinstance(c, dict) and c.get("type", 1) == 1) > 100:
        errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    return errors


def validate_command(cmd: Any, errors: FormErrors, path: list[str | int]) -> None:
    """Validate one application command payload."""
    if not isinstance(cmd, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    kind = cmd.get("type", 1)
    name = cmd.get("name")
    if kind == 1:
        _validate_name(name, errors, [*path, "name"])
        _bad_len(errors, [*path, "description"], cmd.get("description"), 1, 100)
        _validate_options(cmd.get("options") or [], errors, [*path, "options"], depth=0)
    elif kind in (2, 3, 4):
        _bad_len(errors, [*path, "name"], name, 1, 32)
        if cmd.get("description"):
            errors.add(
                [*path, "description"],
                "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                "Context menu commands cannot have description",
            )
        if cmd.get("options"):
            errors.add(
                [*path, "options"],
                "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
                "Context menu commands cannot have options",
            )
    else:
        errors.add([*path, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
    dmp = cmd.get("default_member_permissions")
    if dmp is not None and not str(dmp).isdigit():
        errors.add([*path, "default_member_permissions"], "NUMBER_TYPE_COERCE", "Invalid number")


def _validate_name(name: Any, errors: FormErrors, path: list[str | int]) -> None:
    """Chat-input names must match Discord's regex and be lower-case."""
    if not isinstance(name, str):
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
    elif not COMMAND_NAME_RE.match(name) or name != name.lower():
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _validate_options(options: Any, errors: FormErrors, path: list[str | int], depth: int) -> None:
    """Validate an options list, recursing into subcommands and groups."""
    if not isinstance(options, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    _max_len(errors, path, options, 25)
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        here = [*path, i]
        if not isinstance(opt, dict):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        kind = opt.get("type")
        _validate_name(opt.get("name"), errors, [*here, "name"])
        _bad_len(errors, [*here, "description"], opt.get("description"), 1, 100)
        if opt.get("name") in names:
            errors.add(
                [*here, "name"],
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(str(opt.get("name")))
        if kind in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
            # Groups may only hold subcommands; subcommands may only hold value options.
            allowed_depth = 0 if kind == OptionType.SUB_COMMAND_GROUP else 1
            if depth > allowed_depth:
                errors.add(
                    [*here, "type"],
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command and sub-command group option types are mutually exclusive",
                )
            children = opt.get("options") or []
            if kind == OptionType.SUB_COMMAND_GROUP and any(
                isinstance(c, dict) and c.get("type") != OptionType.SUB_COMMAND for c in children
            ):
                errors.add(
                    [*here, "options"],
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                )
            _validate_options(
                children, errors, [*here, "options"], depth=2 if kind == 1 else depth + 1
            )
            continue
        if kind not in VALUE_OPTION_TYPES:
            errors.add([*here, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1..11}.")
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices")
        if choices:
            if opt.get("autocomplete"):
                errors.add(
                    [*here, "autocomplete"],
                    "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_EXCLUSIVE",
                    "Autocomplete and choices are mutually exclusive",
                )
            validate_choices(choices, OptionType(kind), errors, [*here, "choices"])


def validate_choices(
    choices: Any, kind: OptionType | None, errors: FormErrors, path: list[str | int]
) -> None:
    """Validate command option choices or autocomplete results."""
    if not isinstance(choices, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    _max_len(errors, path, choices, 25)
    for i, choice in enumerate(choices):
        here = [*path, i]
        if not isinstance(choice, dict):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        _bad_len(errors, [*here, "name"], choice.get("name"), 1, 100)
        value = choice.get("value")
        if kind == OptionType.STRING or (kind is None and isinstance(value, str)):
            _bad_len(errors, [*here, "value"], value, 1, 100)
        elif kind == OptionType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                errors.add([*here, "value"], "NUMBER_TYPE_COERCE", "Value is not int.")
        elif kind == OptionType.NUMBER or kind is None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.add([*here, "value"], "NUMBER_TYPE_COERCE", "Value is not a number.")
        else:
            errors.add([*here, "value"], "BASE_TYPE_CHOICES", "Choices are not allowed here.")
