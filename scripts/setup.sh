#!/usr/bin/env bash
# Create .venv (Python 3.11) with the locked dependency tree and the project installed in editable mode.
# Activating it (source .venv/bin/activate) also sets DAGSTER_HOME and the code location for the dagster CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup.sh: no $python to create .venv with: install Python 3.11, or set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
  "$python" -m venv .venv || { echo "setup.sh: $python could not create .venv (see above; Debian: apt-get install python3.11-venv)" >&2; exit 1; }
fi
if [ ! -f .venv/.installed ] || [ requirements.lock -nt .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  { .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock &&
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .; } ||
    { echo "setup.sh: pip could not install requirements.lock into .venv (see above): check the network or PIP_INDEX_URL, then run it again" >&2; exit 1; }
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
# Chinese chart labels need a CJK font that matplotlib knows: find one (rebuilding matplotlib's cached font list
# when it predates an installed CJK font), or say what to install (e.g. apt-get install fonts-noto-cjk).
.venv/bin/python -m sentiment_pipeline.platform.fonts || true
