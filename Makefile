# The two commands of the README:
#   make serve   set up, build the graph, serve it on http://127.0.0.1:8000/
#                (make serve HOST=0.0.0.0 PORT=8001 to listen elsewhere)
#   make test    set up, then types and lint, then the test suite
# Both create .venv with the project and its dependencies on first use; after them the
# command line is .venv/bin/gfd-kg (or `. .venv/bin/activate`, then gfd-kg).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup serve build test lint clean

$(BIN)/gfd-kg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/gfd-kg

build: setup
	$(BIN)/gfd-kg build --out dist

serve: build
	$(BIN)/gfd-kg serve --out dist --host $(HOST) --port $(PORT)

test: setup
	bash scripts/system-deps.sh
	bash scripts/npm-deps.sh
	BIN=$(BIN) bash scripts/lint.sh
	$(BIN)/pytest

lint: setup
	BIN=$(BIN) bash scripts/lint.sh

clean:
	rm -rf dist $(VENV)
