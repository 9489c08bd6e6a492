#!/usr/bin/env bash
# `make run`: the whole stack on this machine — the project's PostgreSQL (campaign store and
# Airflow metadata), the Twilio sandbox, Airflow standalone (LocalExecutor) and the example
# campaign. Safe to run twice: the cluster and the Airflow home persist in .run/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
RUN="$ROOT/.run"
PG_PORT="${OUTCALL_PG_PORT:-5454}"
SANDBOX_PORT="${OUTCALL_SANDBOX_PORT:-8765}"
API_PORT="${AIRFLOW_PORT:-8080}"
mkdir -p "$RUN"

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
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$RUN/passwords.json"
export OUTCALL_CAMPAIGNS_DIR="${OUTCALL_CAMPAIGNS_DIR:-$ROOT/include/campaigns}"
# The campaign store is this stack's own; Twilio and the assistant secret live in the metadata
# DB, so real credentials entered in the UI take over without code changes.
export AIRFLOW_CONN_OUTCALL_DB="$PG_URL/outcall"
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

# Each service in a process group of its own, so that stopping takes its children along.
setsid python -m sandbox --port "$SANDBOX_PORT" --time-scale 30 --seed 7 \
  --assistant-results-url "http://127.0.0.1:$API_PORT/outcall/webhooks/assistant/results" \
  --assistant-secret "$ASSISTANT_SECRET" > "$RUN/sandbox.log" 2>&1 &
echo $! > "$RUN/sandbox.pid"
stop() {
  for f in "$RUN/airflow.pid" "$RUN/sandbox.pid"; do
    [ -f "$f" ] && kill -- "-$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
trap stop EXIT INT TERM

cat <<MSG

  outcall is starting.
  Airflow UI:  http://localhost:$API_PORT   login: admin / admin
  Campaigns:   the "Campaigns" entry in the Airflow navigation
  Sandbox:     http://127.0.0.1:$SANDBOX_PORT (Twilio-compatible; calls log at /_sandbox/calls)
  Unpause the DAG campaign_example to start the example campaign.

MSG
setsid airflow standalone &
echo $! > "$RUN/airflow.pid"
wait
