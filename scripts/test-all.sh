#!/usr/bin/env bash
# The README's second command: installs what the tests need, builds, and runs every test:
# the TypeScript suites (vitest: unit, integration against real PostgreSQL/LMDB/Redis/DuckDB/
# onnxruntime/Kafka, the quickstart notebook on a real tslab kernel), the Galata UI tests against a
# real JupyterLab in Debian's Chromium, and lint.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

system_packages() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi liberation || missing+=(fonts-liberation)
  command -v redis-server >/dev/null || missing+=(redis-server)
  # The Kafka broker of the stream-consumer tests (scripts/kafka/install.sh).
  command -v java >/dev/null || missing+=(default-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      say "Installing system packages: ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "plinth: the tests need these system packages: ${missing[*]} (install them, or run as root on Debian to have them installed)" >&2
      exit 1
    fi
  fi
}

system_packages
bash "$ROOT/scripts/kafka/install.sh"
node_deps
python_env "$ROOT/scripts/requirements-test.txt"
build
export PLINTH_PYTHON="$VENV/bin/python"

status=0
say "TypeScript tests (vitest)"
export PLINTH_FAILURES="$ROOT/.cache/vitest-failures.txt"
rm -f "$PLINTH_FAILURES"
(cd "$ROOT" && npx vitest run --reporter=default --reporter=./scripts/vitest-failures.mjs) || status=1
say "UI tests (Galata + Playwright in Chromium)"
(cd "$ROOT/ui-tests" && npx playwright test) || status=1
say "Lint"
(cd "$ROOT" && npm run --silent lint) || status=1
# Last, so that a log cut to its tail still says which test failed and why.
[[ -s "$PLINTH_FAILURES" ]] && { say "What failed in vitest"; cat "$PLINTH_FAILURES" >&2; }
exit $status
