#!/usr/bin/env bash
# Runs all of lumi's tests, including the interop tests against third-party peers from PyPI
# (PyXiaomiGateway, python-miio). The peers go into a virtualenv under target/ on first use.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p lumi-proto`).
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages the tests need: python3-venv (the peers), mosquitto (the bridge's
# end-to-end tests run a real broker on a free loopback port), chromium and node (the
# dashboard's browser test). Installed when missing and
# we may (root with apt-get); otherwise the tests say what to install.
# The dashboard's browser test needs Debian's Chromium and Node.js (playwright-core drives it).
missing=()
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[ -x "${LUMI_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# iproute2 for the test that takes an interface away inside network namespaces (as root).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "the tests need: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
venv="${LUMI_PEERS_VENV:-$PWD/target/peers-venv}"
if ! "$venv/bin/python" -c 'import xiaomi_gateway, miio' >/dev/null 2>&1; then
  echo "setting up the Python peers in $venv (PyPI: tests/peers/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
fi
# playwright-core for the browser test (tests/browser/package-lock.json); it drives the
# system's Chromium and downloads no browser of its own.
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "installing playwright-core into tests/browser/node_modules (npm registry)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
export LUMI_PEERS_PYTHON="$venv/bin/python"
export LUMI_REQUIRE_BROWSER=1
# As root the network-namespace test must run (elsewhere it skips with a message).
if [ "$(id -u)" = 0 ]; then export LUMI_REQUIRE_NETNS=1; fi
export LUMI_REQUIRE_PEERS=1
export LUMI_REQUIRE_MOSQUITTO=1
exec cargo test --workspace --all-features --locked "$@"
