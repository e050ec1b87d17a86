#!/usr/bin/env bash
# `npm run test:integration`: start the real servers the suite runs against on 127.0.0.1
# (Redis, Kafka, Elasticsearch, Qdrant; scripts/servers/), run the suite, print how many tests ran
# against each, stop the servers this run started; and validate docker-compose.yml. A server
# that does not start fails the run; nothing is skipped. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every server the suite runs against (and reports a test count for).
servers=(redis kafka elasticsearch qdrant)
# The ones this script starts: a QDRANT_URL already in the environment names another Qdrant
# (e.g. the docker-compose one), which is then used instead of starting our own.
to_start=(redis kafka elasticsearch)
if [[ -n "${QDRANT_URL:-}" ]]; then
  echo "test:integration: using the Qdrant at QDRANT_URL=$QDRANT_URL (not starting one)" >&2
  curl -fsS -o /dev/null --max-time 10 "${QDRANT_URL%/}/readyz" ||
    { echo "test:integration: FAILED: the Qdrant at QDRANT_URL=$QDRANT_URL does not answer /readyz; nothing was run." >&2; exit 1; }
else
  to_start+=(qdrant)
fi
ours=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for ((i = ${#ours[@]} - 1; i >= 0; i--)); do
    scripts/servers/"${ours[i]}".sh stop >&2 || true
  done
}
trap cleanup EXIT

# Started side by side (the JVMs take most of the time); a server already running is used as it
# is and left running afterwards, since someone else started it.
declare -A pids=()
failed=()
for s in "${to_start[@]}"; do
  if scripts/servers/"$s".sh status >/dev/null 2>&1; then
    scripts/servers/"$s".sh start || failed+=("$s")
    continue
  fi
  ours+=("$s")
  scripts/servers/"$s".sh start &
  pids[$s]=$!
done
for s in "${!pids[@]}"; do
  wait "${pids[$s]}" || failed+=("$s")
done
if ((${#failed[@]} > 0)); then
  echo "test:integration: FAILED: ${failed[*]} did not start (its log is above). The integration suite needs all of: ${servers[*]}; nothing was run." >&2
  exit 1
fi

# docker-compose.yml has no engine to run on here: compose-go checks it against the
# compose-spec schema, and scripts/compose-check against this stack (its tests first).
command -v go >/dev/null || { echo "test:integration: FAILED: go not found (needed by scripts/compose-check)" >&2; exit 1; }
go -C scripts/compose-check test ./... || { echo "test:integration: FAILED: scripts/compose-check's own tests" >&2; exit 1; }
go -C scripts/compose-check run . ../../docker-compose.yml || { echo "test:integration: FAILED: docker-compose.yml (see above)" >&2; exit 1; }

export REDIS_URL="redis://127.0.0.1:${SHELF_REDIS_PORT:-6390}"
export KAFKA_BROKERS="127.0.0.1:${SHELF_KAFKA_PORT:-9092}"
export ELASTICSEARCH_URL="http://127.0.0.1:${SHELF_ES_PORT:-9200}"
export QDRANT_URL="${QDRANT_URL:-http://127.0.0.1:${SHELF_QDRANT_PORT:-6333}}"

report="$(mktemp -t shelf-integration-XXXXXX.json)"
rc=0
npx vitest run --config vitest.integration.config.ts --reporter=default --reporter=json --outputFile.json="$report" "$@" || rc=$?
# With a test filter, a server without tests is expected; without one, it means a suite went missing.
partial=()
(($# > 0)) && partial=(--partial)
npx tsx test/integration/summary.ts "${partial[@]}" "$report" "${servers[@]}" || { ((rc != 0)) || rc=1; }
rm -f "$report"
exit "$rc"
