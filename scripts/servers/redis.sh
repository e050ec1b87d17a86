#!/usr/bin/env bash
# Redis (Debian's redis-server) for the integration tests. See README.md beside this file.
#   scripts/servers/redis.sh start|stop|status
set -euo pipefail
# shellcheck disable=SC2034 # NAME is used by common.sh
NAME=redis
# shellcheck source=scripts/servers/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HOST=127.0.0.1
PORT="${SHELF_REDIS_PORT:-6390}"
DIR="$CACHE_ROOT/redis"
LOGF="$DIR/redis.log"
PIDF="$DIR/redis.pid"

ensure_installed() {
  command -v redis-server >/dev/null && return 0
  [[ "$(id -u)" == 0 ]] || die "redis-server is not installed and we are not root: apt-get install -y redis-server"
  log "installing redis-server with apt-get (waits up to 5 min for the dpkg lock)"
  export DEBIAN_FRONTEND=noninteractive
  local i
  for i in 1 2 3; do
    # DPkg::Lock::Timeout makes apt wait for another apt/dpkg run instead of failing.
    if apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends redis-server >>"$DIR/apt.log" 2>&1; then
      break
    fi
    log "apt-get install failed (attempt $i/3); running apt-get update and retrying"
    apt-get -o DPkg::Lock::Timeout=300 update >>"$DIR/apt.log" 2>&1 || true
    sleep 5
  done
  command -v redis-server >/dev/null || fail_with_log "$DIR/apt.log" "could not install redis-server"
  # The Debian package may start a system-wide instance on 6379; it is not ours, leave it.
}

# ping -> 0 when the server answers PONG
ping() {
  if command -v redis-cli >/dev/null; then
    [[ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" == PONG ]]
  else
    local reply
    reply="$(exec 3<>"/dev/tcp/$HOST/$PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 7 <&3)" 2>/dev/null || return 1
    [[ "$reply" == "+PONG"* ]]
  fi
}

start() {
  start_lock "$DIR"
  mkdir -p "$DIR"
  if pid_alive "$PIDF" && ping; then
    echo "READY redis $HOST:$PORT"
    return 0
  fi
  port_open "$HOST" "$PORT" && die "port $PORT is already in use by another process (set SHELF_REDIS_PORT)"
  ensure_installed
  : >"$LOGF"
  # No persistence: no RDB snapshots, no AOF. Daemonized; it writes its own pid file.
  # 9>&-: the daemon must not inherit (and so keep holding) the start lock.
  redis-server --bind "$HOST" --port "$PORT" --protected-mode yes \
    --save '' --appendonly no --dir "$DIR" \
    --daemonize yes --pidfile "$PIDF" --logfile "$LOGF" 9>&- \
    || fail_with_log "$LOGF" "redis-server failed to start"
  local deadline=$((SECONDS + START_TIMEOUT))
  until ping; do
    ((SECONDS < deadline)) || { stop_pidfile "$PIDF" 5; fail_with_log "$LOGF" "no PONG on $HOST:$PORT after ${START_TIMEOUT}s"; }
    sleep 0.1
  done
  echo "READY redis $HOST:$PORT"
}

stop() {
  stop_pidfile "$PIDF" 15
  echo "STOPPED redis"
}

status() {
  if pid_alive "$PIDF"; then
    echo "RUNNING redis $HOST:$PORT pid=$(cat "$PIDF") rss=$(rss_of "$PIDF")"
  else
    echo "STOPPED redis"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
