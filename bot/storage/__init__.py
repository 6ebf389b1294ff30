"""Persistent state of the bot: spoiler levels per scope and per user."""

from .migrations import SCHEMA_VERSION
from .settings import SCOPE_KINDS, ScopeLevel, SettingsStore, StorageError

__all__ = ["SCHEMA_VERSION", "SCOPE_KINDS", "ScopeLevel", "SettingsStore", "StorageError"]
