"""The one reader of the environment and `.env`: everything configurable, typed and frozen."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FACTS_DIR = PROJECT_ROOT / "facts"
DEFAULT_DATABASE = Path("data") / "bot.db"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the bot; see .env.example for what each one means."""

    token: str | None = None
    database: Path = DEFAULT_DATABASE
    facts_dir: Path = DEFAULT_FACTS_DIR
    work_id: str | None = None
    dev_guild: int | None = None
    qa_channels: frozenset[int] = frozenset()
    log_level: str = "INFO"
    api_base: str | None = None
    gateway_url: str | None = None
    cooldown_rate: int = 5
    cooldown_per: float = 30.0

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Settings from `.env` (if present) overridden by the process environment."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Parse settings from a plain mapping of variable names to strings."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        log_level = (get("BOT_LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"BOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        dev_guild = get("BOT_DEV_GUILD")
        return cls(
            token=get("DISCORD_TOKEN"),
            database=Path(get("BOT_DATABASE") or DEFAULT_DATABASE),
            facts_dir=Path(get("BOT_FACTS_DIR") or DEFAULT_FACTS_DIR),
            work_id=get("BOT_WORK"),
            dev_guild=_snowflake("BOT_DEV_GUILD", dev_guild) if dev_guild else None,
            qa_channels=frozenset(
                _snowflake("BOT_QA_CHANNELS", part)
                for part in (get("BOT_QA_CHANNELS") or "").replace(",", " ").split()
            ),
            log_level=log_level,
            api_base=get("BOT_API_BASE"),
            gateway_url=get("BOT_GATEWAY_URL"),
            cooldown_rate=_number("BOT_COOLDOWN_RATE", get("BOT_COOLDOWN_RATE"), 5, int),
            cooldown_per=_number("BOT_COOLDOWN_SECONDS", get("BOT_COOLDOWN_SECONDS"), 30.0, float),
        )


def _snowflake(name: str, value: str) -> int:
    if not value.isdigit():
        raise ConfigError(f"{name} must hold Discord ids (numbers), got {value!r}")
    return int(value)


def _number(name: str, value: str | None, default: Any, kind: Callable[[str], Any]) -> Any:
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than 0")
    return number
