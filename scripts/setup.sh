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
# The Dagster instance lives in the git-ignored .dagster_home/ (or $SENTIMENT_DAGSTER_HOME); its dagster.yaml
# is this repository's, linked there each time the environment is activated.
if ! grep -q "sentiment-pipeline environment v3" .venv/bin/activate; then
  sed -i '/# sentiment-pipeline environment/,$d' .venv/bin/activate
  cat >> .venv/bin/activate <<ACT
# sentiment-pipeline environment v3: the project-local Dagster instance. (No DAGSTER_MODULE_NAME: dagster dev
# finds the code location in workspace.yaml, and with both it hangs without a word.)
export DAGSTER_HOME="\${SENTIMENT_DAGSTER_HOME:-$root/.dagster_home}"
mkdir -p "\$DAGSTER_HOME" && ln -sfn "$root/dagster.yaml" "\$DAGSTER_HOME/dagster.yaml"
unset DAGSTER_MODULE_NAME
ACT
fi
