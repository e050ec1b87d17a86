import type { Redis } from 'ioredis';

export interface Scored {
  id: string;
  score: number;
}

export function pairs(flat: readonly string[]): Array<{ id: string; raw: string }> {
  const out: Array<{ id: string; raw: string }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, raw: flat[i + 1]! });
  return out;
}

/**
 * Top k of a sorted set, highest score first and ties by ascending id (the order the embedded
 * store gives). Redis breaks ties by descending member, so members tied with the k-th are
 * fetched too and the cut made here: the result does not depend on which store answered.
 */
export async function topK(redis: Redis, key: string, k: number, head?: readonly string[]): Promise<Scored[]> {
  if (k <= 0) return [];
  const rows = pairs(head ?? (await redis.zrevrange(key, 0, k - 1, 'WITHSCORES')));
  if (rows.length === k) {
    // Redis prints scores with 17 significant digits, so the string selects exactly that score.
    const edge = rows[k - 1]!.raw;
    const tied = await redis.zrangebyscore(key, edge, edge);
    const kept = rows.filter((r) => r.raw !== edge);
    for (const id of tied) kept.push({ id, raw: edge });
    rows.splice(0, rows.length, ...kept);
  }
  return rows
    .map((r) => ({ id: r.id, score: Number(r.raw) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, k);
}
