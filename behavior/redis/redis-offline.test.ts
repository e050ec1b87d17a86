import { describe, expect, it } from 'vitest';
import { RedisStateStore } from './redis-state-store.ts';

describe('unreachable Redis', () => {
  it('says which URL did not answer and what to check, without its password', async () => {
    const err = await RedisStateStore.open({
      url: 'redis://:secret@127.0.0.1:1',
      namespace: 'x',
      trendingHalfLifeMs: 1,
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^Redis unreachable at redis:\/\/:\*\*\*@127\.0\.0\.1:1.*ECONNREFUSED.*REDIS_URL/,
    );
    expect((err as Error).message).not.toContain('secret');
  });
});
