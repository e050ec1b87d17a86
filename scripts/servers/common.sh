# shellcheck shell=bash
# Shared helpers for scripts/servers/*.sh. Sourced, not executed.

SERVERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVERS_DIR/../.." && pwd)"
CACHE_ROOT="${SHELF_SERVERS_CACHE:-$REPO_ROOT/.cache/servers}"
# One Maven local repository for every server, kept inside the cache so all
# downloads land under .cache/servers/ and a second run downloads nothing.
M2_REPO="$CACHE_ROOT/m2"
# shellcheck disable=SC2034 # used by the scripts that source this file
START_TIMEOUT="${SHELF_SERVERS_TIMEOUT:-120}"

log() { echo "[$NAME] $*" >&2; }
die() { echo "[$NAME] ERROR: $*" >&2; exit 1; }

# pid_alive PIDFILE -> 0 if the pid in the file is a running process
pid_alive() {
  local f="$1" pid
  [[ -s "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# port_open HOST PORT -> 0 if something accepts TCP connections there
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# stop_pidfile PIDFILE [TIMEOUT] : SIGTERM, wait, then SIGKILL. Only the pid we recorded.
stop_pidfile() {
  local f="$1" t="${2:-30}" pid i
  if ! pid_alive "$f"; then rm -f "$f"; return 0; fi
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not exit after ${t}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# rss_of PIDFILE -> resident set size in MiB (empty if not running)
rss_of() {
  local f="$1" kb
  pid_alive "$f" || return 0
  kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$f")/status" 2>/dev/null || true)"
  [[ -n "$kb" ]] && echo "$((kb / 1024))MiB"
}

# fail_with_log LOGFILE MESSAGE : print the tail of the server log and exit 1
fail_with_log() {
  local logf="$1"; shift
  echo "[$NAME] ERROR: $*" >&2
  if [[ -f "$logf" ]]; then
    echo "[$NAME] ---- last 40 lines of $logf ----" >&2
    tail -n 40 "$logf" >&2
  fi
  exit 1
}

# start_lock DIR : serialise concurrent "start" calls for one server (held until exit).
start_lock() {
  mkdir -p "$1"
  command -v flock >/dev/null || return 0
  exec 9>"$1/.start.lock"
  flock -w "$START_TIMEOUT" 9 || die "another start of $NAME is still running (lock $1/.start.lock)"
}

need_java() {
  command -v java >/dev/null || die "java not found (need a JDK 17+ on PATH)"
}

# mvn_run ARGS... : batch-mode Maven with the cache's local repository, retried
# a few times because registry fetches can fail transiently. Its output goes to
# .cache/servers/<name>-maven.log and is shown only when it fails.
mvn_run() {
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  local i mlog="$CACHE_ROOT/$NAME-maven.log"
  mkdir -p "$CACHE_ROOT"
  local force=()
  for i in 1 2 3; do
    # -U on retries: do not trust a "not found" that Maven cached on the previous try.
    if mvn -B -ntp -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" "${force[@]}" "$@" >"$mlog" 2>&1; then return 0; fi
    force=(-U)
    if ((i < 3)); then log "mvn failed (attempt $i/3), retrying in 5s"; sleep 5; fi
  done
  echo "[$NAME] ---- maven errors ($mlog) ----" >&2
  grep -E '^\[(ERROR|WARNING)\]' "$mlog" | grep -v '^\[ERROR\] *$' | head -n 20 >&2
  return 1
}

# maven_fetch LIB STAMP LABEL CHECK_JAR DEPENDENCY_XML: resolve the dependencies and their
# runtime closure from Maven Central into LIB, once (STAMP marks a finished resolve). The
# resolve goes to LIB.new and replaces LIB only when it succeeded, so a failed download never
# breaks a working cache.
maven_fetch() {
  local lib="$1" stamp="$2" label="$3" check="$4" deps="$5"
  [[ -f "$stamp" ]] && return 0
  need_java
  log "downloading $label and its runtime dependencies (one time)"
  local build="$DIR/resolve"
  rm -rf "$build" "$lib.new"
  mkdir -p "$build"
  cat >"$build/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>shelf.servers</groupId>
  <artifactId>$NAME-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$deps
  </dependencies>
</project>
POM
  mvn_run -f "$build/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib.new" -DoverWriteIfNewer=true \
    || { rm -rf "$build" "$lib.new"; die "could not resolve $label from Maven Central"; }
  ls "$lib.new/$check" >/dev/null || die "$check missing after resolve"
  rm -rf "$build" "$lib"
  mv "$lib.new" "$lib"
  touch "$stamp"
}
