# The two commands of the README:
#   make serve   set up, build the graph, serve it on http://127.0.0.1:8000/
#   make test    set up and run the test suite
# Both create .venv with the project and its dependencies on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

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
	$(BIN)/gfd-kg serve --out dist

test: setup
	bash scripts/system-deps.sh
	$(BIN)/pytest

# not part of `make test` yet: modules being rewritten still have findings
lint: setup
	BIN=$(BIN) bash scripts/lint.sh

clean:
	rm -rf dist $(VENV)
