#!/usr/bin/env bash
# Qdrant (the 1.19.0 server binary built from source, ../shared/tools/qdrant/) for the
# integration tests. See README.md beside this file.
#   scripts/servers/qdrant.sh start|stop|status|clean
set -euo pipefail
# shellcheck disable=SC2034 # NAME is used by common.sh
NAME=qdrant
# shellcheck source=scripts/servers/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HOST=127.0.0.1
PORT="${SHELF_QDRANT_PORT:-6333}"
GRPC_PORT="${SHELF_QDRANT_GRPC_PORT:-6334}"
# Beside the repository (the worktree's ../shared), not inside it: the binary is 90 MB.
BIN="${SHELF_QDRANT_BIN:-$REPO_ROOT/../shared/tools/qdrant/qdrant}"
DIR="$CACHE_ROOT/qdrant"
# The server's working directory. Qdrant also reads ./config/ from its working directory, so
# this folder must never get one: the built-in defaults plus the QDRANT__ variables below are
# the whole configuration.
RUN_DIR="$DIR/run"
LOGF="$DIR/qdrant.log"
PIDF="$DIR/qdrant.pid"

# ready -> 0 when GET /readyz answers 200
ready() {
  curl -fsS -o /dev/null --max-time 2 "http://$HOST:$PORT/readyz" 2>/dev/null
}

start() {
  start_lock "$DIR"
  if pid_alive "$PIDF" && ready; then
    echo "READY qdrant $HOST:$PORT"
    return 0
  fi
  command -v curl >/dev/null || die "curl not found (needed to ask /readyz)"
  [[ -x "$BIN" ]] || die "qdrant binary not found or not executable at $BIN (set SHELF_QDRANT_BIN)"
  port_open "$HOST" "$PORT" && die "port $PORT is already in use by another process (set SHELF_QDRANT_PORT)"
  port_open "$HOST" "$GRPC_PORT" && die "gRPC port $GRPC_PORT is already in use by another process (set SHELF_QDRANT_GRPC_PORT)"
  mkdir -p "$RUN_DIR" "$DIR/storage" "$DIR/snapshots"
  [[ -e "$RUN_DIR/config" ]] && die "$RUN_DIR/config exists; qdrant would read it (remove it)"
  : >"$LOGF"
  # setsid: its own process group, so a Ctrl-C in the calling shell does not kill it.
  # 9>&-: the server must not inherit (and so keep holding) the start lock.
  (
    cd "$RUN_DIR"
    QDRANT__STORAGE__STORAGE_PATH="$DIR/storage" \
      QDRANT__STORAGE__SNAPSHOTS_PATH="$DIR/snapshots" \
      QDRANT__SERVICE__HOST="$HOST" \
      QDRANT__SERVICE__HTTP_PORT="$PORT" \
      QDRANT__SERVICE__GRPC_PORT="$GRPC_PORT" \
      QDRANT__TELEMETRY_DISABLED=true \
      exec setsid "$BIN" >>"$LOGF" 2>&1 </dev/null 9>&-
  ) &
  echo $! >"$PIDF"
  local deadline=$((SECONDS + START_TIMEOUT))
  until ready; do
    pid_alive "$PIDF" || fail_with_log "$LOGF" "qdrant exited during start-up"
    ((SECONDS < deadline)) || { stop_pidfile "$PIDF" 5; fail_with_log "$LOGF" "no 200 from http://$HOST:$PORT/readyz after ${START_TIMEOUT}s"; }
    sleep 0.1
  done
  echo "READY qdrant $HOST:$PORT"
}

stop() {
  stop_pidfile "$PIDF" 30
  echo "STOPPED qdrant"
}

status() {
  if pid_alive "$PIDF"; then
    echo "RUNNING qdrant $HOST:$PORT pid=$(cat "$PIDF") rss=$(rss_of "$PIDF")"
  else
    echo "STOPPED qdrant"
    return 3
  fi
}

# clean: delete a stopped server's collections and snapshots.
clean() {
  pid_alive "$PIDF" && die "qdrant is running; stop it first"
  rm -rf "$DIR/storage" "$DIR/snapshots"
  echo "CLEANED qdrant"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  clean) clean ;;
  *) echo "usage: $0 start|stop|status|clean" >&2; exit 2 ;;
esac
