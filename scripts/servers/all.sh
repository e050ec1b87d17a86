#!/usr/bin/env bash
# Start/stop Redis, Kafka, Elasticsearch and Qdrant for the integration tests together.
#   scripts/servers/all.sh start|stop|status
# start prints the four READY lines; it stops at the first server that fails
# (exit non-zero, that server's log tail on stderr), leaving the others as they are.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVERS=(redis kafka elasticsearch qdrant)

case "${1:-}" in
  start)
    for s in "${SERVERS[@]}"; do "$HERE/$s.sh" start; done
    ;;
  stop)
    rc=0
    for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do "$HERE/${SERVERS[i]}.sh" stop || rc=1; done
    exit "$rc"
    ;;
  status)
    rc=0
    for s in "${SERVERS[@]}"; do "$HERE/$s.sh" status || rc=3; done
    exit "$rc"
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
