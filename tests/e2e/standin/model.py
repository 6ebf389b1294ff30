"""World model of the stand-in Discord: users, guilds, roles, channels, members, permissions."""

from __future__ import annotations

import enum
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000


class Permission(enum.IntFlag):
    """Discord permission bits (https://discord.com/developers/docs/topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SET_VOICE_CHANNEL_STATUS = 1 << 48
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51
    BYPASS_SLOWMODE = 1 << 52


ALL_PERMISSIONS = Permission(sum(p.value for p in Permission))

# Permissions that exist at channel level; losing VIEW_CHANNEL implicitly removes all of these.
CHANNEL_PERMISSIONS = Permission(
    sum(
        p.value
        for p in Permission
        if p
        not in (
            Permission.KICK_MEMBERS,
            Permission.BAN_MEMBERS,
            Permission.ADMINISTRATOR,
            Permission.MANAGE_GUILD,
            Permission.VIEW_AUDIT_LOG,
            Permission.VIEW_GUILD_INSIGHTS,
            Permission.CHANGE_NICKNAME,
            Permission.MANAGE_NICKNAMES,
            Permission.MANAGE_GUILD_EXPRESSIONS,
            Permission.MANAGE_EVENTS,
            Permission.MODERATE_MEMBERS,
            Permission.VIEW_CREATOR_MONETIZATION_ANALYTICS,
            Permission.CREATE_GUILD_EXPRESSIONS,
            Permission.CREATE_EVENTS,
            Permission.SET_VOICE_CHANNEL_STATUS,
        )
    )
)

# What Discord leaves a timed-out member with.
TIMEOUT_MASK = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY

# Lost implicitly when the member cannot send in the channel (or in its threads).
SEND_DEPENDENT = (
    Permission.SEND_TTS_MESSAGES
    | Permission.MENTION_EVERYONE
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
)

# Close to what a freshly created guild gives @everyone.
DEFAULT_EVERYONE_PERMISSIONS = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.STREAM
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.MENTION_EVERYONE
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.USE_VAD
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.REQUEST_TO_SPEAK
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.CREATE_PRIVATE_THREADS
    | Permission.USE_EXTERNAL_STICKERS
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.USE_EMBEDDED_ACTIVITIES
    | Permission.USE_SOUNDBOARD
    | Permission.USE_EXTERNAL_SOUNDS
    | Permission.SEND_VOICE_MESSAGES
    | Permission.SEND_POLLS
    | Permission.USE_EXTERNAL_APPS
)

# What a typical invite link grants a lore bot's managed role.
DEFAULT_BOT_PERMISSIONS = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_APPLICATION_COMMANDS
)


class Intents(enum.IntFlag):
    """Gateway intent bits sent in IDENTIFY."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    AUTO_MODERATION_CONFIGURATION = 1 << 20
    AUTO_MODERATION_EXECUTION = 1 << 21
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25


PRIVILEGED_INTENTS = Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES | Intents.MESSAGE_CONTENT


class ChannelType(enum.IntEnum):
    """Channel types."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GROUP_DM = 3
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_STAGE_VOICE = 13
    GUILD_DIRECTORY = 14
    GUILD_FORUM = 15
    GUILD_MEDIA = 16


THREAD_TYPES = frozenset(
    {ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}
)


class OptionType(enum.IntEnum):
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


class MessageFlags(enum.IntFlag):
    """Message flag bits the stand-in interprets."""

    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_VOICE_MESSAGE = 1 << 13
    IS_COMPONENTS_V2 = 1 << 15


class SnowflakeFactory:
    """Generates strictly increasing snowflakes whose timestamp part is the current time."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        """Create a factory for one worker/process pair."""
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._increment = itertools.count()
        self._last = 0

    def next(self) -> int:
        """Return a new snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (
            (ms << 22)
            | (self._worker << 17)
            | (self._process << 12)
            | (next(self._increment) & 0xFFF)
        )
        # Several ids per millisecond can wrap the counter; clients sort by id, so keep order.
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def iso(dt: datetime) -> str:
    """Format a timestamp the way Discord does (ISO 8601 with +00:00)."""
    return dt.astimezone(UTC).isoformat()


def utcnow() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


@dataclass(eq=False)
class User:
    """A Discord user."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    discriminator: str = "0"
    avatar: str | None = None

    @property
    def mention(self) -> str:
        """Return the `<@id>` mention string."""
        return f"<@{self.id}>"

    def to_payload(self) -> dict[str, Any]:
        """Return the user object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": self.discriminator,
            "global_name": self.global_name,
            "avatar": self.avatar,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
        }
        # Discord only sends the `bot` key for bot accounts.
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False)
class Role:
    """A guild role; the @everyone role shares the guild's id."""

    id: int
    guild: Guild
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    tags: dict[str, Any] | None = None

    @property
    def mention(self) -> str:
        """Return the `<@&id>` mention string (plain @everyone for the default role)."""
        return "@everyone" if self.is_everyone else f"<@&{self.id}>"

    @property
    def is_everyone(self) -> bool:
        """Whether this is the guild's @everyone role."""
        return self.id == self.guild.id

    def to_payload(self) -> dict[str, Any]:
        """Return the role object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(int(self.permissions)),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.tags is not None:
            data["tags"] = self.tags
        return data


class OverwriteType(enum.IntEnum):
    """Permission overwrite target kinds."""

    ROLE = 0
    MEMBER = 1


@dataclass(frozen=True)
class Overwrite:
    """A channel permission overwrite."""

    id: int
    type: OverwriteType
    allow: int = 0
    deny: int = 0

    @classmethod
    def for_role(cls, role: Role, *, allow: int = 0, deny: int = 0) -> Overwrite:
        """Build an overwrite for a role (use the @everyone role for the guild default)."""
        return cls(role.id, OverwriteType.ROLE, int(allow), int(deny))

    @classmethod
    def for_member(cls, member: Member | User, *, allow: int = 0, deny: int = 0) -> Overwrite:
        """Build an overwrite for a single member."""
        user = member.user if isinstance(member, Member) else member
        return cls(user.id, OverwriteType.MEMBER, int(allow), int(deny))

    def to_payload(self) -> dict[str, Any]:
        """Return the overwrite object as Discord serialises it."""
        return {
            "id": str(self.id),
            "type": int(self.type),
            "allow": str(int(self.allow)),
            "deny": str(int(self.deny)),
        }


@dataclass(eq=False)
class Channel:
    """A guild channel (text, voice, category, forum...) or a DM channel."""

    id: int
    type: ChannelType
    name: str
    guild: Guild | None = None
    position: int = 0
    parent: Channel | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    flags: int = 0
    overwrites: list[Overwrite] = field(default_factory=list)
    last_message_id: int | None = None
    recipients: list[User] = field(default_factory=list)

    @property
    def mention(self) -> str:
        """Return the `<#id>` mention string."""
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type in THREAD_TYPES

    @property
    def parent_id(self) -> int | None:
        """Id of the category (or, for threads, the parent channel)."""
        return self.parent.id if self.parent is not None else None

    def set_overwrite(self, target: Role | Member | User, *, allow: int = 0, deny: int = 0) -> None:
        """Add or replace the overwrite for a role or member."""
        if isinstance(target, Role):
            new = Overwrite.for_role(target, allow=allow, deny=deny)
        else:
            new = Overwrite.for_member(target, allow=allow, deny=deny)
        self.overwrites = [o for o in self.overwrites if o.id != new.id] + [new]

    def to_payload(self, *, include_guild_id: bool = True) -> dict[str, Any]:
        """Return the channel object as Discord serialises it."""
        if self.type in (ChannelType.DM, ChannelType.GROUP_DM):
            return {
                "id": str(self.id),
                "type": int(self.type),
                "last_message_id": _opt_str(self.last_message_id),
                "flags": self.flags,
                "recipients": [u.to_payload() for u in self.recipients],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": int(self.type),
            "name": self.name,
            "position": self.position,
            "flags": self.flags,
            "parent_id": _opt_str(self.parent_id),
            "permission_overwrites": [o.to_payload() for o in self.overwrites],
        }
        if include_guild_id and self.guild is not None:
            data["guild_id"] = str(self.guild.id)
        if self.type == ChannelType.GUILD_CATEGORY:
            return data
        data["nsfw"] = self.nsfw
        if self.type in (ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE):
            data.update(
                bitrate=64000,
                user_limit=0,
                rtc_region=None,
                last_message_id=_opt_str(self.last_message_id),
                rate_limit_per_user=self.rate_limit_per_user,
            )
            return data
        data.update(
            topic=self.topic,
            last_message_id=_opt_str(self.last_message_id),
            rate_limit_per_user=self.rate_limit_per_user,
            default_thread_rate_limit_per_user=0,
        )
        if self.type in (ChannelType.GUILD_FORUM, ChannelType.GUILD_MEDIA):
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_auto_archive_duration=1440,
            )
        return data


@dataclass(eq=False)
class Thread(Channel):
    """A thread; `parent` is the text or forum channel it lives in."""

    owner_id: int = 0
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    message_count: int = 0
    member_count: int = 1
    created_at: datetime = field(default_factory=utcnow)

    def to_payload(self, *, include_guild_id: bool = True) -> dict[str, Any]:
        """Return the thread channel object as Discord serialises it."""
        metadata: dict[str, Any] = {
            "archived": self.archived,
            "archive_timestamp": iso(self.created_at),
            "auto_archive_duration": self.auto_archive_duration,
            "locked": self.locked,
            "create_timestamp": iso(self.created_at),
        }
        if self.type == ChannelType.PRIVATE_THREAD:
            metadata["invitable"] = self.invitable
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": int(self.type),
            "name": self.name,
            "parent_id": _opt_str(self.parent_id),
            "owner_id": str(self.owner_id),
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": self.flags,
            "message_count": self.message_count,
            "member_count": self.member_count,
            "total_message_sent": self.message_count,
            "thread_metadata": metadata,
        }
        if self.guild is not None:
            data["guild_id"] = str(self.guild.id)
        if self.parent is not None and self.parent.type in (
            ChannelType.GUILD_FORUM,
            ChannelType.GUILD_MEDIA,
        ):
            data["applied_tags"] = []
        return data


@dataclass(eq=False)
class Member:
    """A user's membership in a guild."""

    user: User
    guild: Guild
    roles: list[Role] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=utcnow)
    timed_out_until: datetime | None = None
    pending: bool = False

    @property
    def id(self) -> int:
        """The member's user id."""
        return self.user.id

    @property
    def mention(self) -> str:
        """Return the `<@id>` mention string."""
        return self.user.mention

    def has_role(self, role: Role) -> bool:
        """Whether the member has the role (everyone has @everyone)."""
        return role.is_everyone or any(r is role for r in self.roles)

    def to_payload(
        self, *, include_user: bool = True, permissions: int | None = None
    ) -> dict[str, Any]:
        """Return the guild member object; `permissions` is added for interaction payloads."""
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r.id) for r in self.roles if not r.is_everyone],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": self.pending,
            "communication_disabled_until": (
                iso(self.timed_out_until) if self.timed_out_until is not None else None
            ),
            "unusual_dm_activity_until": None,
        }
        if include_user:
            data["user"] = self.user.to_payload()
        if permissions is not None:
            data["permissions"] = str(int(permissions))
        return data


@dataclass(eq=False)
class Guild:
    """A guild and everything in it; build it with the add_* helpers."""

    id: int
    name: str
    owner: User
    _ids: SnowflakeFactory
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    preferred_locale: str = "en-US"
    description: str | None = None
    system_channel: Channel | None = None

    @property
    def default_role(self) -> Role:
        """The @everyone role."""
        return next(r for r in self.roles if r.is_everyone)

    def add_role(
        self,
        name: str,
        permissions: int = 0,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        managed: bool = False,
        tags: dict[str, Any] | None = None,
    ) -> Role:
        """Create a role placed above the existing ones."""
        role = Role(
            id=self._ids.next(),
            guild=self,
            name=name,
            permissions=int(permissions),
            position=len(self.roles),
            color=color,
            hoist=hoist,
            mentionable=mentionable,
            managed=managed,
            tags=tags,
        )
        self.roles.append(role)
        return role

    def add_category(self, name: str, *, overwrites: list[Overwrite] | None = None) -> Channel:
        """Create a category channel (type 4)."""
        return self._add_channel(ChannelType.GUILD_CATEGORY, name, None, overwrites)

    def add_text_channel(
        self,
        name: str,
        *,
        category: Channel | None = None,
        topic: str | None = None,
        nsfw: bool = False,
        overwrites: list[Overwrite] | None = None,
        type: ChannelType = ChannelType.GUILD_TEXT,
    ) -> Channel:
        """Create a text-like channel (text, announcement, forum), optionally in a category."""
        channel = self._add_channel(type, name, category, overwrites)
        channel.topic = topic
        channel.nsfw = nsfw
        return channel

    def add_voice_channel(
        self,
        name: str,
        *,
        category: Channel | None = None,
        overwrites: list[Overwrite] | None = None,
    ) -> Channel:
        """Create a voice channel."""
        return self._add_channel(ChannelType.GUILD_VOICE, name, category, overwrites)

    def add_thread(
        self,
        parent: Channel,
        name: str,
        *,
        owner: Member | User | None = None,
        private: bool = False,
        archived: bool = False,
        locked: bool = False,
    ) -> Thread:
        """Create a thread inside a text or forum channel."""
        if parent.guild is not self or parent.type not in (
            ChannelType.GUILD_TEXT,
            ChannelType.GUILD_ANNOUNCEMENT,
            ChannelType.GUILD_FORUM,
            ChannelType.GUILD_MEDIA,
        ):
            raise ValueError("threads need a text, announcement or forum parent in this guild")
        owner_user = owner.user if isinstance(owner, Member) else (owner or self.owner)
        if parent.type == ChannelType.GUILD_ANNOUNCEMENT:
            kind = ChannelType.ANNOUNCEMENT_THREAD
        else:
            kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        thread = Thread(
            id=self._ids.next(),
            type=kind,
            name=name,
            guild=self,
            parent=parent,
            owner_id=owner_user.id,
            archived=archived,
            locked=locked,
        )
        self.threads.append(thread)
        return thread

    def add_member(
        self,
        user: User,
        *,
        roles: list[Role] | tuple[Role, ...] = (),
        nick: str | None = None,
        timed_out_until: datetime | None = None,
    ) -> Member:
        """Add a user to the guild with the given roles."""
        for role in roles:
            if role.guild is not self:
                raise ValueError(f"role {role.name!r} belongs to another guild")
        member = Member(
            user=user,
            guild=self,
            roles=[r for r in roles if not r.is_everyone],
            nick=nick,
            timed_out_until=timed_out_until,
        )
        self.members[user.id] = member
        return member

    def member(self, user: User | int) -> Member:
        """Return the member for a user (KeyError if not in the guild)."""
        return self.members[user if isinstance(user, int) else user.id]

    def channel(self, name_or_id: str | int) -> Channel:
        """Find a channel or thread by name or id."""
        for ch in [*self.channels, *self.threads]:
            if ch.id == name_or_id or ch.name == name_or_id:
                return ch
        raise KeyError(name_or_id)

    def role(self, name_or_id: str | int) -> Role:
        """Find a role by name or id."""
        for role in self.roles:
            if role.id == name_or_id or role.name == name_or_id:
                return role
        raise KeyError(name_or_id)

    def get_channel(self, channel_id: int) -> Channel | None:
        """Return the channel or thread with this id, if any."""
        for ch in [*self.channels, *self.threads]:
            if ch.id == channel_id:
                return ch
        return None

    def permissions_for(self, member: Member, channel: Channel | None = None) -> Permission:
        """Compute a member's permissions, optionally in a channel."""
        return compute_permissions(member, channel)

    def to_payload(
        self, *, members: list[Member], joined_at: datetime, large_threshold: int = 50
    ) -> dict[str, Any]:
        """Return the GUILD_CREATE object (guild plus gateway-only extra fields)."""
        return {
            **self.to_rest_payload(),
            "joined_at": iso(joined_at),
            "large": len(self.members) > large_threshold,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [m.to_payload() for m in members],
            # GUILD_CREATE omits guild_id on channels but includes it on threads.
            "channels": [c.to_payload(include_guild_id=False) for c in self.channels],
            "threads": [t.to_payload() for t in self.threads if not t.archived],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
            "application_command_counts": {},
            "embedded_activities": [],
            "activity_instances": [],
            "version": int(time.time() * 1000),
        }

    def to_rest_payload(self) -> dict[str, Any]:
        """Return the guild object as GET /guilds/{id} does."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "owner_id": str(self.owner.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [r.to_payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": list(self.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": _opt_str(
                self.system_channel.id if self.system_channel is not None else None
            ),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "description": self.description,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "nsfw": False,
            "hub_type": None,
            "incidents_data": None,
            "region": "deprecated",
        }

    def _add_channel(
        self,
        kind: ChannelType,
        name: str,
        category: Channel | None,
        overwrites: list[Overwrite] | None,
    ) -> Channel:
        if category is not None and (
            category.guild is not self or category.type != ChannelType.GUILD_CATEGORY
        ):
            raise ValueError("category must be a category channel of this guild")
        channel = Channel(
            id=self._ids.next(),
            type=kind,
            name=name,
            guild=self,
            position=sum(1 for c in self.channels if c.type == kind),
            parent=category,
            overwrites=list(overwrites or []),
        )
        self.channels.append(channel)
        return channel


def compute_permissions(member: Member, channel: Channel | None = None) -> Permission:
    """Compute permissions the way Discord documents it: base, then overwrites, then implicit."""
    guild = member.guild
    if member.user.id == guild.owner.id:
        return ALL_PERMISSIONS
    base = int(guild.default_role.permissions)
    for role in member.roles:
        base |= int(role.permissions)
    if base & Permission.ADMINISTRATOR:
        return ALL_PERMISSIONS
    perms = base
    if channel is not None:
        # Threads have no overwrites of their own: they inherit the parent's.
        source = channel.parent if channel.is_thread and channel.parent is not None else channel
        perms = _apply_overwrites(perms, member, source)
        send_bit = (
            Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        )
        if not perms & send_bit:
            perms &= ~SEND_DEPENDENT
        if not perms & Permission.VIEW_CHANNEL:
            perms &= ~CHANNEL_PERMISSIONS
    if member.timed_out_until is not None and member.timed_out_until > utcnow():
        perms &= TIMEOUT_MASK
    return Permission(perms & ALL_PERMISSIONS)


def _apply_overwrites(base: int, member: Member, channel: Channel) -> int:
    """Apply @everyone, then the union of role overwrites, then the member's overwrite."""
    guild = member.guild
    overwrites = channel.overwrites
    for ow in overwrites:
        if ow.type == OverwriteType.ROLE and ow.id == guild.id:
            base = (base & ~ow.deny) | ow.allow
    allow = deny = 0
    role_ids = {r.id for r in member.roles}
    for ow in overwrites:
        if ow.type == OverwriteType.ROLE and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    base = (base & ~deny) | allow
    for ow in overwrites:
        if ow.type == OverwriteType.MEMBER and ow.id == member.user.id:
            base = (base & ~ow.deny) | ow.allow
    return base


def _opt_str(value: int | None) -> str | None:
    """Serialise an optional snowflake."""
    return None if value is None else str(value)
