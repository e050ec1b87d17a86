import { Redis } from 'ioredis';
import type { Dependency } from '../../core/dependencies.ts';

/** Connects one client; fails with a readable message when Redis does not answer. */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 5, connectionName: `shelf-${name}` });
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
