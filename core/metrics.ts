import client from 'prom-client';
import type { DependencyGuard, GuardHooks } from './dependency-guard.ts';

/** Prometheus metrics, one registry per app so tests and multiple apps never share counters. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'shelf_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    searchLatency: new client.Histogram({
      name: 'shelf_search_duration_seconds',
      help: 'Search latency inside the service',
      labelNames: ['mode'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    degraded: new client.Counter({
      name: 'shelf_search_degraded_total',
      help: 'Searches answered without a recall route because it failed',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    eventsAccepted: new client.Counter({
      name: 'shelf_events_accepted_total',
      help: 'Behaviour events durably appended to the stream, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsRejected: new client.Counter({
      name: 'shelf_events_rejected_total',
      help: 'Behaviour events rejected by validation',
      registers: [registry],
    }),
    eventsApplied: new client.Counter({
      name: 'shelf_events_applied_total',
      help: 'Events whose effects the consumer stored',
      registers: [registry],
    }),
    eventsDuplicate: new client.Counter({
      name: 'shelf_events_duplicate_total',
      help: 'Redelivered or repeated events the consumer skipped (already applied)',
      registers: [registry],
    }),
    deadLetters: new client.Counter({
      name: 'shelf_dead_letters_total',
      help: 'Stream messages the consumer could not use and dead-lettered',
      registers: [registry],
    }),
    consumerErrors: new client.Counter({
      name: 'shelf_consumer_errors_total',
      help: 'Consumer batches that failed and were retried',
      registers: [registry],
    }),
    feedLatency: new client.Histogram({
      name: 'shelf_feed_duration_seconds',
      help: 'Feed latency inside the service',
      labelNames: ['cold_start'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    feedDegraded: new client.Counter({
      name: 'shelf_feed_degraded_total',
      help: 'Feeds answered without a recall route because it failed',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    mmrVectorsUnavailable: new client.Counter({
      name: 'shelf_mmr_vectors_unavailable_total',
      help: 'Diversity (MMR) passes run on category/brand penalties only because product vectors could not be read',
      labelNames: ['surface', 'reason'] as const,
      registers: [registry],
    }),
    couponClaims: new client.Counter({
      name: 'shelf_coupon_claims_total',
      help: 'Coupon claim requests by outcome (claimed, duplicate, out_of_stock, limit_reached, not_eligible, ...)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    couponRedemptions: new client.Counter({
      name: 'shelf_coupon_redemptions_total',
      help: 'Coupon redemption requests by outcome (redeemed, duplicate, budget_exhausted, not_claimed, ...)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    couponsAttached: new client.Counter({
      name: 'shelf_coupon_attached_total',
      help: 'Search and feed items shown with a coupon (coupons/attach.ts), by surface',
      labelNames: ['surface'] as const,
      registers: [registry],
    }),
    couponsDegraded: new client.Counter({
      name: 'shelf_coupon_degraded_total',
      help: 'Search and feed pages served without coupons because the ledger or the shopper state failed',
      labelNames: ['surface'] as const,
      registers: [registry],
    }),
    streamAppendErrors: new client.Counter({
      name: 'shelf_stream_append_errors_total',
      help: 'Appends to the behaviour stream that failed (answered 503 stream_unavailable), by endpoint; the error is in the log',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    dependencyFailures: new client.Counter({
      name: 'shelf_dependency_failures_total',
      help: 'Calls to a server (redis, kafka, elasticsearch, qdrant) that did not answer within their budget: kind timeout, error, or open (refused by the open circuit breaker)',
      labelNames: ['dependency', 'kind'] as const,
      registers: [registry],
    }),
    breakerState: new client.Gauge({
      name: 'shelf_dependency_breaker_state',
      help: 'Circuit breaker per server: 0 closed (calls go through), 1 open (calls refused at once), 2 half-open (one trial call)',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    requestsRejected: new client.Counter({
      name: 'shelf_requests_rejected_total',
      help: 'Requests refused before any work: shed (503 overloaded) or over a rate limit (429 rate_limited), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    requestsInFlight: new client.Gauge({
      name: 'shelf_requests_in_flight',
      help: 'Requests being served now (the load-shedding bound counts these)',
      registers: [registry],
    }),
    requestsQueued: new client.Gauge({
      name: 'shelf_requests_queued',
      help: 'Requests waiting for an in-flight slot (service.limits.queue)',
      registers: [registry],
    }),
    authRejected: new client.Counter({
      name: 'shelf_auth_rejected_total',
      help: 'Shopper-facing requests or events refused for their token or key, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    retentionPruned: new client.Counter({
      name: 'shelf_retention_pruned_rows_total',
      help: 'Rows deleted by retention (behavior/retention.ts), by store: events, served, applied, dead_letters',
      labelNames: ['store'] as const,
      registers: [registry],
    }),
    retentionErrors: new client.Counter({
      name: 'shelf_retention_errors_total',
      help: 'Retention passes over a store that failed (retried at the next interval), by store',
      labelNames: ['store'] as const,
      registers: [registry],
    }),
    servedLogLost: new client.Counter({
      name: 'shelf_served_log_lost_total',
      help: 'Served-response log entries that could not be written',
      registers: [registry],
    }),
    textModelRefused: new client.Counter({
      name: 'shelf_text_model_refused_total',
      help: 'Index generations not served because their text model could not be loaded (the previous one kept serving)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const BREAKER_VALUE = { closed: 0, open: 1, half_open: 2 } as const;

/** The guards' hooks that feed `shelf_dependency_failures_total` and `shelf_dependency_breaker_state`. */
export function guardMetrics(metrics: Metrics): GuardHooks {
  return {
    onFailure: (dependency, kind) => metrics.dependencyFailures.inc({ dependency, kind }),
    onStateChange: (dependency, state) => metrics.breakerState.set({ dependency }, BREAKER_VALUE[state]),
  };
}

/** Every guard's breaker shows on /metrics from the start (closed), not only after its first change. */
export function showBreakers(metrics: Metrics, guards: readonly DependencyGuard[]): void {
  for (const g of guards) metrics.breakerState.set({ dependency: g.name }, BREAKER_VALUE[g.state]);
}
