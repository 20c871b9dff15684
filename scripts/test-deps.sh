#!/usr/bin/env bash
# System packages the test suite needs beyond the venvs: Debian's Chromium for the web chat test
# (tests/test_webchat_browser.py drives it with Playwright; no browser is ever downloaded by
# Playwright). Idempotent and silent when everything is present; installs what is missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

echo "test-deps: Chromium not found; installing Debian's 'chromium' package for the web chat browser test" >&2
"$(dirname "$0")/apt-install.sh" test-deps chromium

if ! command -v chromium >/dev/null 2>&1; then
  echo "test-deps: installing chromium did not put 'chromium' on PATH" >&2
  exit 1
fi
echo "test-deps: installed $(chromium --version 2>/dev/null | head -n1)" >&2
