import { describe, expect, it } from 'vitest';
import { RequestJoin, wasSeen } from './request-join.ts';

const served = (rid: string, surface: string, ids: string[]) =>
  JSON.stringify({ request_id: rid, surface, ts: 1, items: ids.map((id, i) => ({ id, position: i, score: 1 })) });
const ev = (type: string, rid: string, pid: string) => JSON.stringify({ type, request_id: rid, product_id: pid });

describe('RequestJoin (served log ⋈ events by request_id)', () => {
  it('pairs each kept response with the events naming it, by type, and counts the rest as unmatched', () => {
    const join = new RequestJoin([
      ev('impression', 'r1', 'a'),
      ev('click', 'r1', 'a'),
      ev('add_to_cart', 'r1', 'a'),
      ev('purchase', 'r2', 'b'),
      ev('click', 'r3', 'c'), // a response the caller does not keep
      ev('click', 'r9', 'z'), // not in the log
      ev('search', 'r1', 'a'), // not an engagement type
      '{not json',
    ]);
    const got = [
      ...join.responses(
        [served('r1', 'search', ['a', 'x']), served('r2', 'feed', ['b']), served('r3', 'similar', ['c']), 'nope'],
        (s) => s.surface !== 'similar',
      ),
    ];
    expect(got.map((r) => r.served.request_id)).toEqual(['r1', 'r2']);
    const r1 = got[0]!.events!;
    expect([...r1.impression, ...r1.click, ...r1.add_to_cart, ...r1.purchase]).toEqual(['a', 'a', 'a']);
    expect([...got[1]!.events!.purchase]).toEqual(['b']);
    expect(join.unmatched((e) => e.click.size + e.purchase.size)).toBe(2);
    // Seen: impressed, or every shown item when the response logged no impressions.
    expect(wasSeen(r1, 'a')).toBe(true);
    expect(wasSeen(r1, 'x')).toBe(false);
    expect(wasSeen(got[1]!.events, 'b')).toBe(true);
    expect(wasSeen(undefined, 'q')).toBe(true);
  });
});
