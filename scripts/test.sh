#!/usr/bin/env bash
# Install (first time) and run the test suite: the test files spread over every core (pytest-xdist; a file's
# tests stay in one worker, so its module fixtures are built once). SENTIMENT_TEST_WORKERS=0 runs them in this
# one process; arguments go to pytest (`bash scripts/test.sh -q -k ladder`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
exec python -m pytest -n "${SENTIMENT_TEST_WORKERS:-auto}" --dist loadfile "$@"
