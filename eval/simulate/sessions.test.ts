import { describe, expect, it } from 'vitest';
import { buildWorld, buyProb, clickProb, examine } from './world.ts';
import { parseTaobaoShapes, requestTimes } from './sessions.ts';
import { ndcg } from './run.ts';

describe('simulator', () => {
  it('splits real Taobao page views into visits at 30-minute gaps', () => {
    const csv = ['1,10,5,pv,1000', '1,11,5,pv,1060', '1,12,5,buy,1100', '1,13,5,pv,4000', '2,10,5,pv,50', ''].join(
      '\n',
    );
    const shapes = parseTaobaoShapes(csv);
    expect(shapes.map((s) => s.taobaoUser)).toEqual(['1', '2']);
    expect(shapes[0]!.visits.map((v) => v.offsets)).toEqual([[0, 60], [3000]]);
    expect(requestTimes(shapes[0]!, 1, 1)).toEqual([[0]]);
  });

  it('hidden preferences drive clicks and purchases; the top slot is examined most', () => {
    const products = [
      { id: 'a', title: 'A', category: 'Sports/Shoes', brand: 'Nike', price: 80, in_stock: true },
      { id: 'b', title: 'B', category: 'Books/Novels', brand: 'Penguin', price: 12, in_stock: true },
      { id: 'c', title: 'C', category: 'Toys/Blocks', brand: 'Lego', price: 40, in_stock: true },
    ];
    const w = buildWorld(products, 5, 1);
    const u = w.users[0]!;
    const fav = w.products.find((p) => u.cats.get(p.top) === 1)!;
    const other = w.products.find((p) => !u.cats.has(p.top));
    if (other) expect(clickProb(u, { ...fav, appeal: 0 })).toBeGreaterThan(clickProb(u, { ...other, appeal: 0 }));
    expect(buyProb(u, fav)).toBeGreaterThan(0);
    expect(examine(0)).toBe(1);
    expect(examine(5)).toBeLessThan(examine(1));
  });

  it('nDCG@k is 1 for the ideal order and lower otherwise', () => {
    const g = new Map([
      ['a', 1],
      ['b', 0],
      ['c', 1],
    ]);
    expect(ndcg(['a', 'c', 'b'], g, 10)).toBe(1);
    expect(ndcg(['b', 'a', 'c'], g, 10)).toBeLessThan(1);
  });
});
