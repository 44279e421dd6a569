#!/usr/bin/env bash
# Set up (idempotent), then serve the API on http://127.0.0.1:8000 with a SQLite database
# in the working directory. Extra arguments go to `faceapi serve` (--host, --port, --workers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/faceapi serve "$@"
