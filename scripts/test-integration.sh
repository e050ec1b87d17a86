#!/usr/bin/env bash
# `npm run test:integration`: start the real servers the suite needs on 127.0.0.1, run the
# suite against them, stop them. A server that does not start fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

servers=(elasticsearch)
started=()
cleanup() {
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    scripts/servers/"${started[i]}".sh stop >&2 || true
  done
}
trap cleanup EXIT

for s in "${servers[@]}"; do
  scripts/servers/"$s".sh start
  started+=("$s")
done

export ELASTICSEARCH_URL="http://127.0.0.1:${SHELF_ES_PORT:-9200}"
npx vitest run --config vitest.integration.config.ts "$@"
