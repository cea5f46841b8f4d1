#!/usr/bin/env bash
# npm packages the test suite uses, from package.json as package-lock.json pins them:
#   @comunica/query-sparql-file  Comunica, a SPARQL engine in JavaScript that nobody here
#                                wrote; tests/test_one_download.py runs every query with it
#                                over gfd-all.ttl. Held at 4.x: 5.x needs Node.js 22 (its
#                                HTTP client, undici 8, fails to load on Node.js 20).
#   @zazuko/yasgui               YASGUI, the query editor of the landing page and /sparql:
#                                `gfd-kg serve` serves its built script and stylesheet
#                                from node_modules/@zazuko/yasgui/build (gfd_kg/web/editor.py).
# `npm ci` runs only when node_modules is missing or was installed from other package files
# (a stamp in node_modules holds their digest); node and npm come from system-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.gfd-kg-installed
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: run bash scripts/system-deps.sh (as root), then this again" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
