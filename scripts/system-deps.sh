#!/usr/bin/env bash
# Debian packages the test suite uses, installed when missing:
#   raptor2-utils  `rapper`, an independent RDF parser the dumps are checked with.
#   chromium       the real browser the web pages are tested in (headless, driven by
#                  Playwright; Playwright's own browser download is not used).
#   virtuoso-opensource-7-bin
#                  OpenLink Virtuoso's server `virtuoso-t` and its SQL client `isql-vt`, the
#                  second external store `gfd-kg publish` is tested against (Debian's
#                  virtuoso-opensource without its system service: that package would start
#                  a Virtuoso for the whole machine on ports 1111 and 8890, user dba/dba,
#                  where no policy-rc.d stops it; the tests start their own on 127.0.0.1).
#   nodejs, npm    Node.js for the npm packages of scripts/npm-deps.sh (Comunica).
set -euo pipefail
need=()
command -v rapper >/dev/null 2>&1 || need+=(raptor2-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v virtuoso-t >/dev/null 2>&1 || need+=(virtuoso-opensource-7-bin)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (install them: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
