import { describe, expect, it } from 'vitest';
import { BehaviorConfigSchema } from '../../behavior/config.ts';
import type { Interaction } from './sequential-data.ts';
import { replayIntoState, toStreamRecords } from './replay.ts';

const H = 3_600_000;
const rows: Interaction[] = [
  { user: 'a', item: 'x', ts: 1e12, type: 'view' },
  { user: 'b', item: 'x', ts: 1e12 + 5, type: 'purchase' },
  { user: 'a', item: 'y', ts: 1e12 + H, type: 'add_to_cart' },
];

describe('replaying interactions through the consumer', () => {
  it('emits stream records in global time order', () => {
    const recs = toStreamRecords([rows[2]!, rows[0]!, rows[1]!]);
    expect(recs.map((r) => JSON.parse(r.value).product_id)).toEqual(['x', 'x', 'y']);
    expect(recs[0]!.key).toBe('u:a');
  });

  it('builds user state, co-occurrence and popularity with the serving reducer', async () => {
    const behavior = BehaviorConfigSchema.parse({ trending_half_life_ms: 1e15 });
    const vec = Float32Array.from([1, 0]);
    const { state, applied, deadLetters } = await replayIntoState(rows, {
      behavior,
      items: new Map([['x', { vector: vec }]]),
      trendingHalfLifeMs: 1e15,
      batchSize: 2,
    });
    try {
      expect([applied, deadLetters]).toEqual([3, 0]);
      const a = (await state.getUsers(['u:a'])).get('u:a')!;
      expect(a.recent.map((r) => r.id)).toEqual(['y', 'x']);
      expect(a.long).not.toBeNull();
      expect((await state.getUsers(['u:b'])).get('u:b')!.purchased).toEqual(['x']);
      expect((await state.cooccurring('x', 5)).map((h) => h.id)).toEqual(['y']);
      // weights: view 1 + purchase 8 on x, cart 4 on y (next to no decay with this half-life)
      const top = await state.trending('', 5);
      expect(top.map((h) => h.id)).toEqual(['x', 'y']);
      expect(top[0]!.score).toBeCloseTo(9, 1); // the store decays to the wall clock: 2^(-years / 1e15 ms) ≈ 1
    } finally {
      await state.close();
    }
  });
});
