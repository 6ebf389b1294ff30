"""Gateway (websocket) side of the stand-in: sessions, dispatch, resume and fault controls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from .model import PRIVILEGED_INTENTS, Guild, Intents, Member

if TYPE_CHECKING:
    from .server import StandIn

log = logging.getLogger(__name__)

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# Close codes Discord uses for client mistakes.
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

# Events a session only receives with the matching intent (guild scope / DM scope).
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_CONTENT_FIELDS = ("content", "embeds", "attachments", "components", "poll")


@dataclass(eq=False)
class GatewaySession:
    """A gateway session: survives reconnects until invalidated."""

    id: str
    identify: dict[str, Any]
    intents: Intents
    seq: int = 0
    events: list[tuple[int, str]] = field(default_factory=list)
    resumable: bool = True
    connection: GatewayConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, event: str, data: dict[str, Any]) -> bool:
        """Whether this session's intents subscribe it to the event."""
        if event in _MESSAGE_EVENTS:
            needed = Intents.GUILD_MESSAGES if data.get("guild_id") else Intents.DIRECT_MESSAGES
            return bool(self.intents & needed)
        if event.startswith("GUILD_MEMBER") and event != "GUILD_MEMBERS_CHUNK":
            return bool(self.intents & Intents.GUILD_MEMBERS)
        if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
            return bool(self.intents & Intents.GUILDS)
        return True


@dataclass(eq=False)
class GatewayConnection:
    """One websocket connection from the bot."""

    ws: web.WebSocketResponse
    request: web.Request
    path: str
    query: dict[str, str]
    compressor: Any = None
    session: GatewaySession | None = None
    live: bool = False
    heartbeats: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send_text(self, text: str) -> None:
        """Send one gateway payload, zlib-stream compressed if negotiated."""
        async with self.send_lock:
            if self.ws.closed:
                raise ConnectionResetError("gateway connection closed")
            if self.compressor is not None:
                chunk = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(chunk)
            else:
                await self.ws.send_str(text)

    async def send(self, payload: dict[str, Any]) -> None:
        """Serialise and send one gateway payload."""
        await self.send_text(json.dumps(payload, separators=(",", ":")))


class Gateway:
    """Accepts gateway connections and runs Discord's session protocol over them."""

    def __init__(self, standin: StandIn) -> None:
        """Bind the gateway to its stand-in."""
        self.standin = standin
        self.sessions: dict[str, GatewaySession] = {}
        self.current: GatewaySession | None = None
        self.connections: list[GatewayConnection] = []
        self.ready_count = 0
        self.resume_count = 0
        self.ack_heartbeats = True

    @property
    def live_connection(self) -> GatewayConnection | None:
        """The connection currently receiving dispatches, if any."""
        session = self.current
        if session is None or session.connection is None or not session.connection.live:
            return None
        return session.connection

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for `/gateway` (and the resume URL)."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0, compress=False)
        await ws.prepare(request)
        query = dict(request.query)
        compressor = None
        if query.get("compress") == "zlib-stream" and self.standin.transport_compression:
            compressor = zlib.compressobj()
        conn = GatewayConnection(
            ws=ws, request=request, path=request.path, query=query, compressor=compressor
        )
        self.connections.append(conn)
        try:
            if query.get("v") != "10":
                await ws.close(code=CLOSE_INVALID_API_VERSION, message=b"Invalid API version")
            elif query.get("encoding", "json") != "json":
                # ETF is not spoken here; Discord would accept it, so say why we close.
                await ws.close(code=CLOSE_DECODE_ERROR, message=b"Only JSON encoding supported")
            else:
                await conn.send(
                    {
                        "op": HELLO,
                        "d": {
                            "heartbeat_interval": self.standin.heartbeat_interval,
                            "_trace": ['["gateway-standin",{"micros":0.0}]'],
                        },
                        "s": None,
                        "t": None,
                    }
                )
                await self._read_loop(conn)
        finally:
            await self._on_closed(conn)
        return ws

    async def _read_loop(self, conn: GatewayConnection) -> None:
        """Receive and handle frames until the socket closes."""
        async for msg in conn.ws:
            if msg.type == WSMsgType.TEXT:
                text = msg.data
            elif msg.type == WSMsgType.BINARY:
                text = msg.data.decode("utf-8", "replace")
            else:
                break
            try:
                payload = json.loads(text)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await conn.ws.close(
                    code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload"
                )
                break
            conn.received.append(payload)
            try:
                await self._handle_op(conn, op, payload.get("d"))
            except Exception as exc:
                # A bug in the stand-in: make it visible instead of silently dropping the bot.
                log.exception("stand-in gateway crashed handling op %s", op)
                self.standin.record_violation(
                    "standin_bug", f"gateway op {op}: {exc!r}", status=0, code=0
                )
                raise
            self.standin.notify()

    async def _handle_op(self, conn: GatewayConnection, op: int, data: Any) -> None:
        """Dispatch one client opcode."""
        if op == HEARTBEAT:
            conn.heartbeats += 1
            if self.ack_heartbeats:
                await self._safe_send(conn, {"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            if conn.session is None:
                await conn.ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            if conn.session is None:
                await conn.ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
            else:
                await self._request_members(conn.session, data or {})
        else:
            await conn.ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        """Handle IDENTIFY: validate, create a session, send READY and GUILD_CREATEs."""
        standin = self.standin
        if conn.session is not None:
            await conn.ws.close(code=CLOSE_ALREADY_AUTHENTICATED, message=b"Already authenticated.")
            return
        if data.get("token") != standin.token:
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        raw_intents = data.get("intents")
        if not isinstance(raw_intents, int) or raw_intents < 0:
            await conn.ws.close(code=CLOSE_INVALID_INTENTS, message=b"Invalid intent(s).")
            return
        intents = Intents(raw_intents & sum(i.value for i in Intents))
        if intents & PRIVILEGED_INTENTS & ~standin.enabled_privileged_intents:
            await conn.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        # A new IDENTIFY supersedes the old session for this single-shard bot.
        if self.current is not None:
            self.current.resumable = False
        session = GatewaySession(id=secrets.token_hex(16), identify=data, intents=intents)
        session.connection = conn
        conn.session = session
        self.sessions[session.id] = session
        self.current = session
        large_threshold = int(data.get("large_threshold") or 50)
        async with session.lock:
            conn.live = True
            await self._dispatch_locked(session, "READY", self._ready_payload(session, data))
            if intents & Intents.GUILDS:
                for guild in standin.guilds:
                    payload = guild.to_payload(
                        members=self._initial_members(guild, intents, large_threshold),
                        joined_at=standin.joined_at(guild),
                        large_threshold=large_threshold,
                    )
                    await self._dispatch_locked(session, "GUILD_CREATE", payload)
        self.ready_count += 1

    def _ready_payload(self, session: GatewaySession, identify: dict[str, Any]) -> dict[str, Any]:
        """Build READY as Discord sends it to bots."""
        standin = self.standin
        user = standin.bot_user.to_payload()
        user.update(verified=True, mfa_enabled=False, email=None, bot=True)
        ready: dict[str, Any] = {
            "v": 10,
            "user": user,
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in standin.guilds],
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": standin.resume_gateway_url,
            "application": {"id": str(standin.application_id), "flags": standin.application_flags},
            "auth": {},
            "_trace": ['["gateway-standin",{"micros":0.0}]'],
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        return ready

    def _initial_members(
        self, guild: Guild, intents: Intents, large_threshold: int
    ) -> list[Member]:
        """Members inlined in GUILD_CREATE: the bot, or everyone in small guilds with presences."""
        bot = guild.members.get(self.standin.bot_user.id)
        if intents & Intents.GUILD_PRESENCES and len(guild.members) <= large_threshold:
            return list(guild.members.values())
        return [bot] if bot is not None else []

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        """Handle RESUME: replay missed dispatches then send RESUMED, or invalidate."""
        if data.get("token") != self.standin.token:
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.resumable:
            # Discord answers a stale RESUME with op 9 d=false on the same socket.
            await self._safe_send(conn, {"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        last_seq = data.get("seq") or 0
        old = session.connection
        if old is not None and old is not conn and not old.ws.closed:
            old.live = False
            await old.ws.close(code=WSCloseCode.GOING_AWAY)
        async with session.lock:
            session.connection = conn
            conn.session = session
            for seq, text in session.events:
                if seq > last_seq:
                    await conn.send_text(text)
            conn.live = True
            await self._dispatch_locked(session, "RESUMED", {"_trace": ['["gateway-standin"]']})
        self.current = session
        self.resume_count += 1

    async def _request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        """Answer REQUEST_GUILD_MEMBERS with GUILD_MEMBERS_CHUNK events."""
        guild_ids = data.get("guild_id")
        if not isinstance(guild_ids, list):
            guild_ids = [guild_ids]
        query = data.get("query")
        user_ids = [int(u) for u in data.get("user_ids") or []]
        limit = int(data.get("limit") or 0)
        if query == "" and not user_ids and not session.intents & Intents.GUILD_MEMBERS:
            self.standin.record_violation(
                "members_without_intent",
                "requesting all members needs the GUILD_MEMBERS intent",
                status=0,
                code=CLOSE_INVALID_INTENTS,
            )
        for gid in guild_ids:
            guild = self.standin.find_guild(int(gid))
            if guild is None:
                continue
            members = list(guild.members.values())
            not_found: list[str] = []
            if user_ids:
                found = [m for m in members if m.user.id in user_ids]
                not_found = [str(u) for u in user_ids if u not in guild.members]
                members = found
            elif query is not None and query != "":
                q = query.lower()
                members = [
                    m
                    for m in members
                    if m.user.username.lower().startswith(q) or (m.nick or "").lower().startswith(q)
                ]
            elif not session.intents & Intents.GUILD_MEMBERS:
                members = []
            if limit:
                members = members[:limit]
            chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
            for index, chunk in enumerate(chunks):
                payload: dict[str, Any] = {
                    "guild_id": str(guild.id),
                    "members": [m.to_payload() for m in chunk],
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                    "not_found": not_found,
                }
                if data.get("nonce") is not None:
                    payload["nonce"] = data["nonce"]
                if data.get("presences"):
                    payload["presences"] = []
                await self.dispatch("GUILD_MEMBERS_CHUNK", payload, session=session)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, session: GatewaySession | None = None
    ) -> int | None:
        """Send a DISPATCH to the current session (buffered while it is disconnected)."""
        session = session or self.current
        if session is None or not session.wants(event, data):
            return None
        async with session.lock:
            return await self._dispatch_locked(session, event, data)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> int:
        """Assign the next sequence number, buffer the event for resumes, and send it."""
        session.seq += 1
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and isinstance(data, dict):
            data = self._apply_content_intent(session, data)
        text = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
        session.events.append((session.seq, text))
        conn = session.connection
        if conn is not None and conn.live:
            try:
                await conn.send_text(text)
            except (ConnectionResetError, RuntimeError):
                # The client will resume and get it replayed, exactly like on Discord.
                conn.live = False
        return session.seq

    def _apply_content_intent(
        self, session: GatewaySession, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Blank message content without MESSAGE_CONTENT, except where Discord exempts it."""
        if session.intents & Intents.MESSAGE_CONTENT or not data.get("guild_id"):
            return data
        bot_id = str(self.standin.bot_user.id)
        author = (data.get("author") or {}).get("id")
        mentioned = any(u.get("id") == bot_id for u in data.get("mentions") or [])
        if author == bot_id or mentioned:
            return data
        stripped = dict(data)
        for key in _CONTENT_FIELDS:
            if key in stripped:
                stripped[key] = "" if key == "content" else ([] if key != "poll" else None)
        return stripped

    async def send_op(self, payload: dict[str, Any]) -> GatewayConnection:
        """Send a raw non-dispatch payload on the live connection."""
        conn = self._require_connection()
        await conn.send(payload)
        return conn

    async def drop(self, code: int | None = None) -> None:
        """Kill the live connection: abort the TCP stream, or close with `code`."""
        conn = self._require_connection()
        conn.live = False
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            await conn.ws.close(code=code, message=b"stand-in closed the connection")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.closed.wait(), timeout=5)

    async def invalidate(self, resumable: bool) -> None:
        """Send op 9; a non-resumable invalidation also ends the session."""
        conn = self._require_connection()
        if not resumable and conn.session is not None:
            conn.session.resumable = False
            if self.current is conn.session:
                self.current = None
        await conn.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})

    def _require_connection(self) -> GatewayConnection:
        """Return the live connection or fail loudly (the test forgot to start the bot)."""
        conn = self.live_connection
        if conn is None:
            raise RuntimeError("no bot is connected to the stand-in gateway")
        return conn

    async def _safe_send(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        """Send, ignoring a socket that is already going away."""
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await conn.send(payload)

    async def _on_closed(self, conn: GatewayConnection) -> None:
        """Bookkeeping once a socket is gone."""
        conn.live = False
        conn.close_code = conn.ws.close_code
        session = conn.session
        # Discord ends the session when the client closes cleanly with 1000/1001.
        if session is not None and conn.close_code in (1000, 1001):
            session.resumable = False
            if self.current is session:
                self.current = None
        if session is not None and session.connection is conn:
            session.connection = None
        conn.closed.set()
        self.standin.notify()

    async def close_all(self) -> None:
        """Close every open socket (server shutdown)."""
        for conn in list(self.connections):
            conn.live = False
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown"), 2
                    )
