import { describe, expect, it } from 'vitest';
import { defaultBehaviorConfig } from '../behavior/config.ts';
import { emptyUserState } from '../behavior/user-state.ts';
import { FeedConfigSchema } from './feed-config.ts';
import { feedCandidates, fuseFeed, routeWeight } from './feed.ts';
import type { FeedSources } from './feed-routes.ts';

const hits = (...ids: string[]) => ids.map((id, i) => ({ id, score: 1 / (i + 1) }));

describe('user-vector evidence gate', () => {
  it('scales only the user-vector weight, by g / (g + interactions of the last item)', () => {
    const cfg = FeedConfigSchema.parse({ uservector_gate: 10, weights: { uservector: 0.5 } });
    expect(routeWeight('uservector', 30, cfg)).toBeCloseTo(0.5 * (10 / 40), 12);
    expect(routeWeight('uservector', 0, cfg)).toBe(0.5);
    expect(routeWeight('itemcf', 30, cfg)).toBe(1);
    expect(routeWeight('uservector', undefined, cfg)).toBe(0.5);
    expect(routeWeight('uservector', 30, FeedConfigSchema.parse({ weights: { uservector: 0.5 } }))).toBe(0.5);
  });

  it('lets item-CF keep its top where its seed is well known, and the user vector lead where it is not', () => {
    // "u1" is the user vector's first item and item-CF's third; "c1" is item-CF's first.
    const lists = { itemcf: hits('c1', 'c2', 'u1'), uservector: hits('u1', 'u2') };
    const cfg = FeedConfigSchema.parse({ rrf_k: 5, uservector_gate: 10, weights: { uservector: 1 } });
    const top = (evidence: number) => fuseFeed({ lists, excluded: new Set(), evidence }, cfg)[0]!.id;
    expect(top(0)).toBe('u1');
    expect(top(1000)).toBe('c1');
  });

  it('reads the evidence only when the gate is on and both routes ran', async () => {
    const reads: string[][] = [];
    const src: FeedSources = {
      trending: async () => [],
      cooccurring: async (id) => (id === 'last' ? hits('n1', 'n2') : []),
      itemCounts: async (ids) => {
        reads.push([...ids]);
        return new Map(ids.map((id) => [id, id === 'last' ? 42 : 1]));
      },
      vectorSearch: async () => hits('v1'),
    };
    const user = { ...emptyUserState('u:a'), recent: [{ id: 'last', ts: 1, w: 1 }], short: [1, 0], long: [1, 0] };
    const on = await feedCandidates(src, user, { now: 2 }, FeedConfigSchema.parse({ uservector_gate: 5 }), defaultBehaviorConfig(), {});
    expect(on.lists.uservector?.length).toBeGreaterThan(0);
    expect(on.evidence).toBe(42);
    expect(reads.some((r) => r.length === 1 && r[0] === 'last')).toBe(true);
    const off = await feedCandidates(src, user, { now: 2 }, FeedConfigSchema.parse({}), defaultBehaviorConfig(), {});
    expect(off.evidence).toBeUndefined();
  });
});
