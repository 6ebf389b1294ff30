"""A loopback stand-in for Discord's REST API v10 and gateway v10, for end-to-end bot tests.

Typical use::

    async with StandIn() as standin:
        guild = standin.add_guild("Lore Keepers")
        general = guild.add_text_channel("general")
        alice = guild.add_member(standin.add_user("alice"))
        async with running_bot(standin, make_bot()):
            handle = await standin.send_interaction(guild, general, alice, "ping")
            assert (await handle.response())["data"]["content"] == "pong"
        standin.assert_no_violations()
"""

from .discordpy import pointed_at, running_bot
from .interactions import (
    BotMessage,
    CallbackType,
    InteractionHandle,
    InteractionType,
    Option,
    SentMessage,
)
from .model import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Channel,
    ChannelType,
    Guild,
    Intents,
    Member,
    MessageFlags,
    OptionType,
    Overwrite,
    Permission,
    Role,
    Thread,
    User,
    compute_permissions,
)
from .records import FaultRule, RecordedCall, UploadedFile, Violation
from .server import StandIn

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "BotMessage",
    "CallbackType",
    "Channel",
    "ChannelType",
    "FaultRule",
    "Guild",
    "Intents",
    "InteractionHandle",
    "InteractionType",
    "Member",
    "MessageFlags",
    "Option",
    "OptionType",
    "Overwrite",
    "Permission",
    "RecordedCall",
    "Role",
    "SentMessage",
    "StandIn",
    "Thread",
    "UploadedFile",
    "User",
    "Violation",
    "compute_permissions",
    "pointed_at",
    "running_bot",
]
