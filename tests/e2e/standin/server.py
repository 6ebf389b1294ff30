"""The StandIn facade: lifecycle, world building, driving API, fault controls and assertions."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .gateway import HEARTBEAT, RECONNECT, Gateway
from .interactions import (
    BotMessage,
    InteractionHandle,
    InteractionState,
    InteractionType,
    SentMessage,
    encode_options,
    find_command_schema,
    infer_option_type,
    nest_subcommands,
    partial_channel,
)
from .model import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    PRIVILEGED_INTENTS,
    Channel,
    ChannelType,
    Guild,
    Intents,
    Member,
    MessageFlags,
    OptionType,
    Role,
    SnowflakeFactory,
    Thread,
    User,
    compute_permissions,
    iso,
    utcnow,
)
from .records import CallMatcher, FaultRule, RecordedCall, UploadedFile, Violation, call_matches
from .rest import RestApi, resolve_mentions


def copy_json(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, scalars): several times faster than deepcopy."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


LOOPBACK = "127.0.0.1"
# Unverified app with all three privileged intents switched on in the developer portal.
DEFAULT_APPLICATION_FLAGS = (1 << 13) | (1 << 15) | (1 << 19) | (1 << 23)
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class StandIn:
    """A loopback Discord (REST v10 + gateway v10) that an unmodified discord.py bot can use."""

    def __init__(
        self,
        *,
        token: str = "standin.bot.token",
        bot_username: str = "Lore Keeper",
        heartbeat_interval: int = 41250,
        interaction_response_timeout: float = 3.0,
        interaction_token_ttl: float = 15 * 60.0,
        transport_compression: bool = False,
        enabled_privileged_intents: Intents = PRIVILEGED_INTENTS,
        rate_limit: int = 50,
        rate_limit_window: float = 1.0,
        require_registered_commands: bool = False,
    ) -> None:
        """Configure the stand-in; nothing listens until `start()` / `async with`."""
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.interaction_response_timeout = interaction_response_timeout
        self.interaction_token_ttl = interaction_token_ttl
        self.transport_compression = transport_compression
        self.enabled_privileged_intents = enabled_privileged_intents
        self.rate_limit = rate_limit
        self.rate_limit_window = rate_limit_window
        self.require_registered_commands = require_registered_commands

        self.ids = SnowflakeFactory()
        self.users: dict[int, User] = {}
        self.guilds: list[Guild] = []
        self.bot_user = self.add_user(bot_username, bot=True)
        # Modern applications share their id with their bot user.
        self.application_id = self.bot_user.id
        self.application_flags = DEFAULT_APPLICATION_FLAGS
        self.application_owner = self.add_user("app-owner")
        self._verify_key = secrets.token_hex(32)
        self._joined: dict[int, datetime] = {}
        self._dm_channels: dict[int, Channel] = {}

        self.calls: list[RecordedCall] = []
        self.violations: list[Violation] = []
        self.faults: list[FaultRule] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.ephemeral_ids: set[int] = set()
        self.message_calls: dict[int, RecordedCall | None] = {}
        self.attachments: dict[int, UploadedFile] = {}
        self.interactions: dict[int, InteractionState] = {}
        self.interactions_by_token: dict[str, InteractionState] = {}
        self.commands: dict[int | None, dict[int, dict[str, Any]]] = {}
        self._phantom_command_ids: dict[tuple[int | None, int, str], int] = {}

        self.gateway = Gateway(self)
        self.rest = RestApi(self)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        """Start listening on a random free loopback port."""
        if self._runner is not None:
            raise RuntimeError("stand-in already started")
        self._loop = asyncio.get_running_loop()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("GET", "/gateway/resume", self.gateway.handle)
        app.router.add_route("GET", "/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        # A short shutdown timeout keeps a misbehaving client from hanging the test run.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close every socket and stop the server."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.gateway.close_all()
        await runner.cleanup()
        for fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> Self:
        """Start the server."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the stand-in listens on."""
        if self._port is None:
            raise RuntimeError("stand-in is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for `discord.http.Route.BASE`."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`."""
        return f"ws://{LOOPBACK}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The `resume_gateway_url` sent in READY (a distinct path, so resumes are visible)."""
        return f"ws://{LOOPBACK}:{self.port}/gateway/resume"

    def loop_time(self) -> float:
        """Monotonic clock used for deadlines."""
        return (self._loop or asyncio.get_running_loop()).time()

    # ----------------------------------------------------------------- world building

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> User:
        """Create a user."""
        user = User(id=self.ids.next(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        locale: str = "en-US",
    ) -> Guild:
        """Create a guild with @everyone, a managed bot role, and the owner and bot as members."""
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(id=self.ids.next(), name=name, owner=owner, _ids=self.ids)
        guild.preferred_locale = locale
        guild.roles.append(
            Role(id=guild.id, guild=guild, name="@everyone", permissions=int(everyone_permissions))
        )
        bot_role = guild.add_role(
            self.bot_user.username,
            bot_permissions,
            managed=True,
            tags={"bot_id": str(self.bot_user.id)},
        )
        guild.add_member(owner)
        guild.add_member(self.bot_user, roles=[bot_role])
        self.guilds.append(guild)
        self._joined[guild.id] = utcnow()
        return guild

    def joined_at(self, guild: Guild) -> datetime:
        """When the bot joined the guild."""
        return self._joined.get(guild.id, utcnow())

    def find_guild(self, guild_id: int) -> Guild | None:
        """Look a guild up by id."""
        return next((g for g in self.guilds if g.id == guild_id), None)

    def find_channel(self, channel_id: int) -> Channel | None:
        """Look a guild channel, thread or DM channel up by id."""
        for guild in self.guilds:
            found = guild.get_channel(channel_id)
            if found is not None:
                return found
        return next((c for c in self._dm_channels.values() if c.id == channel_id), None)

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with a user (created on first use)."""
        channel = self._dm_channels.get(user.id)
        if channel is None:
            channel = Channel(id=self.ids.next(), type=ChannelType.DM, name="", recipients=[user])
            self._dm_channels[user.id] = channel
        return channel

    def application_payload(self) -> dict[str, Any]:
        """The application object of GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": self._verify_key,
            "owner": self.application_owner.to_payload(),
            "team": None,
            "flags": self.application_flags,
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "bot": self.bot_user.to_payload(),
            "is_monetized": False,
        }

    # ----------------------------------------------------------------- waiting

    def notify(self) -> None:
        """Wake every `wait_for` so it re-checks its predicate."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str | None = None
    ) -> None:
        """Wait until `predicate()` is true; raise TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"stand-in: timed out after {timeout}s waiting for {what or predicate}"
                )
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.add(fut)
            try:
                # Also poll: predicates may depend on state the stand-in is not told about
                # (e.g. what the bot recorded), so do not rely on notify() alone.
                await asyncio.wait_for(fut, min(remaining, 0.02))
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)

    @property
    def ready_count(self) -> int:
        """How many IDENTIFYs completed with READY and GUILD_CREATEs sent."""
        return self.gateway.ready_count

    @property
    def resume_count(self) -> int:
        """How many RESUMEs completed with RESUMED sent."""
        return self.gateway.resume_count

    async def wait_ready(self, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until the bot has IDENTIFIED `count` times and received its GUILD_CREATEs."""
        await self.wait_for(
            lambda: self.gateway.ready_count >= count, timeout, f"IDENTIFY/READY #{count}"
        )

    async def wait_resumed(self, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until the bot has RESUMED `count` times."""
        await self.wait_for(lambda: self.gateway.resume_count >= count, timeout, f"RESUME #{count}")

    async def wait_for_call(
        self, match: CallMatcher, timeout: float = 5.0, *, answered: bool = True
    ) -> RecordedCall:
        """Wait for a REST call matching `match` (by default one that has been answered)."""

        def find() -> RecordedCall | None:
            return next(
                (
                    c
                    for c in self.calls
                    if call_matches(match, c) and (not answered or c.status is not None)
                ),
                None,
            )

        await self.wait_for(lambda: find() is not None, timeout, f"call {match!r}")
        found = find()
        assert found is not None
        return found

    async def wait_for_bot_message(
        self, predicate: Callable[[BotMessage], bool] | None = None, timeout: float = 5.0
    ) -> BotMessage:
        """Wait for a message authored by the bot matching `predicate`."""

        def find() -> BotMessage | None:
            return next((m for m in self.bot_messages() if predicate is None or predicate(m)), None)

        await self.wait_for(lambda: find() is not None, timeout, "a bot message")
        found = find()
        assert found is not None
        return found

    # ----------------------------------------------------------------- inspection

    def calls_to(
        self, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> list[RecordedCall]:
        """Recorded calls filtered by method and path substring / regex."""
        out = []
        for call in self.calls:
            if method is not None and call.method != method.upper():
                continue
            if isinstance(path, str) and path not in call.path:
                continue
            if isinstance(path, re.Pattern) and not path.search(call.path):
                continue
            out.append(call)
        return out

    @property
    def unknown_routes(self) -> list[RecordedCall]:
        """Calls to routes the stand-in does not implement."""
        return [v.call for v in self.violations if v.kind == "unknown_route" and v.call]

    def bot_messages(self, channel: Channel | None = None) -> list[BotMessage]:
        """Messages the bot created (channel messages, interaction responses, follow-ups)."""
        bot_id = str(self.bot_user.id)
        return [
            BotMessage(payload=m, call=self.message_calls.get(mid))
            for mid, m in self.messages.items()
            if m["author"]["id"] == bot_id
            and (channel is None or m["channel_id"] == str(channel.id))
        ]

    def registered_commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """Commands the bot registered globally, or for `guild`."""
        return list(self.commands.get(guild.id if guild else None, {}).values())

    def record_violation(
        self, kind: str, message: str, *, status: int, code: int, call: RecordedCall | None = None
    ) -> None:
        """Remember a request Discord would have refused."""
        self.violations.append(Violation(kind, message, status, code, call))
        self.notify()

    def assert_no_violations(self) -> None:
        """Fail with a readable list if the bot broke any of Discord's rules."""
        if self.violations:
            raise AssertionError(
                "Discord would have refused:\n" + "\n".join(f"  - {v}" for v in self.violations)
            )

    # ----------------------------------------------------------------- fault controls

    def fail_next(
        self,
        match: CallMatcher,
        *,
        status: int = 429,
        retry_after: float = 0.05,
        count: int = 1,
        is_global: bool = False,
    ) -> FaultRule:
        """Make the next `count` matching REST calls fail with `status` (429s carry retry_after)."""
        rule = FaultRule(
            matcher=match,
            status=status,
            retry_after=retry_after,
            remaining=count,
            is_global=is_global,
        )
        self.faults.append(rule)
        return rule

    async def drop_connection(self, code: int | None = None) -> None:
        """Kill the gateway socket: abort TCP (default) or close with a resumable code."""
        await self.gateway.drop(code)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT."""
        await self.gateway.send_op({"op": RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(self, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION (non-resumable also discards the session)."""
        await self.gateway.invalidate(resumable)

    async def request_heartbeat(self) -> None:
        """Send op 1: Discord asks the client to heartbeat right away."""
        await self.gateway.send_op({"op": HEARTBEAT, "d": None, "s": None, "t": None})

    async def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Dispatch an arbitrary gateway event to the connected bot; returns its sequence."""
        return await self.gateway.dispatch(event, data)

    # ----------------------------------------------------------------- driving: interactions

    async def send_interaction(
        self,
        guild: Guild | None,
        channel: Channel,
        member: Member | User,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Sequence[str] | None = None,
        type: int = InteractionType.APPLICATION_COMMAND,
        command_type: int = 1,
        target: Member | User | dict[str, Any] | None = None,
        guild_command: bool | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Inject INTERACTION_CREATE for a slash (or context menu) command invocation."""
        return await self._send_command(
            guild,
            channel,
            member,
            command,
            options or {},
            subcommand=subcommand,
            type=type,
            command_type=command_type,
            target=target,
            guild_command=guild_command,
            locale=locale,
            focused=None,
        )

    async def send_autocomplete(
        self,
        guild: Guild | None,
        channel: Channel,
        member: Member | User,
        command: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | Sequence[str] | None = None,
        guild_command: bool | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Inject an autocomplete interaction (type 4) with `focused` marked as focused."""
        if focused not in options:
            raise ValueError("the focused option must be among the options")
        return await self._send_command(
            guild,
            channel,
            member,
            command,
            options,
            subcommand=subcommand,
            type=InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE,
            command_type=1,
            target=None,
            guild_command=guild_command,
            locale=locale,
            focused=focused,
        )

    async def send_component(
        self,
        guild: Guild | None,
        channel: Channel,
        member: Member | User,
        message: dict[str, Any] | BotMessage,
        custom_id: str,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Inject a message component interaction (button press / select) on a bot message."""
        msg = message.payload if isinstance(message, BotMessage) else message
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        state, payload = self._new_interaction(
            InteractionType.MESSAGE_COMPONENT, guild, channel, member, locale
        )
        payload["data"] = data
        payload["message"] = copy_json(msg)
        state.source_message_id = int(msg["id"])
        return await self._dispatch_interaction(state)

    async def send_modal_submit(
        self,
        guild: Guild | None,
        channel: Channel,
        member: Member | User,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        message: dict[str, Any] | BotMessage | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Inject a modal submit interaction with text input values keyed by custom_id."""
        state, payload = self._new_interaction(
            InteractionType.MODAL_SUBMIT, guild, channel, member, locale
        )
        payload["data"] = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                for k, v in fields.items()
            ],
        }
        if message is not None:
            msg = message.payload if isinstance(message, BotMessage) else message
            payload["message"] = copy_json(msg)
            state.source_message_id = int(msg["id"])
        return await self._dispatch_interaction(state)

    def find_command(
        self, name: str, guild: Guild | None, command_type: int = 1
    ) -> tuple[dict[str, Any] | None, int | None]:
        """Registered command by name: guild scope first, then global; returns (command, scope)."""
        scopes: list[int | None] = [guild.id] if guild is not None else []
        scopes.append(None)
        for scope in scopes:
            for cmd in self.commands.get(scope, {}).values():
                if cmd["name"] == name and cmd["type"] == command_type:
                    return cmd, scope
        return None, None

    async def _send_command(
        self,
        guild: Guild | None,
        channel: Channel,
        member: Member | User,
        command: str,
        options: Mapping[str, Any],
        *,
        subcommand: str | Sequence[str] | None,
        type: int,
        command_type: int,
        target: Member | User | dict[str, Any] | None,
        guild_command: bool | None,
        locale: str,
        focused: str | None,
    ) -> InteractionHandle:
        """Build and dispatch an application command or autocomplete interaction."""
        registered, scope = self.find_command(command, guild, command_type)
        if registered is None and self.require_registered_commands:
            raise LookupError(f"the bot has not registered a command named {command!r}")
        if (
            guild_command is not None
            and registered is not None
            and (scope is not None) != guild_command
        ):
            registered = None
        if registered is None:
            scope = guild.id if guild_command and guild is not None else None
            key = (scope, command_type, command)
            command_id = self._phantom_command_ids.setdefault(key, self.ids.next())
        else:
            command_id = int(registered["id"])
        state, payload = self._new_interaction(type, guild, channel, member, locale)
        path = [subcommand] if isinstance(subcommand, str) else list(subcommand or [])
        path = [p for part in path for p in part.split()]
        schema = find_command_schema(registered, path)
        resolved: dict[str, dict[str, Any]] = {}
        invoker = guild.members.get(state.user.id) if guild is not None else None
        encoded = encode_options(
            options,
            schema,
            guild=guild,
            channel=channel,
            invoker=invoker,
            resolved=resolved,
            focused=focused,
        )
        data: dict[str, Any] = {"id": str(command_id), "name": command, "type": command_type}
        nested = nest_subcommands(path, encoded)
        if nested:
            data["options"] = nested
        if target is not None:
            data["target_id"] = self._resolve_target(target, guild, channel, resolved)
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        payload["data"] = data
        if focused is not None:
            declared = next((o for o in schema or [] if o.get("name") == focused), None)
            state.focused_type = (
                OptionType(declared["type"]) if declared else infer_option_type(options[focused])
            )
        return await self._dispatch_interaction(state)

    def _resolve_target(
        self,
        target: Member | User | dict[str, Any],
        guild: Guild | None,
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
    ) -> str:
        """Fill `resolved` for a context menu target and return its id."""
        if isinstance(target, dict):
            resolved.setdefault("messages", {})[str(target["id"])] = copy_json(target)
            return str(target["id"])
        user = target.user if isinstance(target, Member) else target
        resolved.setdefault("users", {})[str(user.id)] = user.to_payload()
        member = guild.members.get(user.id) if guild is not None else None
        if member is not None:
            resolved.setdefault("members", {})[str(user.id)] = member.to_payload(
                include_user=False, permissions=compute_permissions(member, channel)
            )
        return str(user.id)

    def _new_interaction(
        self,
        itype: int,
        guild: Guild | None,
        channel: Channel,
        who: Member | User,
        locale: str,
    ) -> tuple[InteractionState, dict[str, Any]]:
        """Create the common part of an interaction payload and its server-side state."""
        user = who.user if isinstance(who, Member) else who
        iid = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(120)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None:
            if channel.guild is not guild:
                raise ValueError("channel does not belong to the guild")
            member = guild.members.get(user.id)
            if member is None:
                raise ValueError(f"{user.username} is not a member of {guild.name}")
            perms = compute_permissions(member, channel)
            bot_perms = compute_permissions(guild.members[self.bot_user.id], channel)
            payload.update(
                guild_id=str(guild.id),
                guild={
                    "id": str(guild.id),
                    "locale": guild.preferred_locale,
                    "features": guild.features,
                },
                guild_locale=guild.preferred_locale,
                member=member.to_payload(permissions=perms),
                app_permissions=str(int(bot_perms)),
                channel=partial_channel(channel, perms),
                channel_id=str(channel.id),
                context=0,
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            payload.update(
                user=user.to_payload(),
                app_permissions=str(int(DEFAULT_BOT_PERMISSIONS)),
                channel=channel.to_payload(),
                channel_id=str(channel.id),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        state = InteractionState(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            created_at=self.loop_time(),
            guild=guild,
            channel=channel,
            user=user,
        )
        return state, payload

    async def _dispatch_interaction(self, state: InteractionState) -> InteractionHandle:
        """Register the interaction and dispatch INTERACTION_CREATE; the 3 s clock starts now."""
        if self.gateway.current is None:
            raise RuntimeError("no bot session to deliver the interaction to")
        self.interactions[state.id] = state
        self.interactions_by_token[state.token] = state
        state.created_at = self.loop_time()
        await self.gateway.dispatch("INTERACTION_CREATE", state.payload)
        return InteractionHandle(self, state)

    # ----------------------------------------------------------------- driving: messages

    async def send_message(
        self,
        guild: Guild | None,
        channel: Channel,
        author: Member | User,
        content: str,
        *,
        mentions: Sequence[Member | User] = (),
        reply_to: dict[str, Any] | BotMessage | SentMessage | None = None,
    ) -> SentMessage:
        """Inject a user's MESSAGE_CREATE; `<@id>` in content fills `mentions` like Discord."""
        if guild is not None and channel.guild is not guild:
            raise ValueError("channel does not belong to the guild")
        user = author.user if isinstance(author, Member) else author
        if guild is not None and user.id not in guild.members:
            raise ValueError(f"{user.username} is not a member of {guild.name}")
        referenced = None
        if reply_to is not None:
            referenced = reply_to if isinstance(reply_to, dict) else reply_to.payload
        msg = self.build_message(
            channel=channel,
            author=user,
            body={"content": content},
            files=[],
            referenced=referenced,
        )
        known = {m["id"] for m in msg["mentions"]}
        for extra in mentions:
            extra_user = extra.user if isinstance(extra, Member) else extra
            if str(extra_user.id) not in known:
                msg["mentions"].append(extra_user.to_payload())
        await self.store_and_dispatch(msg, channel)
        return SentMessage(self, msg, channel)

    def build_message(
        self,
        *,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        files: list[UploadedFile],
        referenced: dict[str, Any] | None = None,
        message_type: int | None = None,
    ) -> dict[str, Any]:
        """Build a message object the way Discord returns it from REST."""
        mid = self.ids.next()
        content = str(body.get("content") or "")
        mentions, roles, everyone = resolve_mentions(
            content=content,
            allowed=body.get("allowed_mentions"),
            author=author,
            channel=channel,
            users=self.users,
            replied_author=referenced["author"] if referenced else None,
        )
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": author.to_payload(),
            "content": content,
            "timestamp": iso(utcnow()),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": roles,
            "attachments": self._attachments(body, files, channel),
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "pinned": False,
            "type": 19 if referenced is not None else 0,
            "flags": int(body.get("flags") or 0),
            "components": list(body.get("components") or []),
        }
        if message_type is not None:
            msg["type"] = message_type
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if referenced is not None:
            ref: dict[str, Any] = {
                "type": 0,
                "message_id": referenced["id"],
                "channel_id": referenced["channel_id"],
            }
            if channel.guild is not None:
                ref["guild_id"] = str(channel.guild.id)
            msg["message_reference"] = ref
            msg["referenced_message"] = {
                k: v for k, v in referenced.items() if k != "referenced_message"
            }
        if isinstance(channel, Thread):
            msg["position"] = channel.message_count
        return msg

    def build_interaction_message(
        self,
        state: InteractionState,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        followup: bool = False,
    ) -> dict[str, Any]:
        """A message created through an interaction (initial response or follow-up)."""
        is_command = state.type == InteractionType.APPLICATION_COMMAND
        msg = self.build_message(
            channel=state.channel,
            author=self.bot_user,
            body=body,
            files=files,
            message_type=20 if is_command and not followup else 0,
        )
        msg["webhook_id"] = str(self.application_id)
        msg["application_id"] = str(self.application_id)
        owners = state.payload.get("authorizing_integration_owners", {})
        msg["interaction_metadata"] = {
            "id": str(state.id),
            "type": state.type,
            "user": state.user.to_payload(),
            "authorizing_integration_owners": owners,
        }
        if is_command:
            name = state.payload["data"]["name"]
            msg["interaction_metadata"]["name"] = name
            msg["interaction_metadata"]["command_type"] = state.payload["data"].get("type", 1)
            msg["interaction"] = {
                "id": str(state.id),
                "type": state.type,
                "name": name,
                "user": state.user.to_payload(),
            }
        return msg

    def _attachments(
        self, body: dict[str, Any], files: list[UploadedFile], channel: Channel
    ) -> list[dict[str, Any]]:
        """Turn uploaded files into attachment objects served from the stand-in."""
        described = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)
        }
        out: list[dict[str, Any]] = []
        for index, upload in enumerate(files):
            aid = self.ids.next()
            self.attachments[aid] = upload
            meta = described.get(str(index), {})
            filename = meta.get("filename") or upload.filename or f"file{index}"
            url = f"{self.base_url}/attachments/{aid}/{filename}"
            entry: dict[str, Any] = {
                "id": str(aid),
                "filename": filename,
                "size": upload.size,
                "url": url,
                "proxy_url": url,
                "content_type": upload.content_type or "application/octet-stream",
            }
            if meta.get("description") is not None:
                entry["description"] = meta["description"]
            out.append(entry)
        return out

    async def _attachment(self, request: web.Request) -> web.Response:
        """Serve an uploaded attachment (stands in for the CDN)."""
        aid = request.match_info["attachment_id"]
        upload = self.attachments.get(int(aid)) if aid.isdigit() else None
        if upload is None:
            return web.Response(status=404)
        return web.Response(
            body=upload.data, content_type=upload.content_type or "application/octet-stream"
        )

    def gateway_message(self, msg: dict[str, Any], channel: Channel) -> dict[str, Any]:
        """The MESSAGE_CREATE/UPDATE form: adds guild_id and partial members like Discord."""
        data = copy_json(msg)
        guild = channel.guild
        if guild is None:
            return data
        data["guild_id"] = str(guild.id)
        author_member = guild.members.get(int(msg["author"]["id"]))
        if author_member is not None and "webhook_id" not in msg:
            data["member"] = author_member.to_payload(include_user=False)
        for mention in data.get("mentions", []):
            mentioned = guild.members.get(int(mention["id"]))
            if mentioned is not None:
                mention["member"] = mentioned.to_payload(include_user=False)
        return data

    async def store_and_dispatch(
        self, msg: dict[str, Any], channel: Channel, call: RecordedCall | None = None
    ) -> None:
        """Store a new message and echo MESSAGE_CREATE unless it is ephemeral."""
        mid = int(msg["id"])
        self.messages[mid] = msg
        self.message_calls[mid] = call
        channel.last_message_id = mid
        if isinstance(channel, Thread):
            channel.message_count += 1
        if int(msg.get("flags") or 0) & MessageFlags.EPHEMERAL:
            self.ephemeral_ids.add(mid)
            self.notify()
            return
        await self.gateway.dispatch("MESSAGE_CREATE", self.gateway_message(msg, channel))
        self.notify()

    def apply_edit(
        self,
        msg: dict[str, Any],
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        resolve_loading: bool = False,
    ) -> dict[str, Any]:
        """Apply an edit body to a stored message in place and return it."""
        channel = self.find_channel(int(msg["channel_id"]))
        if "content" in body:
            msg["content"] = str(body.get("content") or "")
        if "embeds" in body:
            msg["embeds"] = [{"type": "rich", **e} for e in body.get("embeds") or []]
        if "components" in body:
            msg["components"] = list(body.get("components") or [])
        if files or "attachments" in body:
            kept_ids = {
                str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)
            }
            kept = [a for a in msg["attachments"] if a["id"] in kept_ids]
            msg["attachments"] = kept + (self._attachments(body, files, channel) if channel else [])
        if ("content" in body or "allowed_mentions" in body) and channel is not None:
            author = self.users.get(int(msg["author"]["id"]), self.bot_user)
            mentions, roles, everyone = resolve_mentions(
                content=msg["content"],
                allowed=body.get("allowed_mentions"),
                author=author,
                channel=channel,
                users=self.users,
                replied_author=None,
            )
            msg.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        flags = int(msg.get("flags") or 0)
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS may be toggled by an edit.
            toggled = int(body["flags"]) & MessageFlags.SUPPRESS_EMBEDS
            flags = (flags & ~int(MessageFlags.SUPPRESS_EMBEDS)) | toggled
        if resolve_loading:
            flags &= ~int(MessageFlags.LOADING)
        else:
            msg["edited_timestamp"] = iso(utcnow())
        msg["flags"] = flags
        return msg

    async def dispatch_message_update(self, msg: dict[str, Any], channel: Channel) -> None:
        """Echo MESSAGE_UPDATE for a visible message."""
        if int(msg["id"]) not in self.ephemeral_ids:
            await self.gateway.dispatch("MESSAGE_UPDATE", self.gateway_message(msg, channel))
        self.notify()

    async def delete_message(self, message_id: int, channel: Channel) -> None:
        """Delete a stored message and echo MESSAGE_DELETE for visible ones."""
        self.messages.pop(message_id, None)
        if message_id in self.ephemeral_ids:
            self.ephemeral_ids.discard(message_id)
        else:
            data: dict[str, Any] = {"id": str(message_id), "channel_id": str(channel.id)}
            if channel.guild is not None:
                data["guild_id"] = str(channel.guild.id)
            await self.gateway.dispatch("MESSAGE_DELETE", data)
        self.notify()

    # ----------------------------------------------------------------- commands

    def normalise_command(
        self, raw: dict[str, Any], scope: int | None, old: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Turn a registration payload into the command object Discord stores and returns."""
        dmp = raw.get("default_member_permissions")
        cmd: dict[str, Any] = {
            "id": old["id"] if old else str(self.ids.next()),
            "application_id": str(self.application_id),
            "version": str(self.ids.next()),
            "default_member_permissions": None if dmp is None else str(dmp),
            "type": raw.get("type", 1),
            "name": raw["name"],
            "name_localizations": raw.get("name_localizations"),
            "description": raw.get("description", ""),
            "description_localizations": raw.get("description_localizations"),
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types") or [0],
            "nsfw": bool(raw.get("nsfw", False)),
        }
        if scope is None:
            cmd["dm_permission"] = raw.get("dm_permission", True) is not False
        else:
            cmd["guild_id"] = str(scope)
        if raw.get("options"):
            cmd["options"] = _drop_nones(raw["options"])
        return cmd


def _drop_nones(value: Any) -> Any:
    """Recursively remove keys whose value is None (Discord omits unset option fields)."""
    if isinstance(value, dict):
        return {k: _drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nones(v) for v in value]
    return value
