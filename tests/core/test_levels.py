"""Level resolution: the most specific setting wins; spoiler channels default to the top."""

from __future__ import annotations

from bot.config import DEFAULT_FACTS_DIR
from bot.core.levels import Scope, resolve
from bot.core.loader import load_works

WORK = load_works([DEFAULT_FACTS_DIR])[0]
THREAD = Scope("thread", 4, "t")
CHANNEL = Scope("channel", 3, "#c")
SPOILER = Scope("channel", 3, "#c", spoiler_channel=True)
CATEGORY = Scope("category", 2, "cat")
GUILD = Scope("guild", 1)


def test_nothing_set_is_the_safest_tier() -> None:
    got = resolve(WORK, [THREAD, CHANNEL, CATEGORY, GUILD], {})
    assert got.tier is WORK.safest and got.scope is None


def test_most_specific_setting_wins() -> None:
    stored = {1: "setup", 2: "departure", 3: "mars", 4: "ending"}
    chain = [THREAD, CHANNEL, CATEGORY, GUILD]
    assert resolve(WORK, chain, stored).tier.id == "ending"
    del stored[4]
    got = resolve(WORK, chain, stored)
    assert (got.tier.id, got.scope, got.reason) == (
        "mars",
        CHANNEL,
        "inherited from the channel #c",
    )
    del stored[3]
    assert resolve(WORK, chain, stored).tier.id == "departure"
    del stored[2]
    got = resolve(WORK, chain, stored)
    assert (got.tier.id, got.reason) == ("setup", "inherited from the server default")


def test_spoiler_channel_is_top_unless_set_lower() -> None:
    assert resolve(WORK, [SPOILER, CATEGORY, GUILD], {1: "setup"}).tier is WORK.top
    assert resolve(WORK, [THREAD, SPOILER, GUILD], {}).tier is WORK.top
    assert resolve(WORK, [SPOILER, GUILD], {3: "premise"}).tier.id == "premise"


def test_stale_tier_is_skipped() -> None:
    assert resolve(WORK, [CHANNEL, GUILD], {3: "prologue", 1: "mars"}).tier.id == "mars"
