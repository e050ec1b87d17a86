import { availableParallelism } from 'node:os';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
  type RateLimiterAbstract,
  type RateLimiterInsuredAbstract,
} from 'rate-limiter-flexible';
import type { Metrics } from '../../core/metrics.ts';
import type { LimitsSettings } from '../settings/schema.ts';
import { Admission } from './admission.ts';
import { ApiError } from './errors.ts';

/**
 * Rate limits and load shedding, before any other work is done for a request:
 *
 * - **Shedding**: past `max_in_flight` requests being served, the next one waits in a short
 *   queue (`queue`, src/api/admission.ts: up to 100 ms, and only while nobody has been refused in
 *   the last second) and is otherwise answered `503 overloaded` with Retry-After. Node serves on one
 *   thread, so a request admitted beyond what the CPU can turn around only waits behind the
 *   others until its client gives up; refusing it tells the client when to come back.
 * - **Per client** (address, or the server key): `429 rate_limited` with Retry-After.
 * - Both refusals are held `refusal_delay_ms` (a timer, no in-flight slot) before they are sent:
 *   a client that resends at once would otherwise turn the one thread into a refusal loop, and
 *   the admitted requests would wait behind it (`npm run bench -- overload`).
 * - **Per shopper**: `shopper(key)`, called by the routes once the shopper is known.
 *
 * Counters live in memory, or in Redis when one is configured (every instance shares them). A
 * slow or down Redis never holds a request: past `REDIS_TIMEOUT_MS`, or on any error, the
 * in-memory counter of this instance decides (rate-limiter-flexible's insurance limiter).
 */

/** Paths never shed nor limited: the probes and the scrape must answer under any load. */
const EXEMPT = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);
const exempt = (path: string) => EXEMPT.has(path) || path === '/docs' || path.startsWith('/docs/');

/**
 * Refusals held at once (`refusal_delay_ms`); past this, refusals are sent at once. A bound on
 * the memory a flood of connections can pin, far above what one instance's clients open.
 */
const MAX_HELD_REFUSALS = 10_000;

/** How long a rate-limit read may take in Redis before this instance's own counter decides. */
const REDIS_TIMEOUT_MS = 50;

export interface LimitsOptions {
  settings: LimitsSettings;
  metrics: Metrics;
  /** Shared counters (`backends.redisUrl`); undefined: in memory. */
  redis?: Redis | undefined;
  namespace?: string;
  /** Whether the request carries the server key (the shop's back end), which has its own limit. */
  isServer: (c: Context) => boolean;
  /** The client's address; default the socket's (behind `trusted_proxies`, X-Forwarded-For). */
  clientAddress?: ((c: Context) => string | undefined) | undefined;
}

export interface Limits {
  /** Shedding, then the per-client limit. */
  middleware: MiddlewareHandler;
  /** Takes one request from the shopper's budget, or throws the 429. */
  shopper(key: string): Promise<void>;
}

type Limiter = RateLimiterAbstract | RateLimiterInsuredAbstract;

function limiter(name: string, rate: { points: number; duration_s: number }, opts: LimitsOptions): Limiter | undefined {
  if (rate.points === 0) return undefined;
  const common = {
    points: rate.points,
    duration: rate.duration_s,
    keyPrefix: `${opts.namespace ?? 'shelf'}:rl:${name}`,
  };
  const memory = new RateLimiterMemory(common);
  if (!opts.redis) return memory;
  return new RLWrapperTimeouts({
    limiter: new RateLimiterRedis({ ...common, storeClient: opts.redis, rejectIfRedisNotReady: true }),
    timeoutMs: REDIS_TIMEOUT_MS,
    insuranceLimiter: memory,
  });
}

/** The socket's address, or the address `hops` trusted proxies saw (X-Forwarded-For, read from the right). */
export function socketAddress(hops: number) {
  return (c: Context): string | undefined => {
    if (hops > 0) {
      const chain = (c.req.header('X-Forwarded-For') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const seen = chain[chain.length - hops];
      if (seen) return seen;
    }
    try {
      return getConnInfo(c).remote.address;
    } catch {
      // In-process requests (app.request: tests, benches) come from no socket.
      return undefined;
    }
  };
}

const retryAfter = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

/** Spends one point of `key`, or throws the 429 (counted under `reason`). */
async function consume(l: Limiter, key: string, reason: string, what: string, metrics: Metrics): Promise<void> {
  try {
    await l.consume(key);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    metrics.requestsRejected.inc({ reason });
    throw new ApiError(
      429,
      'rate_limited',
      `too many requests ${what}; retry after the Retry-After seconds`,
      undefined,
      {
        'Retry-After': retryAfter(err.msBeforeNext),
      },
    );
  }
}

/**
 * `max_in_flight` when it is not set: one when searches run on the service's own thread (the
 * embedded back end: SQLite and hnswlib answer synchronously, so a second search in flight only
 * shares the one thread and makes both slower, whatever the cores), eight per core when requests
 * mostly wait on Elasticsearch and Qdrant. With one in flight, the admitted p99 under overload
 * stays near the unloaded one for the same throughput (docs/BENCHMARKS.md, "Overload"); the wait
 * queue lets the requests a page sends at once through one after the other.
 */
export function defaultMaxInFlight(serverBackends: boolean): number {
  return serverBackends ? availableParallelism() * 8 : 1;
}

export function createLimits(opts: LimitsOptions): Limits {
  const { settings: s, metrics } = opts;
  const client = limiter('client', s.client, opts);
  const server = limiter('server', s.server, opts);
  const shopper = limiter('shopper', s.shopper, opts);
  const address = opts.clientAddress ?? socketAddress(s.trusted_proxies);
  const admission = new Admission(s.max_in_flight ?? defaultMaxInFlight(false), s.queue);
  let held = 0;

  /** Sends `refusal` after `refusal_delay_ms`, holding no in-flight slot meanwhile (see the setting). */
  const refuse = async (refusal: ApiError): Promise<never> => {
    if (s.refusal_delay_ms > 0 && held < MAX_HELD_REFUSALS) {
      held++;
      try {
        await new Promise((r) => setTimeout(r, s.refusal_delay_ms));
      } finally {
        held--;
      }
    }
    throw refusal;
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    if (exempt(c.req.path)) return next();
    const admitted = await admission.enter();
    metrics.requestsQueued.set(admission.queued);
    if (!admitted) {
      metrics.requestsRejected.inc({ reason: 'shed' });
      return refuse(
        new ApiError(503, 'overloaded', 'the service is at capacity; retry after the Retry-After seconds', undefined, {
          'Retry-After': String(s.shed_retry_after_s),
        }),
      );
    }
    metrics.requestsInFlight.set(admission.inFlight);
    let limited: ApiError | undefined;
    try {
      try {
        if (opts.isServer(c)) {
          if (server) await consume(server, 'server', 'server_rate', 'with this key', metrics);
        } else if (client) {
          const ip = address(c);
          if (ip !== undefined) await consume(client, ip, 'client_rate', 'from this client', metrics);
        }
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        limited = err;
      }
      if (!limited) await next();
    } finally {
      admission.leave();
      metrics.requestsInFlight.set(admission.inFlight);
      metrics.requestsQueued.set(admission.queued);
    }
    if (limited) return refuse(limited);
  };

  return {
    middleware,
    shopper: async (key) => {
      if (shopper) await consume(shopper, key, 'shopper_rate', 'for this shopper', metrics);
    },
  };
}
