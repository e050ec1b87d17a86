#!/usr/bin/env bash
# Talks to the running servers the way the integration tests will, and fails loudly
# if one does not behave:
#   redis: PING and SET/GET; kafka: produce one message and consume it back;
#   elasticsearch: cjk analyzer, index a document with a cjk-analyzed field, search it;
#   qdrant: create a collection, upsert two points, a filtered query finds the right one, an alias.
#   scripts/servers/smoke.sh            (after scripts/servers/all.sh start)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REDIS_PORT="${SHELF_REDIS_PORT:-6390}"
KAFKA_PORT="${SHELF_KAFKA_PORT:-9092}"
ES="http://127.0.0.1:${SHELF_ES_PORT:-9200}"
QDRANT="http://127.0.0.1:${SHELF_QDRANT_PORT:-6333}"
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

# --- redis
[[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping)" == PONG ]] || fail "redis: no PONG"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" set shelf:smoke ok >/dev/null
[[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" get shelf:smoke)" == ok ]] || fail "redis: SET/GET"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" del shelf:smoke >/dev/null
echo "ok redis PING, SET/GET"

# --- kafka (topic auto-created by the first produce)
topic="shelf-smoke-$$-$RANDOM"
msg="hello shelf $(date +%s%N)"
printf '%s\n' "$msg" | "$HERE/kafka.sh" run-class kafka.tools.ConsoleProducer \
  --bootstrap-server "127.0.0.1:$KAFKA_PORT" --topic "$topic" 2>/dev/null
got="$("$HERE/kafka.sh" run-class org.apache.kafka.tools.consumer.ConsoleConsumer \
  --bootstrap-server "127.0.0.1:$KAFKA_PORT" --topic "$topic" --from-beginning \
  --max-messages 1 --timeout-ms 30000 2>/dev/null)"
[[ "$got" == "$msg" ]] || fail "kafka: consumed [$got], expected [$msg]"
"$HERE/kafka.sh" run-class org.apache.kafka.tools.TopicCommand \
  --bootstrap-server "127.0.0.1:$KAFKA_PORT" --delete --topic "$topic" 2>/dev/null || true
echo "ok kafka produce+consume on $topic"

# --- elasticsearch
j() { curl -fsS -H 'content-type: application/json' "$@"; }
tokens="$(j -XPOST "$ES/_analyze" -d '{"analyzer":"cjk","text":"运动鞋"}')"
[[ "$tokens" == *'"token":"运动"'* && "$tokens" == *'"token":"动鞋"'* ]] || fail "es: cjk analyzer gave $tokens"
idx="shelf-smoke-$$"
j -XPUT "$ES/$idx" -d '{"settings":{"number_of_shards":1,"number_of_replicas":0},
  "mappings":{"properties":{"title":{"type":"text","analyzer":"cjk"},"price":{"type":"float"}}}}' >/dev/null
j -XPUT "$ES/$idx/_doc/1?refresh=true" -d '{"title":"男款 跑步 运动鞋","price":299}' >/dev/null
hits="$(j "$ES/$idx/_search" -d '{"query":{"match":{"title":"运动鞋"}}}')"
j -XDELETE "$ES/$idx" >/dev/null
[[ "$hits" == *'"_id":"1"'* ]] || fail "es: search did not find the document: $hits"
echo "ok elasticsearch cjk analyzer, index + search"

# --- qdrant
col="shelf_smoke_$$"
version="$(curl -fsS "$QDRANT/")"
[[ "$version" == *'"version":"1.19.0"'* ]] || fail "qdrant: expected version 1.19.0, got $version"
j -XPUT "$QDRANT/collections/$col" -d '{"vectors":{"text":{"size":2,"distance":"Cosine"}}}' >/dev/null
j -XPUT "$QDRANT/collections/$col/index?wait=true" -d '{"field_name":"brand","field_schema":"keyword"}' >/dev/null
j -XPUT "$QDRANT/collections/$col/points?wait=true" -d '{"points":[
  {"id":1,"vector":{"text":[1,0]},"payload":{"brand":"a"}},
  {"id":2,"vector":{"text":[0.9,0.1]},"payload":{"brand":"b"}}]}' >/dev/null
hits="$(j -XPOST "$QDRANT/collections/$col/points/query" \
  -d '{"query":[1,0],"using":"text","limit":5,"filter":{"must":[{"key":"brand","match":{"value":"b"}}]}}')"
j -XPOST "$QDRANT/collections/aliases" -d "{\"actions\":[{\"create_alias\":{\"collection_name\":\"$col\",\"alias_name\":\"${col}_alias\"}}]}" >/dev/null
count="$(j -XPOST "$QDRANT/collections/${col}_alias/points/count" -d '{"exact":true}')"
j -XDELETE "$QDRANT/collections/$col" >/dev/null
[[ "$hits" == *'"id":2'* && "$hits" != *'"id":1'* ]] || fail "qdrant: filtered query gave $hits"
[[ "$count" == *'"count":2'* ]] || fail "qdrant: count through the alias gave $count"
echo "ok qdrant collection, payload index, filtered query, alias"
echo "SMOKE OK"
