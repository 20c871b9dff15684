"""The gateway's secret key (TROLYAO_SECRET_KEY): it signs the web chat's conversation cookie and keys
the HMAC that stands for user ids in logs and stores.

Set-up writes one into `.env` when it has none (`python -m bot.secret_key [ENV_FILE]`, called by
scripts/setup.sh): a line is added, an existing key is never replaced, and the file is left
owner-only. A process started without any (tests, `make loadtest`'s throw-away runs) uses a key kept
in its data directory, created once, so a restarted gateway and its sibling processes still read the
cookies they issued.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path

from dotenv import dotenv_values, set_key

from retrieval.settings import Settings, default_env_file

VARIABLE = "TROLYAO_SECRET_KEY"
KEY_FILE = "secret_key"


def new_key() -> str:
    return secrets.token_urlsafe(32)    # 256 random bits


def ensure_in_env_file(path: Path) -> bool:
    """Give ``path`` a TROLYAO_SECRET_KEY unless it already has a non-empty one (an empty
    `TROLYAO_SECRET_KEY=` line, as copied from .env.example, is filled in). The file is created if
    missing and ends mode 0600 either way. True when a key was written."""
    _private(path)
    if (dotenv_values(path).get(VARIABLE) or "").strip():
        return False
    set_key(path, VARIABLE, new_key(), quote_mode="never")
    os.chmod(path, 0o600)    # set_key replaces the file: keep it owner-only
    return True


def derived_key(key: str, purpose: str) -> bytes:
    """A key of its own for one use of the secret key (button seals, …): one leaked use reveals no other."""
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).digest()


def secret_key(settings: Settings) -> str:
    """TROLYAO_SECRET_KEY, else the data directory's key file (made on first use, owner-only)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / KEY_FILE
    if not path.is_file():
        _create_once(path, new_key())
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key made")
    return key


def _private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _create_once(path: Path, key: str) -> None:
    """Write ``key`` to ``path`` unless another process got there first (a hard link is atomic and
    fails on an existing name, so no reader ever sees a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, key.encode())
    finally:
        os.close(fd)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def main(argv: list[str]) -> int:
    """Set-up's step: the env file named on the command line, else TROLYAO_ENV_FILE's, else `.env`."""
    path = Path(argv[0]) if argv else default_env_file()
    if path is None:
        return 0    # told to read no env file: nothing to write either
    if ensure_in_env_file(path):
        print(f"setup: generated {VARIABLE} into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
