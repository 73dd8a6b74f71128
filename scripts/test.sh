#!/usr/bin/env bash
# Install (first time) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
python -m pytest "$@"
