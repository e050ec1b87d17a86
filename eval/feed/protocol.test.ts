import { describe, expect, it } from 'vitest';
import type { Interaction } from './sequential-data.ts';
import { dropRepeats, groupByUser, leaveLastOut, phaseEvents, phaseView } from './protocol.ts';

const row = (user: string, item: string, ts: number): Interaction => ({ user, item, ts, type: 'view' });

describe('leave-last-out split', () => {
  const rows = [
    row('a', 'x', 3),
    row('a', 'w', 1),
    row('a', 'y', 4),
    row('a', 'z', 5),
    row('b', 'x', 1),
    row('b', 'y', 2),
    row('a', 'v', 2),
  ];

  it('orders each user by time and holds out the last two items', () => {
    expect(
      groupByUser(rows)
        .get('a')!
        .map((r) => r.item),
    ).toEqual(['w', 'v', 'x', 'y', 'z']);
    const split = leaveLastOut(rows);
    expect(split.users.map((u) => u.user)).toEqual(['a']);
    const a = split.users[0]!;
    expect([a.valid.item, a.test.item]).toEqual(['y', 'z']);
    expect(split.shortUsers.map((r) => r.item)).toEqual(['x', 'y']);
    expect(split.items.sort()).toEqual(['v', 'w', 'x', 'y', 'z']);
  });

  it("never replays a phase's own targets (or later items) into its state", () => {
    const split = leaveLastOut(rows);
    const valid = phaseEvents(split, 'valid');
    expect(valid.filter((r) => r.user === 'a').map((r) => r.item)).toEqual(['w', 'v', 'x']);
    expect(valid.filter((r) => r.user === 'b')).toHaveLength(2);
    const test = phaseEvents(split, 'test');
    expect(test.filter((r) => r.user === 'a').map((r) => r.item)).toEqual(['w', 'v', 'x', 'y']);
    expect(phaseView(split.users[0]!, 'valid').target.item).toBe('y');
    expect(phaseView(split.users[0]!, 'test').target.item).toBe('z');
  });

  it('drops re-interactions by default, keeps them on request', () => {
    const seq = [row('a', 'x', 1), row('a', 'y', 2), row('a', 'x', 3), row('a', 'z', 4)];
    expect(dropRepeats(seq).map((r) => r.item)).toEqual(['x', 'y', 'z']);
    expect(leaveLastOut(seq).users[0]!.valid.item).toBe('y');
    expect(leaveLastOut(seq, 'keep').users[0]!.valid.item).toBe('x');
  });
});
