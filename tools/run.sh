#!/usr/bin/env bash
# `make run`: the whole stack on this machine — the project's PostgreSQL (campaign store and
# Airflow metadata), the Twilio sandbox, Airflow standalone (LocalExecutor) and the example
# campaign. Safe to run twice: the cluster and the Airflow home persist in .run/ (OUTCALL_RUN_DIR),
# and a second `make run` while one runs refuses to start. `make stop` (tools/stop.sh) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
RUN="${OUTCALL_RUN_DIR:-$ROOT/.run}"
PG_PORT="${OUTCALL_PG_PORT:-5454}"
SANDBOX_PORT="${OUTCALL_SANDBOX_PORT:-8765}"
API_PORT="${AIRFLOW_PORT:-8080}"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"

# One stack per run folder: a second one would start a second scheduler on the same database.
# The lock is held while this script runs (and by Airflow and the sandbox, which inherit it), so
# two `make run` started together cannot both pass; the pid files catch what a killed run left.
already_running() {
  echo "outcall is already running at $(cat "$RUN/url" 2>/dev/null || echo "http://localhost:$API_PORT")" \
       "(make stop to stop it)" >&2
  exit 1
}
exec 9>>"$RUN/run.lock"
flock -n 9 || already_running
for f in "$RUN/airflow.pid" "$RUN/sandbox.pid"; do
  [ -f "$f" ] && ps -e -o sid= | grep -qx " *$(tr -dc 0-9 < "$f")" && already_running
done
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "AIRFLOW_PORT=$API_PORT" "OUTCALL_SANDBOX_PORT=$SANDBOX_PORT"; do
  if port_in_use "${p#*=}"; then
    echo "error: port ${p#*=} is in use by another program; stop it, or choose a free port: ${p%=*}=<port> make run" >&2
    exit 1
  fi
done
# A failed start, Ctrl-C, or the end of Airflow or the sandbox stops everything this started.
stop_all() { trap - EXIT INT TERM; bash "$ROOT/tools/stop.sh" --quiet-if-idle; }
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# setuptools leaves a copy of the package metadata in plugins/ (a build leftover; the install's
# own is in the venv). The editable install puts plugins/ on sys.path, so Airflow would find the
# `airflow.plugins` entry point twice and warn "Plugin 'outcall' already registered" in every process.
rm -rf "$ROOT"/plugins/*.egg-info

PG_URL="$(python tools/pgcluster.py start "$RUN/pg" "$PG_PORT")"
echo "PostgreSQL: $PG_URL (databases outcall, airflow)"

export AIRFLOW_HOME="$RUN/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-8}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${PG_URL/postgresql:/postgresql+psycopg:}/airflow"
export AIRFLOW__API__PORT="$API_PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$API_PORT"
# Standalone starts the scheduler and the API server together. A task the scheduler starts at
# once (e.g. one that `make stop` interrupted) must wait for the API server, not fail after
# Airflow's default 5 tries (~30 s) on a busy machine.
export AIRFLOW__WORKERS__EXECUTION_API_RETRIES="${AIRFLOW__WORKERS__EXECUTION_API_RETRIES:-10}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$RUN/passwords.json"
export OUTCALL_CAMPAIGNS_DIR="${OUTCALL_CAMPAIGNS_DIR:-$ROOT/include/campaigns}"
# The campaign store is this stack's own; Twilio and the assistant secret live in the metadata
# DB, so real credentials entered in the UI take over without code changes.
export AIRFLOW_CONN_OUTCALL_DB="$PG_URL/outcall"
# What the `outcall` and `airflow` commands need in another terminal: `source .run/env` (README).
{
  echo "# Written by make run: source this file to use outcall and airflow with that stack."
  echo "export PATH=$(printf %q "$ROOT/.venv/bin"):\"\$PATH\""
  for v in AIRFLOW_HOME AIRFLOW__CORE__DAGS_FOLDER AIRFLOW__CORE__LOAD_EXAMPLES \
           AIRFLOW__DATABASE__SQL_ALCHEMY_CONN AIRFLOW_CONN_OUTCALL_DB OUTCALL_CAMPAIGNS_DIR; do
    echo "export $v=$(printf %q "${!v}")"
  done
} > "$RUN/env"
mkdir -p "$AIRFLOW_HOME"
[ -f "$RUN/passwords.json" ] || echo '{"admin": "admin"}' > "$RUN/passwords.json"
[ -f "$RUN/assistant-secret" ] || python -c 'import secrets; print(secrets.token_hex(24))' > "$RUN/assistant-secret"
ASSISTANT_SECRET="$(cat "$RUN/assistant-secret")"

airflow db migrate > "$RUN/db-migrate.log" 2>&1 || { cat "$RUN/db-migrate.log"; exit 1; }
if ! airflow connections get twilio_default > /dev/null 2>&1; then
  airflow connections add twilio_default --conn-type twilio \
    --conn-login AC0123456789abcdef0123456789abcdef --conn-password sandbox-token \
    --conn-extra "{\"base_url\": \"http://127.0.0.1:$SANDBOX_PORT\", \"calls_per_second\": 1, \"callback_base_url\": \"http://127.0.0.1:$API_PORT\"}" > /dev/null
fi
if ! airflow connections get outcall_assistant > /dev/null 2>&1; then
  airflow connections add outcall_assistant --conn-type generic --conn-password "$ASSISTANT_SECRET" > /dev/null
fi

outcall db migrate
outcall import-leads example "$ROOT/include/campaigns/example.csv"

# Each service in a session of its own, so that stopping finds all its children (tools/stop.sh).
setsid python -m sandbox --port "$SANDBOX_PORT" --time-scale 30 --seed 7 \
  --assistant-results-url "http://127.0.0.1:$API_PORT/outcall/webhooks/assistant/results" \
  --assistant-secret "$ASSISTANT_SECRET" > "$RUN/sandbox.log" 2>&1 &
echo $! > "$RUN/sandbox.pid"  # setsid did not fork (we are no group leader): this is the session id

cat <<MSG

  outcall is starting.
  Airflow UI:  http://localhost:$API_PORT   login: admin / admin
  Campaigns:   the "Campaigns" entry in the Airflow navigation
  Sandbox:     http://127.0.0.1:$SANDBOX_PORT (Twilio-compatible; calls log at /_sandbox/calls)
  Unpause the DAG campaign_example to start the example campaign.

MSG
setsid airflow standalone &
echo $! > "$RUN/airflow.pid"
echo "http://localhost:$API_PORT" > "$RUN/url"
wait -n || true  # until Airflow or the sandbox ends (make stop); then stop_all stops the rest
