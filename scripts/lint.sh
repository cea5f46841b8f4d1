#!/usr/bin/env bash
# Types and lint: mypy over gfd_kg/ and ruff over the code, the tests and the benchmarks,
# with the configuration in pyproject.toml. Exit non-zero on any error or finding.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
status=0
"$BIN/mypy" gfd_kg || status=1
"$BIN/ruff" check gfd_kg tests benchmarks || status=1
exit $status
