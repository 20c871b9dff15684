# Two commands for a fresh machine: `make run` and `make test`. Both set up what is missing first.
SHELL := /bin/bash
VENV := .venv
SHARED ?= ../shared
export SHARED

.PHONY: setup run run-scaled test bench clean-index

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

clean-index:
	@rm -rf "$${TROLYAO_INDEX:-$${XDG_DATA_HOME:-$$HOME/.local/share}/trolyao/index}"
