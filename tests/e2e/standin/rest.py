"""REST side of the stand-in: routing, recording, rate limits, faults and Discord's handlers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from .interactions import (
    ALLOWED_CALLBACKS,
    CallbackType,
    InteractionState,
)
from .model import (
    Channel,
    Guild,
    Intents,
    Member,
    MessageFlags,
    Permission,
    Thread,
    User,
    compute_permissions,
    iso,
    utcnow,
)
from .records import FaultRule, RecordedCall, UploadedFile, call_matches
from .validation import (
    DiscordError,
    FormErrors,
    has_message_content,
    unknown,
    validate_choices,
    validate_command,
    validate_commands,
    validate_message_body,
)

if TYPE_CHECKING:
    from .server import StandIn

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Reply = tuple[int, Any]
Handler = Callable[[RecordedCall, dict[str, str]], Awaitable[Reply]]

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class RouteDef:
    """One REST route: method, path template and handler."""

    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool
    major: tuple[str, ...]


@dataclass(eq=False)
class _Bucket:
    """A fixed-window rate limit bucket."""

    hash: str
    window_start: float
    count: int = 0


def _compile(template: str) -> re.Pattern[str]:
    """Turn `/channels/{channel_id}` into a regex with named groups."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


def _snowflake(value: str) -> int | None:
    """Parse a path snowflake, or None if it is not one."""
    return int(value) if value.isdigit() else None


class RestApi:
    """Discord's HTTP API, backed by the stand-in's world and message store."""

    def __init__(self, standin: StandIn) -> None:
        """Bind to the stand-in and build the route table."""
        self.standin = standin
        self._buckets: dict[str, _Bucket] = {}
        self.routes: list[RouteDef] = []
        add = self._add
        add("GET", "/users/@me", self.get_me)
        add("POST", "/users/@me/channels", self.create_dm)
        add("GET", "/users/{user_id}", self.get_user)
        add("GET", "/oauth2/applications/@me", self.get_application)
        add("GET", "/applications/@me", self.get_application)
        add("GET", "/gateway", self.get_gateway, auth=False)
        add("GET", "/gateway/bot", self.get_gateway_bot)
        add("GET", "/channels/{channel_id}", self.get_channel)
        add("GET", "/channels/{channel_id}/messages", self.list_messages)
        add("POST", "/channels/{channel_id}/messages", self.create_message)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        add("POST", "/channels/{channel_id}/typing", self.typing)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        add("PUT", reaction, self.add_reaction)
        add("DELETE", reaction, self.remove_reaction)
        add("GET", "/guilds/{guild_id}", self.get_guild)
        add("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        add("GET", "/guilds/{guild_id}/roles", self.get_roles)
        add("GET", "/guilds/{guild_id}/members", self.list_members)
        add("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        add("GET", "/guilds/{guild_id}/threads/active", self.active_threads)
        add(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            self.interaction_callback,
            auth=False,
        )
        hook = "/webhooks/{application_id}/{interaction_token}"
        add("POST", hook, self.create_followup, auth=False)
        for target in ("@original", "{message_id}"):
            path = f"{hook}/messages/{target}"
            add("GET", path, self.get_webhook_message, auth=False)
            add("PATCH", path, self.edit_webhook_message, auth=False)
            add("DELETE", path, self.delete_webhook_message, auth=False)
        for scope in (
            "/applications/{application_id}",
            "/applications/{application_id}/guilds/{guild_id}",
        ):
            add("GET", f"{scope}/commands", self.list_commands)
            add("PUT", f"{scope}/commands", self.bulk_overwrite_commands)
            add("POST", f"{scope}/commands", self.create_command)
            add("GET", f"{scope}/commands/{{command_id}}", self.get_command)
            add("PATCH", f"{scope}/commands/{{command_id}}", self.edit_command)
            add("DELETE", f"{scope}/commands/{{command_id}}", self.delete_command)

    def _add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        """Register a route; major parameters decide rate limit buckets like Discord's."""
        major = tuple(
            p
            for p in ("channel_id", "guild_id", "interaction_id", "interaction_token")
            if "{" + p + "}" in template
        )
        self.routes.append(RouteDef(method, template, _compile(template), handler, auth, major))

    # ----------------------------------------------------------------- dispatching

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Catch-all aiohttp handler: record, match, fault-inject, rate-limit, answer."""
        st = self.standin
        path = request.path
        call = RecordedCall(
            method=request.method,
            path=path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path,
            query=dict(request.query),
            json=None,
            files=[],
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            at=st.loop_time(),
            wall_time=time.time(),
        )
        st.calls.append(call)
        try:
            await self._parse_body(request, call)
        except (ValueError, UnicodeDecodeError):
            return self._error(
                call,
                DiscordError(
                    400, 50109, "The request body contains invalid JSON.", kind="bad_json"
                ),
            )
        if not path.startswith(API_PREFIX + "/"):
            return self._not_found(call)
        route, params, wrong_method = self._match(call)
        if route is None:
            if wrong_method:
                err = DiscordError(405, 0, "405: Method Not Allowed", kind="unknown_route")
                return self._error(call, err)
            return self._not_found(call)
        call.route = route.template
        call.params = params
        fault = self._take_fault(call)
        if fault is not None:
            return self._fault_response(call, route, params, fault)
        if route.auth and request.headers.get("Authorization") != f"Bot {st.token}":
            err = DiscordError(401, 0, "401: Unauthorized", kind="unauthorized")
            return self._error(call, err)
        bucket_headers, limited = self._rate_limit(route, params)
        if limited is not None:
            return self._too_many(call, bucket_headers, limited, scope="user")
        try:
            status, body = await route.handler(call, params)
        except DiscordError as err:
            return self._error(call, err, bucket_headers)
        except Exception as exc:
            # A bug in the stand-in itself: answer like a Discord outage, and make it loud.
            log.exception("stand-in handler crashed on %s", call.key)
            err = DiscordError(500, 0, f"500: Internal Server Error ({exc!r})", kind="standin_bug")
            return self._error(call, err, bucket_headers)
        return self._respond(call, status, body, bucket_headers)

    async def _parse_body(self, request: web.Request, call: RecordedCall) -> None:
        """Parse JSON bodies and multipart bodies (payload_json + files)."""
        if not request.can_read_body:
            return
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    call.json = json.loads(data.decode())
                else:
                    call.files.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=bytes(data),
                        )
                    )
            return
        text = await request.text()
        if text and ctype == "application/json":
            call.json = json.loads(text)

    def _match(self, call: RecordedCall) -> tuple[RouteDef | None, dict[str, str], bool]:
        """Find the route for a call; report whether only the method was wrong."""
        wrong_method = False
        for route in self.routes:
            m = route.regex.match(call.path)
            if m is None:
                continue
            if route.method == call.method:
                return route, m.groupdict(), False
            wrong_method = True
        return None, {}, wrong_method

    def _not_found(self, call: RecordedCall) -> web.Response:
        """Unknown route: Discord's plain 404 body."""
        return self._error(call, DiscordError(404, 0, "404: Not Found", kind="unknown_route"))

    # ----------------------------------------------------------------- responses

    def _respond(
        self, call: RecordedCall, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> web.Response:
        """Serialise an answer and finish the call record."""
        # Every Discord response passes Google's load balancer; discord.py checks for `Via`
        # before trusting a 429 (without it, it assumes a Cloudflare ban and gives up).
        out = {"Via": "1.1 google", **(headers or {})}
        data: bytes | None = None
        if status != 204 and body is not None:
            # discord.py only decodes JSON when Content-Type is exactly `application/json`,
            # so no charset parameter (aiohttp's json_response would append one).
            out["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        call.status = status
        call.response = body
        call.response_headers = dict(out)
        self.standin.notify()
        return web.Response(status=status, body=data, headers=out)

    def _error(
        self, call: RecordedCall, err: DiscordError, headers: dict[str, str] | None = None
    ) -> web.Response:
        """Answer with a Discord error and log a violation if the bot is at fault."""
        response = self._respond(call, err.status, err.body(), headers)
        if err.violation:
            self.standin.record_violation(
                err.kind, err.message, status=err.status, code=err.code, call=call
            )
        return response

    def _too_many(
        self,
        call: RecordedCall,
        headers: dict[str, str],
        retry_after: float,
        *,
        scope: str,
        is_global: bool = False,
    ) -> web.Response:
        """A 429 exactly as Discord sends it (body retry_after in seconds, headers)."""
        out = dict(headers)
        out["Retry-After"] = str(max(1, math.ceil(retry_after)))
        out["X-RateLimit-Scope"] = scope
        if is_global:
            out["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
            "code": 0,
        }
        return self._respond(call, 429, body, out)

    # ----------------------------------------------------------------- rate limits and faults

    def _bucket_key(self, route: RouteDef, params: dict[str, str]) -> tuple[str, str]:
        """Bucket hash (per route) and key (per route + major parameters)."""
        digest = hashlib.sha1(f"{route.method} {route.template}".encode()).hexdigest()[:32]
        major = "+".join(params[p] for p in route.major)
        return digest, f"{digest}:{major}"

    def _rate_limit(
        self, route: RouteDef, params: dict[str, str]
    ) -> tuple[dict[str, str], float | None]:
        """Count the request in its bucket; return headers and retry_after if over the limit."""
        st = self.standin
        digest, key = self._bucket_key(route, params)
        now = st.loop_time()
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.window_start >= st.rate_limit_window:
            bucket = _Bucket(hash=digest, window_start=now)
            self._buckets[key] = bucket
        bucket.count += 1
        reset_after = max(0.001, bucket.window_start + st.rate_limit_window - now)
        remaining = max(0, st.rate_limit - bucket.count)
        headers = {
            "X-RateLimit-Limit": str(st.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": digest,
        }
        if bucket.count > st.rate_limit:
            return headers, reset_after
        return headers, None

    def _take_fault(self, call: RecordedCall) -> FaultRule | None:
        """Return (and consume) the first pending fault rule matching this call."""
        for rule in self.standin.faults:
            if not rule.exhausted and call_matches(rule.matcher, call):
                rule.remaining -= 1
                rule.hits.append(call)
                return rule
        return None

    def _fault_response(
        self, call: RecordedCall, route: RouteDef, params: dict[str, str], rule: FaultRule
    ) -> web.Response:
        """Answer with an injected failure."""
        call.fault_injected = True
        digest, _ = self._bucket_key(route, params)
        reset = rule.retry_after
        headers = {
            "X-RateLimit-Limit": str(self.standin.rate_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + reset:.3f}",
            "X-RateLimit-Reset-After": f"{reset:.3f}",
            "X-RateLimit-Bucket": digest,
        }
        if rule.status == 429:
            scope = "global" if rule.is_global else "user"
            return self._too_many(call, headers, reset, scope=scope, is_global=rule.is_global)
        if rule.status >= 500:
            body = {"message": f"{rule.status}: Internal Server Error", "code": 0}
        else:
            body = {"message": f"{rule.status}: Injected failure", "code": 0}
        return self._respond(call, rule.status, body, headers)

    # ----------------------------------------------------------------- lookups

    def _guild(self, guild_id: str) -> Guild:
        """Resolve a guild id or raise Unknown Guild."""
        gid = _snowflake(guild_id)
        guild = self.standin.find_guild(gid) if gid is not None else None
        if guild is None:
            raise unknown("unknown_guild", 10004, "Guild")
        return guild

    def _channel(self, channel_id: str) -> Channel:
        """Resolve a channel id or raise Unknown Channel."""
        cid = _snowflake(channel_id)
        channel = self.standin.find_channel(cid) if cid is not None else None
        if channel is None:
            raise unknown("unknown_channel", 10003, "Channel")
        return channel

    def _bot_member(self, guild: Guild) -> Member:
        """The bot's member in a guild."""
        return guild.members[self.standin.bot_user.id]

    def _require(self, channel: Channel, *needed: Permission) -> None:
        """Raise 50001/50013 unless the bot has the permissions in the channel."""
        if channel.guild is None:
            return
        perms = compute_permissions(self._bot_member(channel.guild), channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise DiscordError(403, 50001, "Missing Access", kind="missing_access")
        for perm in needed:
            if not perms & perm:
                raise DiscordError(
                    403, 50013, "Missing Permissions", kind=f"missing_{perm.name.lower()}"
                )

    def _message(self, channel: Channel, message_id: str) -> dict[str, Any]:
        """A visible (non-ephemeral) message in the channel, or Unknown Message."""
        mid = _snowflake(message_id)
        msg = self.standin.messages.get(mid) if mid is not None else None
        if msg is None or msg["channel_id"] != str(channel.id) or mid in self.standin.ephemeral_ids:
            raise unknown("unknown_message", 10008, "Message")
        return msg

    # ----------------------------------------------------------------- users, app, gateway

    async def get_me(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /users/@me."""
        data = self.standin.bot_user.to_payload()
        data.update(verified=True, mfa_enabled=False, email=None, locale="en-US", bot=True)
        return 200, data

    async def get_user(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /users/{id}."""
        uid = _snowflake(p["user_id"])
        user = self.standin.users.get(uid) if uid is not None else None
        if user is None:
            raise unknown("unknown_user", 10013, "User")
        return 200, user.to_payload()

    async def create_dm(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST /users/@me/channels: open (or reuse) a DM channel."""
        body = call.json if isinstance(call.json, dict) else {}
        uid = _snowflake(str(body.get("recipient_id", "")))
        user = self.standin.users.get(uid) if uid is not None else None
        if user is None:
            raise unknown("unknown_user", 10013, "User")
        return 200, self.standin.dm_channel(user).to_payload()

    async def get_application(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /oauth2/applications/@me."""
        return 200, self.standin.application_payload()

    async def get_gateway(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /gateway."""
        return 200, {"url": self.standin.gateway_url}

    async def get_gateway_bot(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /gateway/bot."""
        return 200, {
            "url": self.standin.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    # ----------------------------------------------------------------- channels and messages

    async def get_channel(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /channels/{id}."""
        channel = self._channel(p["channel_id"])
        self._require(channel)
        return 200, channel.to_payload()

    async def list_messages(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /channels/{id}/messages with limit/before/after/around."""
        channel = self._channel(p["channel_id"])
        self._require(channel, Permission.READ_MESSAGE_HISTORY)
        msgs = [
            m
            for mid, m in self.standin.messages.items()
            if m["channel_id"] == str(channel.id) and mid not in self.standin.ephemeral_ids
        ]
        msgs.sort(key=lambda m: int(m["id"]), reverse=True)
        q = call.query
        limit = max(1, min(100, int(q.get("limit", "50"))))
        if "before" in q:
            msgs = [m for m in msgs if int(m["id"]) < int(q["before"])]
        if "after" in q:
            msgs = [m for m in msgs if int(m["id"]) > int(q["after"])][-limit:]
        if "around" in q:
            pivot = int(q["around"])
            older = [m for m in msgs if int(m["id"]) <= pivot][: limit // 2 + 1]
            newer = [m for m in msgs if int(m["id"]) > pivot][-(limit // 2) :] if limit > 1 else []
            msgs = newer + older
        return 200, msgs[:limit]

    async def get_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /channels/{id}/messages/{id}."""
        channel = self._channel(p["channel_id"])
        self._require(channel, Permission.READ_MESSAGE_HISTORY)
        return 200, self._message(channel, p["message_id"])

    async def create_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST /channels/{id}/messages: store, echo MESSAGE_CREATE, return the message."""
        st = self.standin
        channel = self._channel(p["channel_id"])
        send = (
            Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        )
        self._require(channel, send)
        body = call.json if call.json is not None else {}
        errors = FormErrors()
        validate_message_body(body, errors, file_count=len(call.files))
        if call.files:
            self._require(channel, Permission.ATTACH_FILES)
        if isinstance(channel, Thread) and channel.locked:
            perms = compute_permissions(self._bot_member(channel.guild), channel)
            if not perms & Permission.MANAGE_THREADS:
                raise DiscordError(403, 160005, "Thread is locked", kind="thread_locked")
        reference = body.get("message_reference") if isinstance(body, dict) else None
        referenced: dict[str, Any] | None = None
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            ref_channel_id = str(reference.get("channel_id") or channel.id)
            candidate = st.messages.get(int(reference["message_id"]))
            if candidate is not None and candidate["channel_id"] == ref_channel_id:
                referenced = candidate
            elif reference.get("fail_if_not_exists", True):
                errors.add(
                    ["message_reference"],
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
        errors.raise_if_any("invalid_message")
        msg = st.build_message(
            channel=channel,
            author=st.bot_user,
            body=body,
            files=call.files,
            referenced=referenced,
        )
        await st.store_and_dispatch(msg, channel, call)
        return 200, msg

    async def edit_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """PATCH /channels/{id}/messages/{id}: only the author may change content."""
        channel = self._channel(p["channel_id"])
        self._require(channel)
        msg = self._message(channel, p["message_id"])
        body = call.json if isinstance(call.json, dict) else {}
        if msg["author"]["id"] != str(self.standin.bot_user.id) and (set(body) - {"flags"}):
            raise DiscordError(
                403, 50005, "Cannot edit a message authored by another user", kind="edit_foreign"
            )
        errors = FormErrors()
        validate_message_body(body, errors, require_non_empty=False, file_count=len(call.files))
        errors.raise_if_any("invalid_message")
        updated = self.standin.apply_edit(msg, body, call.files)
        self.standin.message_calls[int(updated["id"])] = call
        await self.standin.dispatch_message_update(updated, channel)
        return 200, updated

    async def delete_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """DELETE /channels/{id}/messages/{id}: own messages, or with MANAGE_MESSAGES."""
        channel = self._channel(p["channel_id"])
        self._require(channel)
        msg = self._message(channel, p["message_id"])
        if msg["author"]["id"] != str(self.standin.bot_user.id):
            self._require(channel, Permission.MANAGE_MESSAGES)
        await self.standin.delete_message(int(msg["id"]), channel)
        return 204, None

    async def typing(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST /channels/{id}/typing."""
        channel = self._channel(p["channel_id"])
        self._require(channel, Permission.SEND_MESSAGES)
        return 204, None

    async def add_reaction(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """PUT .../reactions/{emoji}/@me."""
        channel = self._channel(p["channel_id"])
        self._require(channel, Permission.READ_MESSAGE_HISTORY, Permission.ADD_REACTIONS)
        self._message(channel, p["message_id"])
        return 204, None

    async def remove_reaction(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """DELETE .../reactions/{emoji}/@me."""
        channel = self._channel(p["channel_id"])
        self._require(channel, Permission.READ_MESSAGE_HISTORY)
        self._message(channel, p["message_id"])
        return 204, None

    # ----------------------------------------------------------------- guilds

    async def get_guild(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id} (with_counts adds approximate counts)."""
        guild = self._guild(p["guild_id"])
        data = guild.to_rest_payload()
        if call.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = len(guild.members)
        return 200, data

    async def get_guild_channels(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id}/channels."""
        guild = self._guild(p["guild_id"])
        return 200, [c.to_payload() for c in guild.channels]

    async def get_roles(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id}/roles."""
        guild = self._guild(p["guild_id"])
        return 200, [r.to_payload() for r in guild.roles]

    async def list_members(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id}/members (needs the GUILD_MEMBERS intent enabled)."""
        guild = self._guild(p["guild_id"])
        if not self.standin.enabled_privileged_intents & Intents.GUILD_MEMBERS:
            raise DiscordError(403, 50001, "Missing Access", kind="members_intent_disabled")
        limit = max(1, min(1000, int(call.query.get("limit", "1"))))
        after = int(call.query.get("after", "0"))
        members = sorted(guild.members.values(), key=lambda m: m.user.id)
        members = [m for m in members if m.user.id > after][:limit]
        return 200, [m.to_payload() for m in members]

    async def get_member(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id}/members/{user_id}."""
        guild = self._guild(p["guild_id"])
        uid = _snowflake(p["user_id"])
        member = guild.members.get(uid) if uid is not None else None
        if member is None:
            raise unknown("unknown_member", 10007, "Member")
        return 200, member.to_payload()

    async def active_threads(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /guilds/{id}/threads/active."""
        guild = self._guild(p["guild_id"])
        threads = [t.to_payload() for t in guild.threads if not t.archived]
        return 200, {"threads": threads, "members": []}

    # ----------------------------------------------------------------- interactions

    @contextlib.contextmanager
    def _tracking(self, state: InteractionState, call: RecordedCall) -> Iterator[None]:
        """Attach refused calls to their interaction so tests can inspect them."""
        try:
            yield
        except DiscordError:
            state.rejected.append(call)
            raise

    def _elapsed(self, state: InteractionState) -> float:
        """Seconds since the interaction was created."""
        return self.standin.loop_time() - state.created_at

    async def interaction_callback(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST /interactions/{id}/{token}/callback: the single initial response."""
        st = self.standin
        iid = _snowflake(p["interaction_id"])
        state = st.interactions.get(iid) if iid is not None else None
        if state is None or state.token != p["interaction_token"]:
            raise DiscordError(404, 10062, "Unknown interaction", kind="unknown_interaction")
        with self._tracking(state, call):
            if state.response is not None:
                raise DiscordError(
                    400,
                    40060,
                    "Interaction has already been acknowledged.",
                    kind="already_acknowledged",
                )
            if self._elapsed(state) > st.interaction_response_timeout:
                raise DiscordError(404, 10062, "Unknown interaction", kind="late_response")
            body = call.json if isinstance(call.json, dict) else {}
            kind = body.get("type")
            allowed = ALLOWED_CALLBACKS.get(state.type, frozenset())
            if kind not in allowed:
                errors = FormErrors()
                errors.add(
                    ["type"],
                    "INTERACTION_CALLBACK_TYPE_INVALID",
                    f"Value must be one of {sorted(allowed)} for interaction type {state.type}.",
                )
                errors.raise_if_any("invalid_callback_type")
            data = body.get("data")
            message = await self._apply_callback(state, int(kind), data, call)
        state.response = body
        state.response_call = call
        state.responded_at = st.loop_time()
        if call.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        return 200, self._callback_resource(state, int(kind), message)

    async def _apply_callback(
        self, state: InteractionState, kind: int, data: Any, call: RecordedCall
    ) -> dict[str, Any] | None:
        """Validate the callback data and create or update the message it implies."""
        st = self.standin
        errors = FormErrors()
        if kind == CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            validate_message_body(
                data, errors, ["data"], file_count=len(call.files), allow_ephemeral=True
            )
            errors.raise_if_any("invalid_response")
            msg = st.build_interaction_message(state, data, call.files)
            state.original_message_id = int(msg["id"])
            await st.store_and_dispatch(msg, state.channel, call)
            return msg
        if kind == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = int((data or {}).get("flags") or 0) if isinstance(data, dict) else 0
            if flags & ~int(MessageFlags.EPHEMERAL):
                errors.add(["data", "flags"], "MESSAGE_FLAGS_INVALID", "Invalid flags")
                errors.raise_if_any("invalid_response")
            placeholder = {"content": "", "flags": flags | int(MessageFlags.LOADING)}
            msg = st.build_interaction_message(state, placeholder, [])
            state.original_message_id = int(msg["id"])
            state.loading = True
            await st.store_and_dispatch(msg, state.channel, call)
            return msg
        if kind == CallbackType.DEFERRED_UPDATE_MESSAGE:
            state.original_message_id = state.source_message_id
            return None
        if kind == CallbackType.UPDATE_MESSAGE:
            validate_message_body(data, errors, ["data"], require_non_empty=False)
            errors.raise_if_any("invalid_response")
            source = st.messages.get(state.source_message_id or 0)
            if source is None:
                raise unknown("unknown_message", 10008, "Message", violation=True)
            state.original_message_id = int(source["id"])
            updated = st.apply_edit(source, data or {}, call.files)
            await st.dispatch_message_update(updated, state.channel)
            return updated
        if kind == CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            choices = (data or {}).get("choices") if isinstance(data, dict) else None
            if choices is None:
                errors.add(["data", "choices"], "BASE_TYPE_REQUIRED", "This field is required")
            else:
                validate_choices(choices, state.focused_type, errors, ["data", "choices"])
            errors.raise_if_any("invalid_autocomplete")
            return None
        if kind == CallbackType.MODAL:
            modal = data if isinstance(data, dict) else {}
            for key, lo, hi in (("custom_id", 1, 100), ("title", 1, 45)):
                value = modal.get(key)
                if not isinstance(value, str) or not lo <= len(value) <= hi:
                    errors.add(
                        ["data", key],
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between {lo} and {hi} in length.",
                    )
            components = modal.get("components")
            if not isinstance(components, list) or not 1 <= len(components) <= 5:
                errors.add(
                    ["data", "components"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 5 in length.",
                )
            errors.raise_if_any("invalid_modal")
            return None
        return None

    def _callback_resource(
        self, state: InteractionState, kind: int, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The `with_response` body: interaction summary plus the created resource."""
        summary: dict[str, Any] = {"id": str(state.id), "type": state.type}
        result: dict[str, Any] = {"interaction": summary}
        if message is not None and kind in (4, 5, 7):
            flags = int(message.get("flags") or 0)
            summary.update(
                response_message_id=message["id"],
                response_message_loading=bool(flags & MessageFlags.LOADING),
                response_message_ephemeral=bool(flags & MessageFlags.EPHEMERAL),
            )
            result["resource"] = {"type": kind, "message": message}
        elif kind in (6, 8, 9):
            result["resource"] = {"type": kind}
        return result

    def _token_state(self, p: dict[str, str]) -> InteractionState:
        """Resolve the interaction behind a webhook token, or Unknown Webhook."""
        st = self.standin
        state = st.interactions_by_token.get(p["interaction_token"])
        if state is None or p["application_id"] != str(st.application_id):
            raise unknown("unknown_webhook", 10015, "Webhook", violation=True)
        return state

    def _check_token_alive(self, state: InteractionState) -> None:
        """Interaction tokens stop working 15 minutes after creation."""
        if self._elapsed(state) > self.standin.interaction_token_ttl:
            raise DiscordError(401, 50027, "Invalid Webhook Token", kind="expired_token")

    def _webhook_message(self, state: InteractionState, target: str | None) -> dict[str, Any]:
        """The original response (`@original`) or one of this interaction's follow-ups."""
        st = self.standin
        if target is None:
            mid = state.original_message_id
            if mid is None or mid not in st.messages:
                raise unknown("unknown_message", 10008, "Message", violation=True)
            return st.messages[mid]
        mid = _snowflake(target)
        if (
            mid is None
            or mid not in st.messages
            or (mid != state.original_message_id and mid not in state.followup_ids)
        ):
            raise unknown("unknown_message", 10008, "Message", violation=True)
        return st.messages[mid]

    async def create_followup(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST /webhooks/{app}/{token}: a follow-up message."""
        st = self.standin
        state = self._token_state(p)
        with self._tracking(state, call):
            self._check_token_alive(state)
            acked = state.response is not None and state.response.get("type") not in (
                CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
                CallbackType.MODAL,
            )
            if not acked:
                # The webhook only exists once the interaction has been acknowledged.
                raise DiscordError(404, 10015, "Unknown Webhook", kind="followup_before_response")
            body = call.json if call.json is not None else {}
            errors = FormErrors()
            validate_message_body(body, errors, file_count=len(call.files), allow_ephemeral=True)
            errors.raise_if_any("invalid_followup")
            if state.loading and state.original_message_id in st.messages:
                # The first follow-up after a deferral replaces the "thinking" message,
                # keeping the visibility chosen when deferring.
                original = st.messages[state.original_message_id]
                edit = {k: v for k, v in body.items() if k != "flags"}
                msg = st.apply_edit(original, edit, call.files, resolve_loading=True)
                state.loading = False
                state.followup_ids.append(int(msg["id"]))
                st.message_calls[int(msg["id"])] = call
                await st.dispatch_message_update(msg, state.channel)
            else:
                msg = st.build_interaction_message(state, body, call.files, followup=True)
                state.followup_ids.append(int(msg["id"]))
                await st.store_and_dispatch(msg, state.channel, call)
        if call.query.get("wait") in ("1", "true", "True"):
            return 200, msg
        return 204, None

    async def get_webhook_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET /webhooks/{app}/{token}/messages/{@original|id}."""
        state = self._token_state(p)
        with self._tracking(state, call):
            self._check_token_alive(state)
            return 200, self._webhook_message(state, p.get("message_id"))

    async def edit_webhook_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """PATCH /webhooks/{app}/{token}/messages/{@original|id}."""
        st = self.standin
        state = self._token_state(p)
        with self._tracking(state, call):
            self._check_token_alive(state)
            msg = self._webhook_message(state, p.get("message_id"))
            body = call.json if isinstance(call.json, dict) else {}
            errors = FormErrors()
            validate_message_body(body, errors, require_non_empty=False, file_count=len(call.files))
            errors.raise_if_any("invalid_edit")
            loading = bool(int(msg.get("flags") or 0) & MessageFlags.LOADING)
            if loading and not has_message_content(body, len(call.files)):
                raise DiscordError(400, 50006, "Cannot send an empty message", kind="empty_message")
            updated = st.apply_edit(msg, body, call.files, resolve_loading=loading)
            st.message_calls[int(updated["id"])] = call
            if int(updated["id"]) == state.original_message_id:
                state.loading = False
                state.edits.append(body)
            await st.dispatch_message_update(updated, state.channel)
        return 200, updated

    async def delete_webhook_message(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """DELETE /webhooks/{app}/{token}/messages/{@original|id}."""
        state = self._token_state(p)
        with self._tracking(state, call):
            self._check_token_alive(state)
            msg = self._webhook_message(state, p.get("message_id"))
            await self.standin.delete_message(int(msg["id"]), state.channel)
        return 204, None

    # ----------------------------------------------------------------- application commands

    def _scope(self, p: dict[str, str]) -> int | None:
        """Command scope: None for global, the guild id for guild commands."""
        if p["application_id"] != str(self.standin.application_id):
            raise DiscordError(403, 50001, "Missing Access", kind="wrong_application")
        if "guild_id" in p:
            return self._guild(p["guild_id"]).id
        return None

    async def list_commands(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET .../commands."""
        scope = self._scope(p)
        return 200, list(self.standin.commands.get(scope, {}).values())

    async def bulk_overwrite_commands(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """PUT .../commands: replace the whole set, keeping ids of commands that survive."""
        st = self.standin
        scope = self._scope(p)
        body = call.json
        validate_commands(body).raise_if_any("invalid_command")
        existing = {(c["type"], c["name"]): c for c in st.commands.get(scope, {}).values()}
        new: dict[int, dict[str, Any]] = {}
        for raw in body:
            old = existing.get((raw.get("type", 1), raw["name"]))
            cmd = st.normalise_command(raw, scope, old)
            new[int(cmd["id"])] = cmd
        st.commands[scope] = new
        return 200, list(new.values())

    async def create_command(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """POST .../commands: create or overwrite by name."""
        st = self.standin
        scope = self._scope(p)
        errors = FormErrors()
        validate_command(call.json, errors, [])
        errors.raise_if_any("invalid_command")
        raw = call.json
        commands = st.commands.setdefault(scope, {})
        old = next(
            (
                c
                for c in commands.values()
                if (c["type"], c["name"]) == (raw.get("type", 1), raw["name"])
            ),
            None,
        )
        cmd = st.normalise_command(raw, scope, old)
        commands[int(cmd["id"])] = cmd
        return (200 if old else 201), cmd

    def _command(self, scope: int | None, command_id: str) -> dict[str, Any]:
        """Find a command in a scope, or Unknown application command."""
        cid = _snowflake(command_id)
        cmd = self.standin.commands.get(scope, {}).get(cid or 0)
        if cmd is None:
            raise unknown("unknown_command", 10063, "application command")
        return cmd

    async def get_command(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """GET .../commands/{id}."""
        return 200, self._command(self._scope(p), p["command_id"])

    async def edit_command(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """PATCH .../commands/{id}."""
        scope = self._scope(p)
        old = self._command(scope, p["command_id"])
        body = call.json if isinstance(call.json, dict) else {}
        merged = {**old, **body}
        errors = FormErrors()
        validate_command(merged, errors, [])
        errors.raise_if_any("invalid_command")
        cmd = self.standin.normalise_command(merged, scope, old)
        self.standin.commands[scope][int(cmd["id"])] = cmd
        return 200, cmd

    async def delete_command(self, call: RecordedCall, p: dict[str, str]) -> Reply:
        """DELETE .../commands/{id}."""
        scope = self._scope(p)
        cmd = self._command(scope, p["command_id"])
        del self.standin.commands[scope][int(cmd["id"])]
        return 204, None


def mentioned_ids(content: str) -> tuple[list[int], list[int], bool]:
    """User ids, role ids and @everyone/@here found in message content."""
    users = [int(m) for m in _USER_MENTION.findall(content)]
    roles = [int(m) for m in _ROLE_MENTION.findall(content)]
    return users, roles, ("@everyone" in content or "@here" in content)


def resolve_mentions(
    *,
    content: str,
    allowed: dict[str, Any] | None,
    author: User,
    channel: Channel,
    users: dict[int, User],
    replied_author: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[str], bool]:
    """Apply allowed_mentions to content mentions: (mentions, mention_roles, mention_everyone)."""
    user_ids, role_ids, everyone = mentioned_ids(content)
    if allowed is None:
        parse = {"users", "roles", "everyone"}
        allow_users: set[int] = set()
        allow_roles: set[int] = set()
        replied_user = True
    else:
        parse = set(allowed.get("parse") or [])
        allow_users = {int(u) for u in allowed.get("users") or []}
        allow_roles = {int(r) for r in allowed.get("roles") or []}
        replied_user = bool(allowed.get("replied_user", False))
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for uid in user_ids:
        if uid in seen or uid not in users:
            continue
        if "users" in parse or uid in allow_users:
            out.append(users[uid].to_payload())
            seen.add(uid)
    if replied_author is not None and replied_user:
        rid = int(replied_author["id"])
        if rid not in seen and rid != author.id:
            out.append(replied_author)
    guild = channel.guild
    roles: list[str] = []
    if guild is not None:
        known = {r.id for r in guild.roles}
        roles = [
            str(r)
            for r in dict.fromkeys(role_ids)
            if r in known and ("roles" in parse or r in allow_roles)
        ]
    can_everyone = True
    if guild is not None and author.id in guild.members:
        can_everyone = bool(
            compute_permissions(guild.members[author.id], channel) & Permission.MENTION_EVERYONE
        )
    return out, roles, everyone and "everyone" in parse and can_everyone


def message_timestamp() -> str:
    """Current time formatted like Discord's message timestamps."""
    return iso(utcnow())
