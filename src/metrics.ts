import client from 'prom-client';

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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
