"""Interaction and message state plus the handles tests use to await the bot's answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import Channel, Guild, Member, OptionType, Role, User, compute_permissions
from .records import RecordedCall

if TYPE_CHECKING:
    from .server import StandIn


class InteractionType:
    """Interaction types (the `type` of INTERACTION_CREATE)."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType:
    """Interaction callback (response) types."""

    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    LAUNCH_ACTIVITY = 12


# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    InteractionType.PING: frozenset({CallbackType.PONG}),
    InteractionType.APPLICATION_COMMAND: frozenset({4, 5, 9, 12}),
    InteractionType.MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9, 12}),
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: frozenset({8}),
    InteractionType.MODAL_SUBMIT: frozenset({4, 5, 6, 7}),
}


@dataclass(frozen=True)
class Option:
    """An explicitly typed option value, for when inference from the Python type is not enough."""

    type: OptionType
    value: Any


@dataclass(eq=False)
class InteractionState:
    """Server-side bookkeeping for one interaction."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    created_at: float
    guild: Guild | None
    channel: Channel
    user: User
    focused_type: OptionType | None = None
    source_message_id: int | None = None
    response: dict[str, Any] | None = None
    response_call: RecordedCall | None = None
    responded_at: float | None = None
    original_message_id: int | None = None
    loading: bool = False
    followup_ids: list[int] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RecordedCall] = field(default_factory=list)


class InteractionHandle:
    """What `send_interaction` returns: await the bot's initial response, edits and follow-ups."""

    def __init__(self, standin: StandIn, state: InteractionState) -> None:
        """Wrap the interaction's state."""
        self._standin = standin
        self.state = state

    @property
    def id(self) -> int:
        """The interaction id."""
        return self.state.id

    @property
    def token(self) -> str:
        """The interaction token."""
        return self.state.token

    @property
    def payload(self) -> dict[str, Any]:
        """The INTERACTION_CREATE payload that was dispatched."""
        return self.state.payload

    @property
    def original(self) -> dict[str, Any] | None:
        """Current version of the original response message, if one exists."""
        mid = self.state.original_message_id
        return self._standin.messages.get(mid) if mid is not None else None

    @property
    def rejections(self) -> list[RecordedCall]:
        """Calls about this interaction that the stand-in refused."""
        return list(self.state.rejected)

    async def response(self, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the accepted initial response body (`{"type": ..., "data": ...}`)."""
        await self._standin.wait_for(lambda: self.state.response is not None, timeout=timeout)
        assert self.state.response is not None
        return self.state.response

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait for an autocomplete result and return its choices."""
        body = await self.response(timeout)
        return list((body.get("data") or {}).get("choices") or [])

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least `count` follow-up messages exist and return them all."""
        await self._standin.wait_for(lambda: len(self.state.followup_ids) >= count, timeout=timeout)
        return [self._standin.messages[i] for i in self.state.followup_ids]

    async def edits(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait for `count` accepted edits of the original response; return their bodies."""
        await self._standin.wait_for(lambda: len(self.state.edits) >= count, timeout=timeout)
        return list(self.state.edits)

    async def original_message(
        self,
        timeout: float = 5.0,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Wait until the original response exists (and matches `predicate`) and return it."""

        def ready() -> bool:
            msg = self.original
            return msg is not None and (predicate is None or predicate(msg))

        await self._standin.wait_for(ready, timeout=timeout)
        assert self.original is not None
        return self.original

    async def rejection(self, timeout: float = 5.0) -> RecordedCall:
        """Wait for the first refused call about this interaction."""
        await self._standin.wait_for(lambda: bool(self.state.rejected), timeout=timeout)
        return self.state.rejected[0]


@dataclass(eq=False)
class BotMessage:
    """A message the bot created, with the REST call that created it."""

    payload: dict[str, Any]
    call: RecordedCall | None

    @property
    def id(self) -> int:
        """Message id."""
        return int(self.payload["id"])

    @property
    def content(self) -> str:
        """Message content."""
        return str(self.payload.get("content") or "")

    @property
    def flags(self) -> int:
        """Message flags."""
        return int(self.payload.get("flags") or 0)

    @property
    def message_reference(self) -> dict[str, Any] | None:
        """The `message_reference` of the stored message."""
        return self.payload.get("message_reference")

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """`allowed_mentions` exactly as the bot sent it (None if omitted)."""
        body = self.call.json if self.call is not None else None
        return body.get("allowed_mentions") if isinstance(body, dict) else None

    @property
    def mentions(self) -> list[dict[str, Any]]:
        """Users the message actually pinged after allowed_mentions."""
        return list(self.payload.get("mentions") or [])


class SentMessage:
    """A user message injected by a test; await the bot's reply to it."""

    def __init__(self, standin: StandIn, payload: dict[str, Any], channel: Channel) -> None:
        """Wrap the injected message."""
        self._standin = standin
        self.payload = payload
        self.channel = channel

    @property
    def id(self) -> int:
        """Message id."""
        return int(self.payload["id"])

    async def reply(self, timeout: float = 5.0) -> BotMessage:
        """Wait for a bot message whose message_reference points at this message."""
        return await self._standin.wait_for_bot_message(
            lambda m: (m.message_reference or {}).get("message_id") == str(self.id),
            timeout=timeout,
        )


def infer_option_type(value: Any) -> OptionType:
    """Guess an option type from a Python value."""
    if isinstance(value, Option):
        return value.type
    if isinstance(value, bool):
        return OptionType.BOOLEAN
    if isinstance(value, int):
        return OptionType.INTEGER
    if isinstance(value, float):
        return OptionType.NUMBER
    if isinstance(value, (User, Member)):
        return OptionType.USER
    if isinstance(value, Channel):
        return OptionType.CHANNEL
    if isinstance(value, Role):
        return OptionType.ROLE
    return OptionType.STRING


def encode_options(
    values: Mapping[str, Any],
    schema: list[dict[str, Any]] | None,
    *,
    guild: Guild | None,
    channel: Channel,
    invoker: Member | None,
    resolved: dict[str, dict[str, Any]],
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Encode option values like Discord, filling `resolved` for users, channels and roles."""
    by_name = {o.get("name"): o for o in schema or []}
    out: list[dict[str, Any]] = []
    for name, raw in values.items():
        if raw is None:
            continue
        declared = by_name.get(name)
        kind = OptionType(declared["type"]) if declared else infer_option_type(raw)
        value = raw.value if isinstance(raw, Option) else raw
        if name != focused:
            value = _encode_value(kind, value, guild, channel, invoker, resolved)
        elif not isinstance(value, (str, int, float)):
            value = str(value)
        entry: dict[str, Any] = {"name": name, "type": int(kind), "value": value}
        if name == focused:
            entry["focused"] = True
        out.append(entry)
    return out


def _encode_value(
    kind: OptionType,
    value: Any,
    guild: Guild | None,
    channel: Channel,
    invoker: Member | None,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    """Turn one Python value into its wire value, resolving entities."""
    if isinstance(value, Member):
        user: User | None = value.user
    elif isinstance(value, User):
        user = value
    else:
        user = None
    if kind in (OptionType.USER, OptionType.MENTIONABLE) and user is not None:
        resolved.setdefault("users", {})[str(user.id)] = user.to_payload()
        member = guild.members.get(user.id) if guild is not None else None
        if member is not None:
            perms = compute_permissions(member, channel)
            resolved.setdefault("members", {})[str(user.id)] = member.to_payload(
                include_user=False, permissions=perms
            )
        return str(user.id)
    if kind in (OptionType.ROLE, OptionType.MENTIONABLE) and isinstance(value, Role):
        resolved.setdefault("roles", {})[str(value.id)] = value.to_payload()
        return str(value.id)
    if kind == OptionType.CHANNEL and isinstance(value, Channel):
        perms = compute_permissions(invoker, value) if invoker is not None else 0
        resolved.setdefault("channels", {})[str(value.id)] = partial_channel(value, perms)
        return str(value.id)
    if kind == OptionType.INTEGER:
        return int(value)
    if kind == OptionType.NUMBER:
        return float(value)
    if kind == OptionType.BOOLEAN:
        return bool(value)
    if kind in (OptionType.USER, OptionType.ROLE, OptionType.CHANNEL, OptionType.MENTIONABLE):
        return str(value)
    return value if isinstance(value, str) else str(value)


def partial_channel(channel: Channel, permissions: int) -> dict[str, Any]:
    """Channel object as it appears in interactions (`channel` and resolved channels)."""
    data = channel.to_payload()
    data.pop("permission_overwrites", None)
    data["permissions"] = str(int(permissions))
    return data


def find_command_schema(
    command: dict[str, Any] | None, path: list[str]
) -> list[dict[str, Any]] | None:
    """Follow a subcommand path through a registered command to its value options."""
    if command is None:
        return None
    options: list[dict[str, Any]] = command.get("options") or []
    for name in path:
        nxt = next((o for o in options if o.get("name") == name), None)
        if nxt is None:
            return None
        options = nxt.get("options") or []
    return options


def nest_subcommands(path: list[str], options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Wrap value options in subcommand / subcommand-group layers like Discord does."""
    if not path:
        return options
    if len(path) == 1:
        return [{"name": path[0], "type": int(OptionType.SUB_COMMAND), "options": options}]
    if len(path) == 2:
        inner = [{"name": path[1], "type": int(OptionType.SUB_COMMAND), "options": options}]
        return [{"name": path[0], "type": int(OptionType.SUB_COMMAND_GROUP), "options": inner}]
    raise ValueError("Discord nests at most a group and a subcommand")
