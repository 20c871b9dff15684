"""Every setting of the assistant, typed, read from the environment and `.env` (the environment wins).

One object for the core (index, model, caches, feedback, today), the dialogue stack's addresses and
the channels' credentials. `.env.example` is generated from the same fields
(`python -m retrieval.settings > .env.example`; a test keeps the two equal). It lives in the first
stage so that every later stage (actions, channels, the launcher) reads it without importing back.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE_VARIABLE = "TROLYAO_ENV_FILE"   # which .env to read ("" reads none: the tests' isolation)


def parse_days(value: str) -> list[int]:
    """"3,0" → [3, 0]: whole days, none negative (a ValueError says which part is wrong)."""
    days = []
    for part in (p.strip() for p in value.split(",")):
        if not part.isdigit():
            raise ValueError(f"{part!r} is not a number of days (expected e.g. \"3,0\")")
        days.append(int(part))
    return days


def setting(default: Any, env: str, doc: str, section: str, example: str | None = None, **bounds: Any) -> Any:
    """A field read from ``env``; ``doc`` and ``section`` document it in `.env.example`, where a
    setting without a fixed default shows ``example`` commented out; ``bounds`` (ge=1 …) constrain it."""
    return Field(default, validation_alias=env, description=doc,
                 json_schema_extra={"section": section, "example": example}, **bounds)


GATEWAY = "Where the gateway listens, and the dialogue stack behind it (`make run` starts it on these ports)."
TELEGRAM = "Telegram (python-telegram-bot). Polling when no webhook URL is set."
ZALO = "Zalo Official Account (API v3). Webhook at /zalo/webhook."
MESSENGER = "Facebook Messenger (a Page's messages). Webhook at /messenger/webhook; on when the three secrets are set."
SCALE_OUT = ("Scale-out mode (`make run-scaled`): Rasa's lock store in Redis, its conversations in PostgreSQL. "
             "Nothing answering at a local URL: a server of our own is started under the data directory.")
PRIVACY = ("Privacy (Law 91/2025/QH15 on personal data protection): how long users' conversations and feedback "
           "are kept; `trolyao privacy` lists, exports and deletes them.")
WEB = ("The web chat's identity and limits: conversations are a signed cookie the gateway issues; "
       "integrations authenticate with the API key.")
ACCESS = "Access: internal documents (ingested with --access internal or an access.yaml) are for officials only."
WATCH = ("The watcher (`trolyao watch`): `make run` starts it when sources are set; each new page is captured "
         "under the data directory and ingested.")
FOLLOW = ("Following (\"theo dõi Sở Y tế\", \"theo dõi tin mới\"): the gateway tells followers of new tasks and "
          "bulletins, and reminds them of deadlines.")
VOICE = ("Voice notes (Telegram, Zalo, Messenger) transcribed offline by Whisper base (faster-whisper): "
         "set-up installs the extra and builds the model when TROLYAO_VOICE=1.")
DATA = "Data: the index, the model, the caches, the feedback store, the day treated as today."


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True)

    host: str = setting("127.0.0.1", "TROLYAO_HOST", "Interface of the gateway (web chat at http://HOST:PORT/).",
                        GATEWAY)
    port: int = setting(8080, "TROLYAO_PORT", "Port of the gateway.", GATEWAY)
    rasa_url: str = setting("http://127.0.0.1:5005", "TROLYAO_RASA_URL",
                            "The Rasa server (the gateway and `trolyao chat` talk to it).", GATEWAY)
    action_server_url: str = setting("http://127.0.0.1:5055", "TROLYAO_ACTION_SERVER_URL",
                                     "The action server (its /health is part of the gateway's /healthz).", GATEWAY)
    rate_limit: str = setting("12/minute", "TROLYAO_RATE_LIMIT", "Per-sender rate limit (\"limits\" notation).",
                              GATEWAY)
    max_message_chars: int = setting(1000, "TROLYAO_MAX_MESSAGE_CHARS", "Longer questions are refused.", GATEWAY)
    rasa_timeout_s: float = setting(8.0, "TROLYAO_RASA_TIMEOUT", "Seconds to wait for Rasa before apologising.",
                                    GATEWAY)

    secret_key: SecretStr | None = setting(
        None, "TROLYAO_SECRET_KEY",
        "Signs the web chat's conversation cookie and keys the HMAC of user ids in logs and stores (set-up "
        "generates it into .env; unset: a key kept in the data directory). Changing it starts every web "
        "conversation anew.", WEB)
    api_key: SecretStr | None = setting(
        None, "TROLYAO_API_KEY",
        "Integrations send `Authorization: Bearer <key>` to POST /api/chat and may then name their own "
        "`sender` (unset: no integration access).", WEB)
    trusted_proxies: str | None = setting(
        None, "TROLYAO_TRUSTED_PROXIES",
        "Comma-separated proxy IPs or CIDRs whose X-Forwarded-For is believed (unset: none; the client is "
        "the connecting address).", WEB, "127.0.0.1,10.0.0.0/8")
    address_rate_limit: str = setting("120/minute", "TROLYAO_ADDRESS_RATE_LIMIT",
                                      "Web chat messages per client address (\"limits\" notation).", WEB)
    new_conversations_per_hour: int = setting(
        60, "TROLYAO_NEW_CONVERSATIONS_PER_HOUR", "New web conversations one client address may start per hour.",
        WEB)
    embed_origins: str = setting(
        "self", "TROLYAO_EMBED_ORIGINS",
        "Who may embed the web chat in a frame (CSP frame-ancestors): space-separated origins, `self` (this "
        "site) or `none`, e.g. \"self https://langson.gov.vn\".", WEB)

    telegram_bot_token: str | None = setting(None, "TELEGRAM_BOT_TOKEN", "The bot's token (turns Telegram on).",
                                             TELEGRAM)
    telegram_webhook_url: str | None = setting(
        None, "TELEGRAM_WEBHOOK_URL", "Webhook mode: the public HTTPS URL of /telegram/webhook.", TELEGRAM)
    telegram_webhook_secret: str | None = setting(
        None, "TELEGRAM_WEBHOOK_SECRET",
        "The secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token (required in webhook mode).", TELEGRAM)
    telegram_api_base: str = setting("https://api.telegram.org", "TELEGRAM_API_BASE",
                                     "Another Bot API server (tests, or a local Bot API server).", TELEGRAM)
    telegram_file_api_base: str | None = setting(
        None, "TELEGRAM_FILE_API_BASE",
        "Where voice notes are downloaded from, in python-telegram-bot's base_file_url form (the bot token is "
        "appended); unset: TELEGRAM_API_BASE + /file/bot, i.e. https://api.telegram.org/file/bot.", TELEGRAM,
        "https://api.telegram.org/file/bot")

    zalo_app_id: str | None = setting(None, "ZALO_APP_ID", "The app id (with the two below, turns Zalo on).", ZALO)
    zalo_oa_secret_key: str | None = setting(None, "ZALO_OA_SECRET_KEY",
                                             "The OA secret key: verifies X-ZEvent-Signature on webhook events.", ZALO)
    zalo_access_token: str | None = setting(None, "ZALO_ACCESS_TOKEN", "The OA access token.", ZALO)
    zalo_app_secret: str | None = setting(
        None, "ZALO_APP_SECRET", "The app secret: refreshes the access token with the refresh token.", ZALO)
    zalo_refresh_token: str | None = setting(None, "ZALO_REFRESH_TOKEN", "The refresh token (single use).", ZALO)
    zalo_api_base: str = setting("https://openapi.zalo.me", "ZALO_API_BASE", "The OA API (tests: a fake server).",
                                 ZALO)
    zalo_oauth_base: str = setting("https://oauth.zaloapp.com", "ZALO_OAUTH_BASE", "Zalo's OAuth server.", ZALO)

    messenger_page_access_token: SecretStr | None = setting(
        None, "MESSENGER_PAGE_ACCESS_TOKEN", "The Page access token (pages_messaging): sends the replies.", MESSENGER)
    messenger_app_secret: SecretStr | None = setting(
        None, "MESSENGER_APP_SECRET", "The app secret: verifies X-Hub-Signature-256 on webhook events.", MESSENGER)
    messenger_verify_token: SecretStr | None = setting(
        None, "MESSENGER_VERIFY_TOKEN",
        "Any string of your choosing, entered again in the app's webhook settings (answers the GET check).",
        MESSENGER)
    messenger_api_base: str = setting("https://graph.facebook.com/v21.0", "MESSENGER_API_BASE",
                                      "The Graph API with its version (tests: a fake server).", MESSENGER)

    redis_url: str = setting("redis://127.0.0.1:6380/1", "TROLYAO_REDIS_URL",
                             "Redis (redis://[:PASSWORD@]HOST:PORT/DB) for the Rasa workers' lock store.",
                             SCALE_OUT)
    database_url: str = setting("postgresql://trolyao@127.0.0.1:5433/trolyao", "TROLYAO_DATABASE_URL",
                                "PostgreSQL (postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE) for the conversations.",
                                SCALE_OUT)
    rasa_worker_urls: str | None = setting(
        None, "TROLYAO_RASA_WORKER_URLS",
        "Comma-separated Rasa workers the gateway spreads users over (`make run-scaled` sets it).", SCALE_OUT,
        "http://127.0.0.1:5005,http://127.0.0.1:5006")
    action_worker_urls: str | None = setting(
        None, "TROLYAO_ACTION_WORKER_URLS",
        "Comma-separated action workers, each at its own address (`make run-scaled` sets it; /healthz asks each).",
        SCALE_OUT, "http://127.0.0.1:5056,http://127.0.0.1:5057")
    scaled: bool = setting(False, "TROLYAO_SCALED",
                           "The gateway is part of the scale-out mode (`make run-scaled` sets it): its redelivery "
                           "keys, rate limits and Zalo tokens live in Redis; /healthz reports Redis and PostgreSQL.",
                           SCALE_OUT)
    rasa_workers: int = setting(2, "TROLYAO_RASA_WORKERS", "Rasa servers sharing the conversations.", SCALE_OUT)
    action_workers: int = setting(2, "TROLYAO_ACTION_WORKERS", "Action servers, each loading the index once.",
                                  SCALE_OUT)

    retention_days: int = setting(
        90, "TROLYAO_RETENTION_DAYS",
        "Days conversations and feedback are kept; older ones are deleted daily by the gateway and by "
        "`trolyao privacy purge`.", PRIVACY, ge=1)

    officials: str | None = setting(
        None, "TROLYAO_OFFICIALS",
        "Officials, who also read internal documents: comma-separated user ids (tg:123, zalo:456, web:abc), "
        "or the path of a file listing one per line (# comments; re-read when it changes). Everyone else is "
        "a citizen. Web users join by `trolyao officials invite` links (kept in officials.sqlite3 of the data "
        "directory).", ACCESS, "tg:123456789,zalo:8412345678")
    public_url: str | None = setting(
        None, "TROLYAO_PUBLIC_URL",
        "The gateway's address as users reach it, for the links it gives (officials' invitations, reports' "
        "downloads); unset: http://TROLYAO_HOST:TROLYAO_PORT.", ACCESS, "https://trolyao.langson.gov.vn")
    report_link_minutes: int = setting(
        60, "TROLYAO_REPORT_LINK_MINUTES",
        "How long a report's download link works (web chat, Zalo); the file is deleted afterwards.", ACCESS, ge=1)

    remind_days: str = setting("3,0", "TROLYAO_REMIND_DAYS",
                               "Days before a task's deadline its lead agency's followers are reminded (comma-separated; "
                               "0 is the day itself).", FOLLOW)
    notify_every_s: float = setting(30.0, "TROLYAO_NOTIFY_EVERY",
                                    "Seconds between two looks of the gateway's notifier at the index.", FOLLOW, gt=0)

    voice: bool = setting(False, "TROLYAO_VOICE",
                          "Transcribe voice notes (set-up installs the `voice` extra and builds the Whisper model; "
                          "off: a voice note is asked to be typed).", VOICE)
    voice_max_s: float = setting(60.0, "TROLYAO_VOICE_MAX_S", "Longer voice notes are refused before transcription.",
                                 VOICE, gt=0)
    voice_max_bytes: int = setting(5_000_000, "TROLYAO_VOICE_MAX_BYTES",
                                   "Larger audio files are refused before decoding (bytes).", VOICE, gt=0)
    voice_queue: int = setting(4, "TROLYAO_VOICE_QUEUE",
                               "Voice notes waiting per gateway process behind the one being transcribed; more are "
                               "told to retry.", VOICE, ge=0)

    data: Path | None = setting(None, "TROLYAO_DATA",
                                "The data directory: index, conversations, feedback (each overridable below).",
                                DATA, "~/.local/share/trolyao")
    index: Path | None = setting(None, "TROLYAO_INDEX", "The index directory (`--index` wins).", DATA,
                                 "~/.local/share/trolyao/index")
    model: str | None = setting(None, "TROLYAO_MODEL",
                                "Any sentence-transformers id or folder instead of the embedded e5-small.", DATA,
                                "/path/to/a/sentence-transformers/model")
    cache: Path | None = setting(None, "TROLYAO_CACHE",
                                 "Where set-up keeps the built model, the trained Rasa models, benchmark indexes.",
                                 DATA, "~/.cache/trolyao")
    feedback: Path | None = setting(None, "TROLYAO_FEEDBACK", "Where 👍/👎 and abstentions are recorded.", DATA,
                                    "~/.local/share/trolyao/feedback.sqlite3")
    today: dt.date | None = setting(None, "TROLYAO_TODAY",
                                    "The day the dialogue treats as today (demos over old bulletins).", DATA,
                                    "2024-05-29")
    data_home: Path | None = setting(None, "XDG_DATA_HOME", "The base of the default data directory.",
                                     DATA, "~/.local/share")
    index_type: str = setting(
        "auto", "TROLYAO_INDEX_TYPE",
        "The dense index's structure: flat (exact), ivf, ivfpq, ivfsq, hnsw, or auto (flat up to 100000 passages, ivfsq "
        "beyond). Recorded in the manifest; a change rebuilds that structure at the next ingest, never re-embeds.",
        DATA)
    index_nlist: int = setting(0, "TROLYAO_INDEX_NLIST", "IVF cells (0: 4·sqrt(passages)).", DATA, ge=0)
    index_nprobe: int = setting(512, "TROLYAO_INDEX_NPROBE", "IVF cells searched per question.", DATA, ge=1)
    index_sq_bits: int = setting(16, "TROLYAO_INDEX_SQ_BITS",
                                 "IVF-SQ bits a dimension: 16 (float16) or 8 (one byte, recall 1 point lower).",
                                 DATA, ge=8, le=16)
    index_hnsw_m: int = setting(32, "TROLYAO_INDEX_HNSW_M", "HNSW links per passage.", DATA, ge=4)
    index_ef_search: int = setting(400, "TROLYAO_INDEX_EF_SEARCH",
                                   "HNSW search width (at least the 100 candidates the fusion takes).", DATA, ge=1)
    watch: str | None = setting(
        None, "TROLYAO_WATCH",
        "Comma-separated folders and portal listing URLs `make run` watches for new bulletins (unset: no watcher).",
        WATCH, "https://vanphong.langson.gov.vn/vi/chi-dao-dieu-hanh,/srv/bulletins")
    watch_every: str = setting("6h", "TROLYAO_WATCH_EVERY", "Time between two watch cycles (6h, 30m, 1d …).", WATCH)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str | None) -> str | None:
        for item in _listed(value):
            ipaddress.ip_network(item, strict=False)    # ValueError: "… does not appear to be an IPv4 …"
        return value

    @field_validator("rate_limit", "address_rate_limit")
    @classmethod
    def _limits_notation(cls, value: str) -> str:
        from limits import parse_many    # the gateway's own parser: what it accepts, nothing else

        parse_many(value)                # ValueError: "couldn't parse rate limit string …"
        return value

    @field_validator("index_type")
    @classmethod
    def _index_type(cls, value: str) -> str:
        from retrieval.index.dense import INDEX_TYPES

        if value not in INDEX_TYPES:
            raise ValueError(f"unknown index type {value!r}: choose one of {', '.join(INDEX_TYPES)}")
        return value

    @field_validator("watch_every")
    @classmethod
    def _interval(cls, value: str) -> str:
        from retrieval.watch.sources import parse_every

        try:
            parse_every(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("remind_days")
    @classmethod
    def _day_counts(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("new_conversations_per_hour")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("embed_origins")
    @classmethod
    def _origins_are_sources(cls, value: str) -> str:
        """Each goes verbatim into a CSP header: a ';' or a newline would add directives of its own."""
        for source in value.split():
            if not EMBED_SOURCE.fullmatch(source):
                raise ValueError(f"{source!r} is not self, none or an origin like https://portal.example.vn")
        return value

    @classmethod
    def load(cls, env_file: Path | None = None) -> Settings:
        """The settings of this process: the environment over the `.env` file (``TROLYAO_ENV_FILE``,
        else the project's `.env`); a value of the wrong type is a ConfigError naming the variable."""
        if env_file is None:
            env_file = default_env_file()
        try:
            return cls(_env_file=env_file if env_file and env_file.is_file() else None)
        except ValidationError as exc:
            raise ConfigError("; ".join(_problem(error) for error in exc.errors())) from None

    @property
    def data_dir(self) -> Path:
        return (self.data or (self.data_home or Path.home() / ".local" / "share") / "trolyao").expanduser()

    @property
    def index_dir(self) -> Path:
        return (self.index or self.data_dir / "index").expanduser()

    @property
    def feedback_path(self) -> Path:
        return (self.feedback or self.data_dir / "feedback.sqlite3").expanduser()

    @property
    def follows_path(self) -> Path:
        """Who follows what, and the notifications sent (SQLite; PostgreSQL in the scale-out mode)."""
        return self.data_dir / "follows.sqlite3"

    @property
    def reminder_days(self) -> list[int]:
        return parse_days(self.remind_days)

    @property
    def gateway_state_path(self) -> Path:
        """The gateway's redelivery keys, rate-limit hits and refreshed Zalo tokens (SQLite)."""
        return self.data_dir / "gateway.sqlite3"

    @property
    def conversations_path(self) -> Path:
        """Rasa's tracker store (SQLite): conversations survive a restart."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def officials_path(self) -> Path:
        """The officials' sign-ins through invitation links (SQLite: retrieval/officials.py)."""
        return self.data_dir / "officials.sqlite3"

    @property
    def reports_dir(self) -> Path:
        """Reports the chat made for officials, until their links expire."""
        return self.data_dir / "reports"

    @property
    def base_url(self) -> str:
        """Where users reach the gateway (links in messages)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def rasa_urls(self) -> list[str]:
        """The Rasa servers behind the gateway: the scale-out workers, else TROLYAO_RASA_URL."""
        return _listed(self.rasa_worker_urls) or [self.rasa_url]

    @property
    def action_urls(self) -> list[str]:
        """Every action server, each at its own address: the scale-out workers, else TROLYAO_ACTION_SERVER_URL."""
        return _listed(self.action_worker_urls) or [self.action_server_url]

    @property
    def servers_dir(self) -> Path:
        """Where the Redis and PostgreSQL servers of our own keep their data (scale-out mode)."""
        return self.data_dir / "servers"

    @property
    def watch_sources(self) -> list[str]:
        return _listed(self.watch)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _listed(self.trusted_proxies)

    @property
    def cache_dir(self) -> Path:
        return (self.cache or Path("~/.cache/trolyao")).expanduser()

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def telegram_file_base(self) -> str:
        """The file API's base URL (python-telegram-bot's base_file_url: the token follows it)."""
        return self.telegram_file_api_base or f"{self.telegram_api_base.rstrip('/')}/file/bot"

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and self.zalo_access_token)

    @property
    def messenger_missing(self) -> list[str]:
        """The Messenger secrets not set (the channel is on when none is missing)."""
        return [name for name, value in (("MESSENGER_PAGE_ACCESS_TOKEN", self.messenger_page_access_token),
                                         ("MESSENGER_APP_SECRET", self.messenger_app_secret),
                                         ("MESSENGER_VERIFY_TOKEN", self.messenger_verify_token))
                if value is None or not value.get_secret_value()]

    @property
    def messenger_enabled(self) -> bool:
        return not self.messenger_missing


# A CSP source for frame-ancestors: self / none (quoted or not: .env parsing strips quotes), or
# scheme://host[:port] (a leading *. allowed), nothing else.
EMBED_SOURCE = re.compile(r"'?self'?|'?none'?|https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def default_env_file() -> Path | None:
    """The `.env` of this process: TROLYAO_ENV_FILE's, else the project's; None when told to read none."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    return Path(named) if named else None if named == "" else ROOT / ".env"


def _listed(urls: str | None) -> list[str]:
    return [url.strip() for url in (urls or "").split(",") if url.strip()]


def _problem(error: dict) -> str:
    variable = error["loc"][0] if error.get("loc") else "?"    # the variable's name (the field's alias)
    return f"{variable}={error.get('input')!r}: {error['msg']}"


def env_example() -> str:
    """`.env.example`: every variable under its section, its meaning above it."""
    lines = ["# Copy to .env and fill in what you use; environment variables win over this file.",
             "# Generated from retrieval/settings.py: python -m retrieval.settings > .env.example"]
    section = None
    for field in Settings.model_fields.values():
        extra = field.json_schema_extra or {}
        if extra["section"] != section:
            section = extra["section"]
            lines += ["", f"# {section}"]
        lines.append(f"# {field.description}")
        if field.default is not None:
            lines.append(f"{field.validation_alias}={field.default}")
        elif extra["example"]:    # a computed default: shown, not set
            lines.append(f"# {field.validation_alias}={extra['example']}")
        else:                     # a credential to fill in
            lines.append(f"{field.validation_alias}=")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(env_example())
