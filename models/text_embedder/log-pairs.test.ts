import { describe, expect, it } from 'vitest';
import { joinSearchPairs, normaliseQuery, queryId } from './log-pairs.ts';

const served = (rid: string, query: string, ids: string[], surface = 'search') =>
  JSON.stringify({
    request_id: rid,
    surface,
    ts: 1,
    query,
    items: ids.map((id, i) => ({ id, position: i + 1, score: 1 })),
  });
const ev = (type: string, rid: string, pid: string) => JSON.stringify({ type, request_id: rid, product_id: pid });

describe('joinSearchPairs (served log ⋈ events by request_id)', () => {
  it('grades engagement per query text and keeps shown-and-skipped items above the taken slot as negatives', () => {
    const { queries, qrels, summary } = joinSearchPairs(
      [
        served('r1', 'Running  Shoes', ['a', 'b', 'c', 'd']),
        served('r2', 'running shoes', ['e', 'a', 'f']),
        served('r3', 'kettle', ['k1', 'k2']), // no engagement: says nothing
        served('r4', 'lamp', ['l1', 'l2'], 'feed'), // not a search
      ],
      [
        ev('click', 'r1', 'c'),
        ev('purchase', 'r2', 'a'),
        ev('impression', 'r2', 'e'),
        ev('impression', 'r2', 'a'),
        ev('click', 'r4', 'l1'),
        ev('click', 'r9', 'zz'), // unknown request
        'not json',
      ],
    );
    const id = queryId(normaliseQuery('running shoes'));
    expect([...queries]).toEqual([[id, 'running shoes']]);
    // r1: c clicked (2), a and b shown above it (0), d below it (unknown); r2: a purchased (3 beats 0), e impressed above (0).
    expect(Object.fromEntries(qrels.get(id)!)).toEqual({ a: 3, b: 0, c: 2, e: 0 });
    expect(summary).toEqual({
      search_requests: 3,
      requests_with_engagement: 2,
      queries: 1,
      positives: 2,
      hard_negatives: 2,
      unmatched_events: 2,
    });
  });

  it('with impression events, only impressed items count as seen', () => {
    const { qrels } = joinSearchPairs(
      [served('r1', 'q', ['a', 'b', 'c'])],
      [ev('impression', 'r1', 'b'), ev('impression', 'r1', 'c'), ev('add_to_cart', 'r1', 'c')],
    );
    expect(Object.fromEntries(qrels.get(queryId('q'))!)).toEqual({ b: 0, c: 3 });
  });
});
