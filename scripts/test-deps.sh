#!/usr/bin/env bash
# System packages the test suite needs beyond the venvs: Debian's Chromium for the web chat test
# (tests/test_webchat_browser.py drives it with Playwright; no browser is ever downloaded by
# Playwright). Idempotent and silent when everything is present; installs what is missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

echo "test-deps: Chromium not found; installing Debian's 'chromium' package for the web chat browser test" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "test-deps: cannot install chromium: not root and no sudo. Install it with:" >&2
  echo "  apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: apt-get not found; install Chromium with your package manager (or set TROLYAO_CHROMIUM to its path)" >&2
  exit 1
fi

"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

if ! command -v chromium >/dev/null 2>&1; then
  echo "test-deps: installing chromium did not put 'chromium' on PATH" >&2
  exit 1
fi
echo "test-deps: installed $(chromium --version 2>/dev/null | head -n1)" >&2
