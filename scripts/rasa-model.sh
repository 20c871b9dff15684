#!/usr/bin/env bash
# Print the path of the trained Rasa model, training it first when no model of the same inputs
# exists. Inputs: config, domain, training data, the nlu/ components and their data, the chat
# shorthand (retrieval's text and vocabulary), Rasa's version. Models live outside git in
# $TROLYAO_CACHE/rasa (default ~/.cache/trolyao/rasa).
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${TROLYAO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trolyao}/rasa
key=$( { cat config.yml domain.yml nlu/requirements.txt retrieval/text.py \
           retrieval/vocabulary.py retrieval/data/vocabulary.yaml
         find data nlu -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.py' \) -not -path '*/__pycache__/*' \
           | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16)
model="$cache/trolyao-$key.tar.gz"
if [ ! -f "$model" ]; then
  echo "rasa: training the dialogue model ($key)" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/train.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  .venv-rasa/bin/rasa train --quiet --config config.yml --domain domain.yml --data data \
    --out "$tmp" --fixed-model-name model >&2
  mv "$tmp/model.tar.gz" "$model"   # atomic: a half-trained model is never picked up
fi
echo "$model"
