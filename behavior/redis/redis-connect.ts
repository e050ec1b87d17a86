import { Redis } from 'ioredis';
import type { Dependency } from '../../core/dependencies.ts';

export interface RedisTimeouts {
  /** Longest wait for one command's reply (default 5 s): a frozen server never hangs a caller. */
  commandTimeoutMs?: number | undefined;
  /** Longest wait for the TCP connection (default 2 s). */
  connectTimeoutMs?: number | undefined;
}

/**
 * Connects one client; fails with a readable message when Redis does not answer. Every command
 * has a deadline (`commandTimeout`; the request path's guards, core/dependency-guard.ts, cut
 * shorter still), and nothing queues while the connection is down: without the offline queue a
 * command on a lost connection fails at once instead of waiting, unbounded, for a reconnect.
 */
export async function connectRedis(url: string, name: string, t: RedisTimeouts = {}): Promise<Redis> {
  const r = redisClient(url, name, t);
  // Failures surface on the commands that hit them; an unhandled 'error' event would crash.
  let last: Error | undefined;
  r.on('error', (err: Error) => (last = err));
  try {
    await r.connect();
  } catch (err) {
    r.disconnect();
    // connect() only says "Connection is closed"; the 'error' event said why.
    const why = (last ?? (err as Error)).message.replace(/\.$/, '');
    throw new Error(`Redis unreachable at ${redact(url)}: ${why}. Is Redis running, and is REDIS_URL right?`, {
      cause: err,
    });
  }
  return r;
}

/**
 * A client with the service's options, not yet connected (`connect()` it): every Redis client of
 * the service is made here, so each has the same deadlines and no offline queue.
 */
export function redisClient(url: string, name: string, t: RedisTimeouts = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectionName: `shelf-${name}`,
    connectTimeout: t.connectTimeoutMs ?? 2_000,
    commandTimeout: t.commandTimeoutMs ?? 5_000,
    // One resend after a reconnect at most; the offline queue is what would hold it meanwhile.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
}

/** `redis` for /readyz and start-up: PING, and the server version from INFO. */
export function redisDependency(client: Redis, url: string, name = 'redis'): Dependency {
  return {
    name,
    check: async () => {
      await client.ping();
      const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown version';
      return `Redis ${version} at ${redact(url)}`;
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
