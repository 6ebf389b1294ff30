"""A spoiler-aware lore bot for Discord."""
