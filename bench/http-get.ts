import http from 'node:http';

/**
 * A GET over a keep-alive `node:http` agent, for benches that time the service over HTTP from
 * their own process. Node's `fetch` (undici) costs the client about as much per request as a
 * small route costs the server, and its garbage lands in the bench's heap: timed with it, a
 * 0.1 ms route read as several ms at p99.
 *
 * Never rejects: a connection error or the client's time-out is status 0, so a load generator
 * counts it instead of stopping.
 */
export interface HttpAnswer {
  /** 0: no answer (connection error, or `timeoutMs` passed). */
  status: number;
  body: string;
  /** Retry-After, when the answer carried one. */
  retryAfter: string | null;
  ms: number;
}

export function httpGet(url: string, agent: http.Agent, timeoutMs?: number): Promise<HttpAnswer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, body: string, retryAfter: string | null) =>
      resolve({ status, body, retryAfter, ms: performance.now() - t0 });
    const req = http.get(url, { agent, ...(timeoutMs !== undefined && { timeout: timeoutMs }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done(
          res.statusCode ?? 0,
          Buffer.concat(chunks).toString('utf8'),
          (res.headers['retry-after'] as string | undefined) ?? null,
        ),
      );
      res.on('error', () => done(0, '', null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0, '', null));
  });
}

export const keepAliveAgent = (sockets = 8) => new http.Agent({ keepAlive: true, maxSockets: sockets });
