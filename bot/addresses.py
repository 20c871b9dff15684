"""The scale-out servers' addresses, parsed once from TROLYAO_REDIS_URL / TROLYAO_DATABASE_URL.

Typed so that the launcher, the server starter and Rasa's generated endpoints file agree on every
part (Rasa takes host, port, db and credentials as separate keys, not a URL).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from retrieval.errors import ConfigError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int = 6379
    db: int = 0
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> "RedisAddress":
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ConfigError(f"TROLYAO_REDIS_URL={url!r}: expected redis://[:PASSWORD@]HOST:PORT/DB")
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise ConfigError(f"TROLYAO_REDIS_URL={url!r}: the database is a number, not {db!r}")
        return cls(parts.hostname, parts.port or 6379, int(db), unquote(parts.password) if parts.password else None)

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS

    @property
    def url(self) -> str:
        secret = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{secret}{self.host}:{self.port}/{self.db}"


@dataclass(frozen=True)
class PostgresAddress:
    host: str
    port: int = 5432
    user: str = "postgres"
    database: str = "postgres"
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> "PostgresAddress":
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.username:
            raise ConfigError(f"TROLYAO_DATABASE_URL={url!r}: expected postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE")
        database = parts.path.strip("/") or parts.username    # libpq's default: the user's name
        return cls(parts.hostname, parts.port or 5432, unquote(parts.username), unquote(database),
                   unquote(parts.password) if parts.password else None)

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS

    @property
    def url(self) -> str:
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        return f"postgresql://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}/{quote(self.database, safe='')}"


@dataclass(frozen=True)
class SharedStores:
    """Where every Rasa worker of the scale-out mode keeps its locks and conversations."""
    redis: RedisAddress
    database: PostgresAddress
