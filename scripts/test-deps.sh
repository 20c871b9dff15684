#!/usr/bin/env bash
# System packages the test suite needs beyond the venvs: Debian's Chromium for the web chat test
# (tests/test_webchat_browser.py drives it with Playwright; no browser is ever downloaded by
# Playwright), and espeak-ng when voice is on (TROLYAO_VOICE=1: tests/test_voice_transcriber.py and
# `make bench` speak their questions with it). Idempotent and silent when everything is present;
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A command_of=([chromium]=chromium [espeak-ng]=espeak-ng)
wanted=(chromium)
voice_on=$(.venv/bin/python -c 'from retrieval.settings import Settings; print(int(Settings.load().voice))')
[ "$voice_on" = 1 ] && wanted+=(espeak-ng)

missing=()
for package in "${wanted[@]}"; do
  command -v "${command_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "test-deps: installing Debian's ${missing[*]} (not found on PATH)" >&2
scripts/apt-install.sh test-deps "${missing[@]}"

for package in "${missing[@]}"; do
  if ! command -v "${command_of[$package]}" >/dev/null 2>&1; then
    echo "test-deps: installing $package did not put '${command_of[$package]}' on PATH" >&2
    exit 1
  fi
done
echo "test-deps: installed ${missing[*]}" >&2
