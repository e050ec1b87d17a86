import { describe, expect, it } from 'vitest';
import { FeedConfigSchema } from './feed-config.ts';
import { BehaviorConfigSchema } from '../../behavior/config.ts';
import { emptyUserState, type UserState } from '../../behavior/user-state.ts';
import { feedCandidates, fuseFeed, itemCfConfident, withFallback, type FeedCandidates } from './feed.ts';
import type { FeedSources } from './feed-routes.ts';

const hits = (ids: string[], top = 10) => ids.map((id, i) => ({ id, score: top - i }));

/** Item-CF's answer first; the user vector pushes its own favourite ahead unless item-CF is sure. */
function candidates(itemcfTop: number, excluded: string[] = []): Pick<FeedCandidates, 'lists' | 'excluded'> {
  return {
    lists: { itemcf: hits(['a', 'b', 'c'], itemcfTop), uservector: hits(['x', 'c', 'b']) },
    excluded: new Set(excluded),
  };
}

const gated = FeedConfigSchema.parse({
  rrf_k: 0,
  weights: { itemcf: 1, uservector: 1 },
  itemcf_confident_score: 8,
  itemcf_confident_scale: 0.2,
});

describe('fuseFeed item-CF confidence gate', () => {
  it('leaves the fusion alone when item-CF is not confident', () => {
    const c = candidates(5);
    expect(itemCfConfident(c, gated)).toBe(false);
    const fused = fuseFeed(c, gated);
    expect(fused.map((h) => h.id)).toEqual(['a', 'x', 'b', 'c']);
    expect(fused[1]!.score).toBeCloseTo(1, 12);
  });

  it('scales the other routes down once item-CF is confident', () => {
    const c = candidates(8);
    expect(itemCfConfident(c, gated)).toBe(true);
    const fused = fuseFeed(c, gated);
    expect(fused.map((h) => h.id)).toEqual(['a', 'b', 'c', 'x']);
    expect(fused.find((h) => h.id === 'x')!.score).toBeCloseTo(0.2, 12);
    expect(fused.find((h) => h.id === 'a')!.score).toBeCloseTo(1, 12);
  });

  it('judges confidence on the best item that can be shown', () => {
    // 'a' (8.5) would make item-CF confident, but it is excluded: the best showable scores 7.5
    const c = candidates(8.5, ['a']);
    expect(itemCfConfident(candidates(8.5), gated)).toBe(true);
    expect(itemCfConfident(c, gated)).toBe(false);
    expect(fuseFeed(c, gated).map((h) => h.id)).toEqual(['b', 'x', 'c']);
  });

  it('is off by default, and keeps scaled-to-zero routes as the tail of the list', () => {
    const off = FeedConfigSchema.parse({ rrf_k: 0, weights: { itemcf: 1, uservector: 1 } });
    expect(itemCfConfident(candidates(1000), off)).toBe(false);
    const zero = FeedConfigSchema.parse({ ...gated, itemcf_confident_scale: 0 });
    expect(fuseFeed(candidates(8), zero).map((h) => h.id)).toEqual(['a', 'b', 'c', 'x']);
  });

  it('rejects a scale outside 0..1', () => {
    expect(FeedConfigSchema.safeParse({ itemcf_confident_scale: 1.5 }).success).toBe(false);
    expect(FeedConfigSchema.safeParse({ itemcf_confident_score: -1 }).success).toBe(false);
  });
});

describe('withFallback', () => {
  it('appends the best-sellers the fused list lacks, after it, leaving out excluded items', () => {
    const fused = fuseFeed({ lists: { itemcf: hits(['a', 'b']) }, excluded: new Set() }, gated);
    const out = withFallback(fused, hits(['b', 'x', 'gone', 'y']), new Set(['gone']), 'trending');
    expect(out.map((h) => h.id)).toEqual(['a', 'b', 'x', 'y']);
    expect(out.slice(2)).toEqual([
      { id: 'x', score: 0, ranks: { trending: 1 } },
      { id: 'y', score: 0, ranks: { trending: 2 } },
    ]);
  });
});

describe('the sequence route', () => {
  const src = (seen: string[][]): FeedSources => ({
    trending: async () => [],
    cooccurring: async () => [],
    itemCounts: async () => new Map(),
    sequence: {
      recall: async (history, k) => {
        seen.push([...history]);
        return hits(['n1', 'p2', 'n2']).slice(0, k);
      },
      neighbours: async () => [],
    },
  });
  const user = (recent: string[]): UserState => ({
    ...emptyUserState('u'),
    recent: recent.map((id, i) => ({ id, ts: 1000 - i, w: 1 })),
  });
  const cfg = FeedConfigSchema.parse({ rrf_k: 0, weights: { itemcf: 0, uservector: 0, trending: 0, category: 0 } });
  const behavior = BehaviorConfigSchema.parse({});

  it('asks the model with the recent items oldest first, and fuses its list with recent items left out', async () => {
    const seen: string[][] = [];
    const c = await feedCandidates(src(seen), user(['p3', 'p2', 'p1']), { now: 2000 }, cfg, behavior, {});
    expect(seen).toEqual([['p1', 'p2', 'p3']]);
    expect(c.lists.sequence!.map((h) => h.id)).toEqual(['n1', 'p2', 'n2']);
    expect(fuseFeed(c, cfg).map((h) => h.id)).toEqual(['n1', 'n2']);
  });

  it('says nothing for a shopper with no history, without a model, or at weight 0', async () => {
    const seen: string[][] = [];
    expect((await feedCandidates(src(seen), undefined, {}, cfg, behavior, {})).lists.sequence).toEqual([]);
    const none = { ...src(seen), sequence: undefined };
    expect((await feedCandidates(none, user(['p1']), {}, cfg, behavior, {})).lists.sequence).toEqual([]);
    const off = FeedConfigSchema.parse({ weights: { sequence: 0 } });
    expect((await feedCandidates(src(seen), user(['p1']), {}, off, behavior, {})).lists.sequence).toBeUndefined();
    expect(seen).toEqual([]);
  });
});
