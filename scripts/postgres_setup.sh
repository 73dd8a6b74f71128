#!/usr/bin/env bash
# Create the team service's PostgreSQL role and database on this machine's server, once (README "Running it
# as a team service"); running it again changes nothing. Works as root (no sudo needed: runuser, or su) and as
# a user who may `sudo -u postgres`.
#
#   DAGSTER_PG_USER=dagster DAGSTER_PG_DB=dagster DAGSTER_PG_PASSWORD=secret bash scripts/postgres_setup.sh
#
# Environment: DAGSTER_PG_USER, DAGSTER_PG_DB (default dagster, dagster); DAGSTER_PG_PASSWORD (the role's
# password; without it createuser asks for one); DAGSTER_PG_PORT (default 5432); PGHOST (the server's socket
# folder, default the system's). A stopped server, a missing `postgres` user or no way to become it is answered
# in two lines that say what to do.
set -euo pipefail
case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "postgres_setup.sh: unknown argument $1 (settings come from the environment, see --help)" >&2; exit 2 ;;
esac
role=${DAGSTER_PG_USER:-dagster}
db=${DAGSTER_PG_DB:-dagster}
port=${DAGSTER_PG_PORT:-5432}
say() { echo "postgres_setup.sh: $*" >&2; }

# Run a command as the `postgres` user (the server's superuser with peer authentication on the local socket):
# runuser (or su) when root, as is when already `postgres`, sudo -u otherwise. From / so that the command
# never tries to read a working directory `postgres` may not enter.
run_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u postgres -- "$@")
    else
      (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
  elif [ "$(id -un)" = postgres ]; then
    (cd / && "$@")
  elif command -v sudo >/dev/null 2>&1; then
    (cd / && sudo -u postgres -- "$@")
  else
    return 1  # refused above
  fi
}

if ! id postgres >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  say "no PostgreSQL server here (no \`postgres\` user or no psql)"
  say "  install one (Debian: apt-get install postgresql), or create the role and database on the server DAGSTER_PG_HOST names"
  exit 2
fi
if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != postgres ] && ! command -v sudo >/dev/null 2>&1; then
  say "needs to run psql as the postgres user, and $(id -un) has no sudo here"
  say "  run it as root (it uses runuser, or su), or as the postgres user, or install sudo"
  exit 2
fi
# PGHOST passes through runuser and su; sudo drops the environment, so it goes as an option as well.
psql_args=(-p "$port" -X -q -A -t -v ON_ERROR_STOP=1)
[ -n "${PGHOST:-}" ] && psql_args+=(-h "$PGHOST")
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! run_as_postgres psql "${psql_args[@]}" -d postgres -c 'select 1' >/dev/null 2>"$errors"; then
  error=$(head -c 300 "$errors" | tr '\n' ' ')
  say "the server on this machine (port $port) does not answer: ${error:-no error text}"
  versions=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  say "  start it (as root: ${versions:+pg_ctlcluster $versions main start, or }service postgresql start), or set DAGSTER_PG_PORT to its port"
  exit 2
fi

exists() { [ "$(run_as_postgres psql "${psql_args[@]}" -d postgres -v name="$2" <<<"select 1 from $1 = :'name'")" = 1 ]; }

if exists "pg_roles where rolname" "$role"; then
  echo "role $role exists"
  if [ -n "${DAGSTER_PG_PASSWORD:-}" ]; then
    run_as_postgres psql "${psql_args[@]}" -d postgres -v role="$role" -v password="$DAGSTER_PG_PASSWORD" \
      <<<"alter role :\"role\" with login password :'password'"
    echo "role $role: password set from DAGSTER_PG_PASSWORD"
  fi
elif [ -n "${DAGSTER_PG_PASSWORD:-}" ]; then
  run_as_postgres psql "${psql_args[@]}" -d postgres -v role="$role" -v password="$DAGSTER_PG_PASSWORD" \
    <<<"create role :\"role\" with login password :'password'"
  echo "role $role created (password from DAGSTER_PG_PASSWORD)"
else
  echo "role $role: choose its password (DAGSTER_PG_PASSWORD for serve.sh)"
  run_as_postgres createuser -p "$port" ${PGHOST:+-h "$PGHOST"} --pwprompt "$role"
  echo "role $role created"
fi
if exists "pg_database where datname" "$db"; then
  echo "database $db exists"
else
  run_as_postgres createdb -p "$port" ${PGHOST:+-h "$PGHOST"} --owner "$role" "$db"
  echo "database $db created, owned by $role"
fi
echo "next: DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT=$port DAGSTER_PG_USER=$role DAGSTER_PG_PASSWORD=... DAGSTER_PG_DB=$db bash scripts/serve.sh"
