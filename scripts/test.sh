#!/usr/bin/env bash
# Runs all of lumi's tests, including the interop tests against third-party peers from PyPI
# (PyXiaomiGateway, python-miio). The peers go into a virtualenv under target/ on first use.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p lumi-proto`).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LUMI_PEERS_VENV:-$PWD/target/peers-venv}"
if ! "$venv/bin/python" -c 'import xiaomi_gateway, miio' >/dev/null 2>&1; then
  echo "setting up the Python peers in $venv (PyPI: tests/peers/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
fi
export LUMI_PEERS_PYTHON="$venv/bin/python"
export LUMI_REQUIRE_PEERS=1
exec cargo test --workspace --all-features --locked "$@"
