#!/usr/bin/env bash
# One command for the whole test suite on a fresh machine: system packages, a virtual
# environment with the package and its test dependencies, then lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use for real: Prometheus and promtool, and Chromium for the
# status page.
need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian starts a prometheus service on install; the tests run their own.
    if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
  else
    echo "Missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]}) for the full suite." >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"

echo "ruff:"; ruff check incident_ops tests && ruff format --check incident_ops
echo "mypy:"; mypy --strict incident_ops
# Tests that need Prometheus or the browser are required here, not skipped.
export INCIDENT_OPS_REQUIRE_PROMETHEUS="${INCIDENT_OPS_REQUIRE_PROMETHEUS:-1}"
export INCIDENT_OPS_REQUIRE_BROWSER="${INCIDENT_OPS_REQUIRE_BROWSER:-1}"
# One worker per core (pytest-xdist); each test file stays on one worker, so a module's
# shared fixture (a fault run, a crash bench) runs once. `scripts/test.sh -n 0` runs serially.
python -m pytest -q -p no:cacheprovider -n auto --dist loadscope "$@"
