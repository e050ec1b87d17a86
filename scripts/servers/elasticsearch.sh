#!/usr/bin/env bash
# A real Elasticsearch 8 node (one JVM, single-node discovery, security off) for the
# integration tests, built from Maven Central jars. See README.md beside this file.
#   scripts/servers/elasticsearch.sh start|stop|status|fetch|clean
set -euo pipefail
# shellcheck disable=SC2034 # NAME is used by common.sh
NAME=elasticsearch
# shellcheck source=scripts/servers/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# 8.14.3: newest 8.14.x for which both the server jar and the transport-netty4 module
# (HTTP) are on Maven Central (transport-netty4 8.14.1 is not published there).
ES_VERSION="${SHELF_ES_VERSION:-8.14.3}"
HOST=127.0.0.1
PORT="${SHELF_ES_PORT:-9200}"
TRANSPORT_PORT="${SHELF_ES_TRANSPORT_PORT:-9300}"
HEAP="${SHELF_ES_HEAP:-1g}"

DIR="$CACHE_ROOT/elasticsearch"
LIB="$DIR/lib"
CLASSES="$DIR/runner-classes"
NODE_DIR="$DIR/node"          # home/, data/, logs/ of the node
LOGF="$DIR/server.log"
PIDF="$DIR/elasticsearch.pid"
STAMP="$LIB/.complete-$ES_VERSION"
RUNNER_SRC="$SERVERS_DIR/es-runner/src"

fetch() {
  maven_fetch "$LIB" "$STAMP" "elasticsearch:$ES_VERSION + transport-netty4" "elasticsearch-$ES_VERSION.jar" \
"    <dependency><groupId>org.elasticsearch</groupId><artifactId>elasticsearch</artifactId><version>$ES_VERSION</version></dependency>
    <dependency><groupId>org.elasticsearch.plugin</groupId><artifactId>transport-netty4</artifactId><version>$ES_VERSION</version></dependency>"
}

# Compile scripts/servers/es-runner/src once; again only when its sources change.
compile_runner() {
  command -v javac >/dev/null || die "javac not found (need a JDK 17+, not just a JRE)"
  local hash
  hash="$( (echo "$ES_VERSION"; find "$RUNNER_SRC" -name '*.java' -type f | sort | xargs cat) | sha256sum | cut -c1-16)"
  [[ -f "$CLASSES/.hash" && "$(cat "$CLASSES/.hash")" == "$hash" ]] && return 0
  log "compiling es-runner"
  rm -rf "$CLASSES"
  mkdir -p "$CLASSES"
  # shellcheck disable=SC2046
  javac -nowarn -encoding UTF-8 -d "$CLASSES" -cp "$LIB/*" $(find "$RUNNER_SRC" -name '*.java' -type f) \
    || die "javac failed for $RUNNER_SRC"
  echo "$hash" >"$CLASSES/.hash"
}

# http_get PATH -> body on stdout (fails when nothing answers)
http_get() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 5 "http://$HOST:$PORT$1"
  else
    local out
    out="$(exec 3<>"/dev/tcp/$HOST/$PORT" && printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$HOST" >&3 && timeout 5 cat <&3)" || return 1
    [[ "$out" == "HTTP/1."?" 200"* ]] || return 1
    printf '%s' "${out#*$'\r\n\r\n'}"
  fi
}

health_ok() {
  local body
  body="$(http_get '/_cluster/health?wait_for_status=yellow&timeout=2s' 2>/dev/null)" || return 1
  [[ "$body" == *'"status":"green"'* || "$body" == *'"status":"yellow"'* ]]
}

start() {
  start_lock "$DIR"
  if pid_alive "$PIDF" && health_ok; then
    echo "READY elasticsearch $HOST:$PORT"
    return 0
  fi
  if ! pid_alive "$PIDF"; then
    port_open "$HOST" "$PORT" && die "port $PORT is already in use by another process (set SHELF_ES_PORT)"
    port_open "$HOST" "$TRANSPORT_PORT" && die "port $TRANSPORT_PORT is already in use (set SHELF_ES_TRANSPORT_PORT)"
    need_java
    fetch
    compile_runner
    mkdir -p "$NODE_DIR" "$DIR/tmp"
    : >"$LOGF"
    # setsid: the node outlives this script and its caller's process group.
    setsid java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Xss1m \
      -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
      -Dlog4j2.formatMsgNoLookups=true -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
      -Des.networkaddress.cache.ttl=60 -Djava.io.tmpdir="$DIR/tmp" \
      -cp "$CLASSES:$LIB/*" shelf.esrunner.EsRunner "$NODE_DIR" \
      "network.host=$HOST" "http.port=$PORT" "transport.port=$TRANSPORT_PORT" \
      </dev/null >>"$LOGF" 2>&1 9>&- &
    echo $! >"$PIDF"
  fi
  # (If it was already running but not healthy yet, e.g. a concurrent start, just wait.)
  local deadline=$((SECONDS + START_TIMEOUT))
  until health_ok; do
    pid_alive "$PIDF" || fail_with_log "$LOGF" "elasticsearch exited during startup"
    ((SECONDS < deadline)) || { stop_pidfile "$PIDF" 15; fail_with_log "$LOGF" "cluster health not yellow/green within ${START_TIMEOUT}s"; }
    sleep 1
  done
  echo "READY elasticsearch $HOST:$PORT"
}

stop() {
  stop_pidfile "$PIDF" 60
  echo "STOPPED elasticsearch"
}

status() {
  if pid_alive "$PIDF"; then
    echo "RUNNING elasticsearch $HOST:$PORT pid=$(cat "$PIDF") rss=$(rss_of "$PIDF")"
  else
    echo "STOPPED elasticsearch"
    return 3
  fi
}

clean() {
  pid_alive "$PIDF" && die "running; stop it first"
  rm -rf "$NODE_DIR" "$DIR/tmp"
  echo "CLEANED elasticsearch data"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  fetch) fetch; compile_runner ;;
  clean) clean ;;
  *) echo "usage: $0 start|stop|status|fetch|clean" >&2; exit 2 ;;
esac
