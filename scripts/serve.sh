#!/usr/bin/env bash
# Run the pipeline as a team service on the production profile (deploy/production/dagster.yaml): the
# webserver (UI and GraphQL) and the daemon (schedules, sensors, the run queue) as two processes. Stops both
# on SIGTERM or Ctrl-C, and both when either one ends. README "Running it as a team service".
#
#   DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_USER=dagster DAGSTER_PG_PASSWORD=... DAGSTER_PG_DB=dagster \
#     bash scripts/serve.sh [--verbose]
#
# The role and database, once, on this machine's server: bash scripts/postgres_setup.sh (as root or a user).
# A missing setting, a stopped server or a wrong password is answered in two lines; --verbose adds tracebacks.
#
# Environment:
#   DAGSTER_PG_HOST, DAGSTER_PG_USER, DAGSTER_PG_DB (required), DAGSTER_PG_PASSWORD (default empty),
#   DAGSTER_PG_PORT (default 5432): the PostgreSQL database of runs, events and schedules.
#   HOST (default 127.0.0.1), PORT (default 3000): where the webserver listens. Loopback by default; set
#     HOST=0.0.0.0 only behind a firewall or a reverse proxy with authentication (the UI has none).
#   SENTIMENT_SERVE_HOME (default data/dagster_home_production): the instance folder (DAGSTER_HOME) for
#     compute logs and artifacts; deploy/production/dagster.yaml is linked there unless it holds its own.
#   SENTIMENT_DUCKDB_PATH, SENTIMENT_SOURCE, ...: the pipeline's own settings, as for the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
verbose=()
for arg in "$@"; do
  case "$arg" in
    --verbose) verbose=(--verbose) ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve.sh: unknown argument $arg (it takes only --verbose; settings come from the environment, see --help)" >&2
       exit 2 ;;
  esac
done
missing=()
for name in DAGSTER_PG_HOST DAGSTER_PG_USER DAGSTER_PG_DB; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "serve.sh: ${missing[*]} not set: the instance keeps its runs in PostgreSQL and needs its server, role and database" >&2
  echo "  e.g. DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_USER=dagster DAGSTER_PG_PASSWORD=... DAGSTER_PG_DB=dagster bash scripts/serve.sh (first time: bash scripts/postgres_setup.sh)" >&2
  exit 2
fi
bash scripts/setup.sh
# Not `source .venv/bin/activate`: it points DAGSTER_HOME at the dev instance and links the dev dagster.yaml.
py="$root/.venv/bin/python"
export PATH="$root/.venv/bin:$PATH"

export DAGSTER_PG_HOST DAGSTER_PG_USER DAGSTER_PG_DB
export DAGSTER_PG_PASSWORD="${DAGSTER_PG_PASSWORD:-}" DAGSTER_PG_PORT="${DAGSTER_PG_PORT:-5432}"
host=${HOST:-127.0.0.1}
port=${PORT:-3000}

export DAGSTER_HOME="${SENTIMENT_SERVE_HOME:-$root/data/dagster_home_production}"
mkdir -p "$DAGSTER_HOME"
if [ ! -e "$DAGSTER_HOME/dagster.yaml" ] || [ -L "$DAGSTER_HOME/dagster.yaml" ]; then
  ln -sfn "$root/deploy/production/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
fi
# Undocumented Dagster switches, read in every process that stores events (webserver, daemon, run workers):
# events in batches, and one planned event per asset and run instead of one per day (shared/docs/dagster.md).
export DAGSTER_EVENT_BATCH_SIZE=1000
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1
unset DAGSTER_MODULE_NAME  # with workspace.yaml as well, Dagster hangs without a word

# Before anything starts: the webserver's address is free, PostgreSQL takes the instance's connection (a wrong
# setting or a stopped server is answered in two lines: what was tried, what to do; --verbose adds the
# traceback), and the "duckdb" pool's limit exists: Dagster 1.13.27 creates it in the first queue pass that sees
# the pool, and that pass still launches every queued run as if the pool had no limit (measured: two runs
# submitted together on a new instance both launched). sentiment_pipeline/cli.py `prepare_service`.
"$py" -c 'import sys; from sentiment_pipeline.cli import prepare_service; sys.exit(prepare_service(sys.argv[1:]))' \
  "$host" "$port" "${verbose[@]}"

# Bash starts background commands with SIGINT ignored, and Dagster's daemon maps SIGTERM to SIGINT's
# handler, so it would ignore both: each child starts with SIGINT reset to the default.
start() {
  "$py" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' "$@" &
}

pids=()
stop() {
  trap - TERM INT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT

echo "instance $DAGSTER_HOME (PostgreSQL $DAGSTER_PG_USER@$DAGSTER_PG_HOST:$DAGSTER_PG_PORT/$DAGSTER_PG_DB)"
echo "webserver http://$host:$port"
start dagster-daemon run -w "$root/workspace.yaml"
pids+=($!)
start dagster-webserver -w "$root/workspace.yaml" -h "$host" -p "$port"
pids+=($!)
# Either one ending stops the other: a webserver without a daemon queues runs that never start.
status=0
wait -n "${pids[@]}" || status=$?
stop
exit "$status"
