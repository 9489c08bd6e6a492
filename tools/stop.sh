#!/usr/bin/env bash
# `make stop`: stop everything `make run` started, and say what it stopped.
#
# Order matters: running tasks, then Airflow and the sandbox (waiting until their processes are
# gone), then PostgreSQL. Stopping the database under a live task fails that task.
#
# run.sh starts Airflow and the sandbox each with `setsid`, and records the session id in
# RUN/airflow.pid and RUN/sandbox.pid. We stop by session, not by process group: Airflow puts
# each task runner in a process group of its own, but it stays in the session. A session also
# outlives its leader, so a stale pid file still finds what is left.
#
#   tools/stop.sh [--quiet-if-idle]      OUTCALL_RUN_DIR (default .run), OUTCALL_STOP_TIMEOUT (s, default 30)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
RUN="${OUTCALL_RUN_DIR:-$ROOT/.run}"
TIMEOUT="${OUTCALL_STOP_TIMEOUT:-30}"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
QUIET_IF_IDLE=""
[ "${1:-}" = "--quiet-if-idle" ] && QUIET_IF_IDLE=1
[ -d "$RUN" ] || { [ -n "$QUIET_IF_IDLE" ] || echo "outcall is not running (no $RUN)"; exit 0; }

# One stop at a time (`make stop` and the Ctrl-C of `make run` may overlap).
exec 8>>"$RUN/stop.lock"
flock -w $((TIMEOUT * 3 + 60)) 8

session_pids() {  # every process of session $1 (zombies too)
  ps -e -o pid=,sid= | awk -v sid="$1" '$2 == sid { print $1 }'
}

alive() {  # those of the given pids still alive (a zombie is gone: it only waits to be reaped)
  local pid stat
  for pid in "$@"; do
    stat="$(ps -o stat= -p "$pid" 2>/dev/null | tr -d ' ')"
    [ -n "$stat" ] && [ "${stat:0:1}" != Z ] && echo "$pid"
  done
}

wait_gone() {  # wait until the pids are gone, at most $1 seconds; print those left
  local deadline=$((SECONDS + $1)) left
  shift
  left="$(alive "$@")"
  while [ -n "$left" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
    left="$(alive $left)"
  done
  echo $left
}

stopped_anything=""

# Airflow runs each task in a process group of its own (so pgid != sid) under a supervisor, a
# LocalExecutor worker. A task runner ignores SIGTERM (Airflow only calls the operator's
# on_kill), and if it ended before its supervisor, the supervisor would report the task failed.
# So, with the session frozen, kill both: the task instance stays `running`, and the scheduler
# resets and runs it again when the stack next starts (the dialer resumes after such a crash).
stop_tasks() {
  local sid="$1" runners supervisors tasks pid
  # A runner that already ended (a zombie) leaves its supervisor to report the task's end: not ours.
  runners="$(ps -e -o pid=,pgid=,sid=,stat= | awk -v sid="$sid" '$3 == sid && $2 != sid && $4 !~ /^Z/ { print $1 }')"
  [ -n "$runners" ] || return 0
  tasks="$(ps -e -o pgid=,sid=,stat= | awk -v sid="$sid" '$2 == sid && $1 != sid && $3 !~ /^Z/ { print $1 }' \
           | sort -u | wc -l)"
  # Only parents inside the session: a runner whose supervisor is gone has init for a parent.
  supervisors="$(for pid in $runners; do
    ppid="$(ps -o ppid= -p "$pid" | tr -d ' ')"
    [ -n "$ppid" ] && [ "$(ps -o sid= -p "$ppid" | tr -d ' ')" = "$sid" ] && echo "$ppid"
  done | sort -u)"
  kill -KILL $supervisors $runners 2>/dev/null
  wait_gone 10 $supervisors $runners > /dev/null
  echo "stopped $tasks running task(s); Airflow runs them again on the next make run"
}

stop_session() {  # $1 name, $2 pid file: SIGTERM the session, wait, then SIGKILL what is left
  local name="$1" file="$2" sid pid left signaled=" " deadline
  [ -f "$file" ] || return 0
  sid="$(tr -dc 0-9 < "$file")"
  [ -n "$sid" ] || { rm -f "$file"; return 0; }
  # Freeze the session first: while we stop it, nothing in it starts a task or reports one ended.
  kill -STOP $(alive $(session_pids "$sid")) 2>/dev/null
  [ "$name" = Airflow ] && stop_tasks "$sid"
  deadline=$((SECONDS + TIMEOUT))
  while left="$(alive $(session_pids "$sid"))"; [ -n "$left" ] && [ "$SECONDS" -lt "$deadline" ]; do
    for pid in $left; do  # once each, also to processes forked meanwhile (a second SIGTERM hurries some)
      case "$signaled" in
        *" $pid "*) ;;
        *) kill -TERM "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null; signaled="$signaled$pid " ;;
      esac
    done
    sleep 0.2
  done
  if [ -n "$left" ]; then
    echo "$name did not stop within ${TIMEOUT} s: killing $(echo $left | wc -w) process(es)"
    kill -KILL $left 2>/dev/null
    left="$(wait_gone 10 $left)"
    [ -z "$left" ] || { echo "error: $name processes $left are still running" >&2; return 1; }
  fi
  rm -f "$file"
  [ "$signaled" = " " ] && return 0  # stale pid file: nothing of that session was left
  local n
  n="$(echo $signaled | wc -w)"
  echo "stopped $name ($n process$([ "$n" = 1 ] || echo es))"
  stopped_anything=1
}

failed=0
stop_session Airflow "$RUN/airflow.pid" || failed=1
stop_session "the sandbox" "$RUN/sandbox.pid" || failed=1
# The database goes last, and only once nothing of Airflow is left to use it.
if [ "$failed" = 0 ]; then
  pg="$("$PY" "$ROOT/tools/pgcluster.py" stop "$RUN/pg")" || failed=1
  [ -n "$pg" ] && { echo "$pg"; stopped_anything=1; }
else
  echo "error: PostgreSQL ($RUN/pg) left running, as Airflow or the sandbox did not stop" >&2
fi
rm -f "$RUN/url"
[ -n "$stopped_anything" ] || [ -n "$QUIET_IF_IDLE" ] || echo "outcall is not running (nothing to stop)"
exit "$failed"
