"""Gateway settings, from the environment or a `.env` file (see .env.example for each one).

Channels without credentials stay off; `summary()` says which are on, for the start-up log.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"                       # TROLYAO_HOST
    port: int = 8080                              # TROLYAO_PORT
    rasa_url: str = "http://127.0.0.1:5005"       # RASA_URL
    action_server_url: str = "http://127.0.0.1:5055"   # ACTION_SERVER_URL
    telegram_bot_token: str | None = None         # TELEGRAM_BOT_TOKEN
    telegram_webhook_url: str | None = None       # TELEGRAM_WEBHOOK_URL (webhook mode; else polling)
    telegram_webhook_secret: str | None = None    # TELEGRAM_WEBHOOK_SECRET
    telegram_api_base: str = "https://api.telegram.org"   # TELEGRAM_API_BASE (tests: a fake server)
    zalo_app_id: str | None = None                # ZALO_APP_ID
    zalo_oa_secret_key: str | None = None         # ZALO_OA_SECRET_KEY (webhook signatures)
    zalo_app_secret: str | None = None            # ZALO_APP_SECRET (refreshing the access token)
    zalo_access_token: str | None = None          # ZALO_ACCESS_TOKEN
    zalo_refresh_token: str | None = None         # ZALO_REFRESH_TOKEN
    zalo_api_base: str = "https://openapi.zalo.me"        # ZALO_API_BASE (tests: a fake server)
    zalo_oauth_base: str = "https://oauth.zaloapp.com"    # ZALO_OAUTH_BASE
    max_message_chars: int = 1000                 # TROLYAO_MAX_MESSAGE_CHARS: longer questions are refused
    rate_limit: str = "12/minute"                 # TROLYAO_RATE_LIMIT: per sender ("limits" notation)
    rasa_timeout_s: float = 8.0                   # TROLYAO_RASA_TIMEOUT: then the user gets an apology

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: Path | None = ROOT / ".env") -> "Settings":
        """Environment variables win over the `.env` file; unknown or empty values keep the defaults."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)
        names = {f.name: _ENV_NAMES.get(f.name, f.name.upper()) for f in fields(cls)}
        kwargs = {}
        for field in fields(cls):
            raw = values.get(names[field.name], "").strip()
            if raw:
                convert = {"int": int, "float": float}.get(field.type, str)
                try:
                    kwargs[field.name] = convert(raw)
                except ValueError:
                    raise ValueError(f"{names[field.name]}={raw!r} is not a valid {field.type}") from None
        return cls(**kwargs)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and self.zalo_access_token)

    def summary(self) -> list[str]:
        lines = [f"web chat: http://{self.host}:{self.port}/"]
        if self.telegram_enabled:
            mode = f"webhook {self.telegram_webhook_url}" if self.telegram_webhook_url else "polling"
            lines.append(f"telegram: on ({mode})")
        else:
            lines.append("telegram: off (set TELEGRAM_BOT_TOKEN to turn it on)")
        lines.append("zalo: on (webhook /zalo/webhook)" if self.zalo_enabled else
                     "zalo: off (set ZALO_APP_ID, ZALO_OA_SECRET_KEY and ZALO_ACCESS_TOKEN to turn it on)")
        return lines


_ENV_NAMES = {"host": "TROLYAO_HOST", "port": "TROLYAO_PORT", "max_message_chars": "TROLYAO_MAX_MESSAGE_CHARS",
              "rate_limit": "TROLYAO_RATE_LIMIT", "rasa_timeout_s": "TROLYAO_RASA_TIMEOUT"}
