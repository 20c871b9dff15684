# Two commands for a fresh machine: `make run` and `make test`. Both set up what is missing first.
SHELL := /bin/bash
VENV := .venv
SHARED ?= ../shared
export SHARED

.PHONY: setup run run-scaled test bench bench-scale loadtest clean-index

setup:
	@scripts/setup.sh

run: setup
	@$(VENV)/bin/python -m bot.run

run-scaled: setup
	@scripts/servers.sh
	@$(VENV)/bin/python -m bot.run --scaled

test: setup
	@scripts/test-deps.sh
	@scripts/servers.sh
	@$(VENV)/bin/python -m pytest

bench: setup
	@$(VENV)/bin/python -m retrieval.bench --shared $(SHARED)
	@$(VENV)/bin/python -m retrieval.goldset.archive --shared $(SHARED) --json bench-results/archive.json
	@$(VENV)/bin/python -m bot.bench
	@$(VENV)/bin/python -m bot.voice.bench --json bench-results/voice.json

# The index at national scale, simulated (10^5 and 10^6 synthetic passages shaped like the ViCoV19QA
# index; ~15-20 min on 2 idle cores): SCALE_ARGS overrides the options (e.g. SCALE_ARGS="--sizes 100000").
SCALE_ARGS ?=
bench-scale: setup
	@$(VENV)/bin/python -c "import pymilvus, milvus_lite" 2>/dev/null || $(VENV)/bin/pip install --quiet \
		--disable-pip-version-check $$($(VENV)/bin/python scripts/extra.py scale)
	@$(VENV)/bin/python -m retrieval.index.scale --shared $(SHARED) $(SCALE_ARGS)

# Both modes under load, one after the other, each started on its own free ports (a running
# `make run` is left alone); a Rasa worker and an action server are killed halfway through the scaled
# run. LOADTEST_ARGS overrides the options (e.g. `make loadtest LOADTEST_ARGS="--duration 60 --kill-at off"`).
LOADTEST_ARGS ?= --kill-at half
loadtest: setup
	@scripts/servers.sh
	@$(VENV)/bin/python -m bot.loadtest $(LOADTEST_ARGS)

clean-index:
	@rm -rf "$${TROLYAO_INDEX:-$${XDG_DATA_HOME:-$$HOME/.local/share}/trolyao/index}"
