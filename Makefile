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

.PHONY: setup serve build editor test lint clean

$(BIN)/gfd-kg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/gfd-kg

build: setup
	$(BIN)/gfd-kg build --out dist

serve: build editor
	$(BIN)/gfd-kg serve --out dist --host $(HOST) --port $(PORT)

# The query editor (YASGUI) comes from the npm registry; without npm the pages keep their
# plain query form, and serve says so.
editor:
	@if command -v npm >/dev/null 2>&1; then bash scripts/npm-deps.sh; else \
	  echo "npm is not installed: the query editor (YASGUI) is off, the plain query form works;"\
	       "install Node.js and npm (or run bash scripts/system-deps.sh as root), then make serve"; fi

test: setup
	bash scripts/system-deps.sh
	bash scripts/npm-deps.sh
	BIN=$(BIN) bash scripts/lint.sh
	$(BIN)/pytest

lint: setup
	BIN=$(BIN) bash scripts/lint.sh

clean:
	rm -rf dist $(VENV)
