#!/usr/bin/env bash
# Create .venv (Python 3.11) with the locked dependency tree and the project installed in editable mode.
# Activating it (source .venv/bin/activate) also sets DAGSTER_HOME and the code location for the dagster CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ requirements.lock -nt .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch .venv/.installed
fi
# The Dagster instance lives in the git-ignored .dagster_home/ (its dagster.yaml is this repository's).
mkdir -p .dagster_home
ln -sfn ../dagster.yaml .dagster_home/dagster.yaml
if ! grep -q "sentiment-pipeline environment v2" .venv/bin/activate; then
  sed -i '/# sentiment-pipeline environment/,$d' .venv/bin/activate
  cat >> .venv/bin/activate <<ACT
# sentiment-pipeline environment v2: project-local Dagster instance and code location
export DAGSTER_HOME="$root/.dagster_home"
export DAGSTER_MODULE_NAME=sentiment_pipeline.definitions
ACT
fi
