#!/usr/bin/env bash
# Install (first time), then materialize the whole graph over a range (default 2019-01-02...2019-06-28) in
# the project's Dagster instance, with one line per asset and a summary. Extra arguments go to the command:
#   bash scripts/run.sh 2019-01-02...2025-12-31     bash scripts/run.sh 2026-01-05 --verbose
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
exec python -m sentiment_pipeline.cli "$@"
