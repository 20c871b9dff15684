#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE...: install Debian packages as root (directly, or through sudo), waiting
# for another installation's dpkg lock (fresh machines and CI images run one at boot). WHO prefixes
# the messages. Exits 1 with the command to run by hand when it cannot install.
set -euo pipefail
who=$1; shift

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "$who: cannot install $*: not root and no sudo. Install them with:" >&2
  echo "  apt-get update && apt-get install -y $*" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$who: apt-get not found; install $* with your package manager" >&2
  exit 1
fi

apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
"${apt[@]}" update
"${apt[@]}" install -y "$@" >/dev/null
