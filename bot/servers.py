"""Redis and PostgreSQL for the scale-out mode: the server answering at the configured URL, else one
of our own.

When something already answers at TROLYAO_REDIS_URL / TROLYAO_DATABASE_URL (a deployment's servers,
or ours from an earlier run), it is used and never stopped. Otherwise, for a local URL, a server of
our own is started without systemd on its own data directory, listening on 127.0.0.1 only, and
stopped again by whoever started it. Health checks use the servers' own clients (`redis-cli ping`,
`pg_isready`), which come with the Debian packages scripts/servers.sh installs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from bot.addresses import PostgresAddress, RedisAddress
from bot.processes import ServiceError
from retrieval.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")     # Debian keeps the server binaries off PATH
POSTGRES_HOME = Path("/var/lib/postgresql")     # Debian's home of the postgres user
POLL_S = 0.1


def tool(name: str) -> str:
    """A server binary: on PATH, else where Debian's PostgreSQL 15 keeps it."""
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).is_file() else None)
    if not found:
        raise ServiceError(f"{name} not found: run scripts/servers.sh (installs redis-server and PostgreSQL 15)")
    return found


def run(argv: list[str], what: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    # A session of its own: the servers started through it must not get the terminal's Ctrl-C
    # (PostgreSQL would shut down under our feet); whoever started them stops them.
    result = subprocess.run(argv, capture_output=True, text=True, cwd="/", timeout=timeout,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    if result.returncode != 0:
        raise ServiceError(f"{what} failed ({result.returncode}):\n{(result.stderr or result.stdout)[-2000:]}")
    return result.stdout


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    """Poll ``check`` (a health check) until it holds; a ServiceError with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(POLL_S)    # polling interval of the health check
    tail = log.read_text(errors="replace")[-2000:] if log and log.is_file() else ""
    raise ServiceError(f"{what} after {timeout:.0f} s\n{tail}")


class RedisServer:
    """Redis at ``address``; started with its data in ``directory`` when none answers there."""

    def __init__(self, address: RedisAddress, directory: Path):
        self.address, self.directory = address, directory
        self.owned = False          # started by us, so stopped by us

    def _cli(self, *command: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "REDISCLI_AUTH": self.address.password} if self.address.password else None
        return subprocess.run([tool("redis-cli"), "-h", self.address.host, "-p", str(self.address.port),
                               *command], capture_output=True, text=True, timeout=5, env=env)

    def healthy(self) -> bool:
        try:
            return self._cli("ping").stdout.strip() == "PONG"
        except subprocess.TimeoutExpired:
            return False

    def start(self, timeout: float = 30) -> "RedisServer":
        if self.healthy():
            return self
        if not self.address.local:
            raise ServiceError(f"no Redis answers at {self.address.host}:{self.address.port} (not this machine)")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = self.directory / "redis.log"
        argv = [tool("redis-server"), "--port", str(self.address.port), "--bind", "127.0.0.1",
                "--daemonize", "yes", "--dir", str(self.directory), "--save", "",   # locks need no snapshot
                "--pidfile", str(self.directory / "redis.pid"), "--logfile", str(log)]
        if self.address.password:
            argv += ["--requirepass", self.address.password]
        run(argv, "starting redis-server")
        self.owned = True
        wait_until(self.healthy, timeout, f"redis-server did not answer PING on port {self.address.port}", log)
        return self

    def stop(self, timeout: float = 30) -> None:
        if not self.owned or not self.healthy():
            self.owned = False
            return
        self._cli("shutdown", "nosave")
        wait_until(lambda: not self.healthy(), timeout, "redis-server did not stop")
        self.owned = False


class PostgresServer:
    """PostgreSQL at ``address``; a cluster of our own in ``directory`` when none answers there.

    The cluster trusts its local users (`--auth=trust`): it listens on 127.0.0.1 and its socket
    directory is its owner-only data directory. Run as the `postgres` user when we are root
    (PostgreSQL refuses root), so ``directory`` must be reachable by that user."""

    def __init__(self, address: PostgresAddress, directory: Path):
        self.address, self.directory = address, directory
        self.owned = False

    @property
    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def healthy(self) -> bool:
        a = self.address
        try:
            return subprocess.run([tool("pg_isready"), "-q", "-h", a.host, "-p", str(a.port), "-U", a.user,
                                   "-d", a.database, "-t", "2"], timeout=5).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self, timeout: float = 60) -> "PostgresServer":
        if self.healthy():
            return self
        a = self.address
        if not a.local:
            raise ServiceError(f"no PostgreSQL answers at {a.host}:{a.port} (not this machine)")
        self._prepare_directory()
        if not (self.directory / "PG_VERSION").is_file():
            # UTF-8 whatever the machine's locale: the conversations are Vietnamese.
            run([*self._as_owner, tool("initdb"), "-D", str(self.directory), "-U", a.user, "--auth=trust",
                 "-E", "UTF8", "--locale=C"], "initdb")
        run([*self._as_owner, tool("pg_ctl"), "-D", str(self.directory), "-l", str(self.directory / "server.log"),
             "-o", f"-p {a.port} -k {self.directory} -c listen_addresses=127.0.0.1",
             "-w", "-t", str(int(timeout)), "start"], "starting PostgreSQL", timeout=timeout + 10)
        self.owned = True
        wait_until(self.healthy, timeout, f"PostgreSQL did not accept connections on port {a.port}",
                   self.directory / "server.log")
        self._create_database()
        return self

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if self._as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
            if subprocess.run([*self._as_owner, "test", "-w", str(self.directory)]).returncode != 0:
                raise ServiceError(f"the postgres user cannot reach {self.directory}: choose a data directory "
                                   f"outside a private home (TROLYAO_DATA)")

    def _create_database(self) -> None:
        a = self.address
        connect = ["-h", a.host, "-p", str(a.port), "-U", a.user]
        literal = a.database.replace("'", "''")
        exists = run([tool("psql"), *connect, "-d", "postgres", "-tAc",
                      f"SELECT 1 FROM pg_database WHERE datname = '{literal}'"], "listing the databases")
        if exists.strip() != "1":
            run([tool("createdb"), *connect, a.database], f"creating the database {a.database}")

    def stop(self, timeout: float = 60) -> None:
        if not self.owned or not self.healthy():
            self.owned = False
            return
        run([*self._as_owner, tool("pg_ctl"), "-D", str(self.directory), "-m", "fast", "-w",
             "-t", str(int(timeout)), "stop"], "stopping PostgreSQL", timeout=timeout + 10)
        self.owned = False


def postgres_directory(settings: Settings, address: PostgresAddress) -> Path:
    """The cluster of our own: under the data directory, except as root, whose home the postgres user
    cannot enter; there it lives in postgres's home, as Debian's own clusters do."""
    if os.geteuid() == 0:
        return POSTGRES_HOME / "trolyao" / str(address.port)
    return settings.servers_dir / "postgres"


class ScaleOutServers:
    """Both servers, healthy on enter; on exit the ones we started are stopped, others left alone."""

    def __init__(self, redis: RedisServer, postgres: PostgresServer):
        self.redis, self.postgres = redis, postgres

    @classmethod
    def of(cls, settings: Settings) -> "ScaleOutServers":
        database = PostgresAddress.parse(settings.database_url)
        return cls(RedisServer(RedisAddress.parse(settings.redis_url), settings.servers_dir / "redis"),
                   PostgresServer(database, postgres_directory(settings, database)))

    def health(self) -> dict[str, bool]:
        return {"redis": self.redis.healthy(), "postgres": self.postgres.healthy()}

    def __enter__(self) -> "ScaleOutServers":
        try:
            self.redis.start()
            self.postgres.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.postgres.stop()
        self.redis.stop()
