#!/usr/bin/env bash
# Install (first time) and materialize the whole graph over 2019-01-02 … 2019-06-28 in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
dagster asset materialize --select '*' --partition-range "${1:-2019-01-02...2019-06-28}"
