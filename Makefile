# Two entry points for a fresh machine: `make run` (the chat over the bundled corpus) and
# `make test`. Both create or reuse .venv, install the CPU build of torch first (a plain `torch`
# requirement would pull a multi-GB CUDA build), then the project.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy index rag ui eval

clean:
	rm -rf $(VENV) artifacts eval-out .pytest_cache
