#!/usr/bin/env bash
# The servers of the scale-out mode (`make run-scaled`, tests/test_scale_out.py): Debian's
# redis-server and PostgreSQL 15. Idempotent and silent when both are present; installs what is
# missing. Nothing is started here and no system service is enabled: bot/servers.py starts
# them on their own data directories when no server answers at the configured URLs.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin     # Debian keeps the server binaries off PATH
missing=()
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/pg_isready" ] || missing+=(postgresql-15)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "servers: installing Debian's ${missing[*]} for the scale-out mode" >&2
"$(dirname "$0")/apt-install.sh" servers "${missing[@]}"

command -v redis-server >/dev/null 2>&1 || { echo "servers: redis-server is still missing" >&2; exit 1; }
[ -x "$PG_BIN/initdb" ] || { echo "servers: $PG_BIN/initdb is still missing" >&2; exit 1; }
echo "servers: installed $(redis-server --version | cut -d' ' -f1-3), $("$PG_BIN/postgres" --version)" >&2
