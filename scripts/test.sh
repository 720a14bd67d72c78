#!/usr/bin/env bash
# Set up a virtual environment with the test extras and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
# The not-a-digit tests draw letters in the DejaVu and Liberation fonts (Debian packages).
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -d /usr/share/fonts/truetype/dejavu ] || missing="$missing fonts-dejavu-core"
[ -d /usr/share/fonts/truetype/liberation ] || missing="$missing fonts-liberation"
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
# The classroom's replica test runs two servers on a real PostgreSQL behind nginx (Debian packages);
# where they cannot be installed it is skipped with the reason, so a failed install here is not fatal.
optional=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || optional="$optional postgresql"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || optional="$optional nginx-light"
if [ -n "$optional" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $optional >/dev/null) \
    || echo "scripts/test.sh: could not install$optional: tests/test_classroom_replicas.py will be skipped" >&2
fi
# The static site's browser tests need onnxruntime-web from npm (apps/web/package-lock.json pins it);
# tests/test_js.py needs its devDependencies (ESLint, onnxruntime-node), which npm ci installs too.
# In CI (DIGITZOO_REQUIRE_BROWSER) a missing npm or a failed install fails the run; here it skips those tests.
if command -v npm >/dev/null 2>&1 && (cd apps/web && npm ci --no-audit --no-fund --loglevel=error); then
  :
elif [ -n "${DIGITZOO_REQUIRE_BROWSER:-}" ]; then
  echo "scripts/test.sh: npm ci in apps/web failed or npm is missing (apt-get install nodejs npm)" >&2
  exit 1
else
  echo "scripts/test.sh: nothing from npm: the static-site browser tests and the JavaScript tests are skipped (cd apps/web && npm ci)" >&2
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# Two workers: much of the suite waits on servers, browsers and subprocesses, so two keep both cores
# busy (18.6 -> 13.0 min on 2 cores). loadscope keeps each test module on one worker, so a module's
# expensive fixtures (the export of every model, the Space's venv) are built once, not once per worker.
exec .venv/bin/python -m pytest -n "${DIGITZOO_TEST_WORKERS:-2}" --dist loadscope "$@"
