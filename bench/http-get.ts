import http from 'node:http';

/**
 * A GET over a keep-alive `node:http` agent, for benches that time the service over HTTP from
 * their own process. Node's `fetch` (undici) costs the client about as much per request as a
 * small route costs the server, and its garbage lands in the same heap: timed with it, a 0.1 ms
 * route read as several ms at p99.
 */
export function httpGet(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export const keepAliveAgent = (sockets = 8) => new http.Agent({ keepAlive: true, maxSockets: sockets });
