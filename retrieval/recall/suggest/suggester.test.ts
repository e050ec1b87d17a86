import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../../behavior/embedded/sqlite-event-log.ts';
import type { ServedEntry } from '../../../behavior/served-log.ts';
import { parseProduct, type Product } from '../../../core/catalog/product.ts';
import type { IndexSnapshot, SnapshotSource } from '../../index/stores.ts';
import { CompletionIndex } from './completion-index.ts';
import { SuggestConfigSchema } from './config.ts';
import { Suggester } from './suggester.ts';
import { typedPrefix } from './text.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');

function product(id: string, title: string, category?: string, brand?: string): Product {
  const r = parseProduct({ id, title, category, brand });
  if (!r.ok) throw new Error(r.reason);
  return r.product;
}

const CATALOG = [
  product('p1', 'Trail Running Shoes', 'Sports/Footwear/Running Shoes', 'Nike'),
  product('p2', 'Road Running Shoes', 'Sports/Footwear/Running Shoes', 'Nike'),
  product('p3', 'Running Jacket Waterproof', 'Clothing/Outerwear/Jackets', 'Runfast'),
  product('p4', 'Café Crème Coffee Beans', 'Grocery/Coffee', 'Lavazza'),
  product('p5', 'Rugged Hiking Boots', 'Sports/Footwear/Boots', 'Salomon'),
  product('p6', '李宁 保暖外套 男款', '服饰/男装/外套', '李宁'),
  product('p7', '保暖羽绒外套 女款', '服饰/女装/外套', '波司登'),
  product('p8', 'Running Socks 3 pack', 'Sports/Footwear/Socks', 'Nike'),
];

/** The served index as the suggester sees it: a generation and a text store it reads products from. */
class FakeIndex implements SnapshotSource {
  reads = 0;
  /** Product reads (text.get) still to fail, as a server that went away would. */
  failGets = 0;
  constructor(
    public generation: string | undefined,
    public products: Product[],
  ) {}
  async withSnapshot<T>(fn: (s: IndexSnapshot | undefined) => Promise<T>): Promise<T> {
    const products = new Map(this.products.map((p) => [p.id, p]));
    const generation = this.generation;
    this.reads++;
    const text = {
      // A content hash, as every store keeps: an edit in place changes it.
      hashes: async () => new Map([...products].map(([id, p]) => [id, JSON.stringify(p)])),
      count: async () => products.size,
      get: async (ids: string[]) => {
        if (this.failGets > 0 && this.failGets--) throw new Error('connection refused');
        return new Map(ids.flatMap((id) => (products.has(id) ? [[id, products.get(id)!]] : [])));
      },
    };
    return fn(generation === undefined ? undefined : ({ generation, text } as unknown as IndexSnapshot));
  }
}

// A small catalog: a phrase in one title is suggested (the default asks for two).
const config = (over: Record<string, unknown> = {}) =>
  SuggestConfigSchema.parse({ min_query_count: 2, min_phrase_products: 1, ...over });
const opened: Suggester[] = [];
/** What each suggester built, by suggester. */
const builds = new Map<Suggester, Array<{ mode: string; changed: number; generation: string | undefined }>>();
async function suggester(index: SnapshotSource, served?: SqliteEventLog, over: Record<string, unknown> = {}) {
  const seen: Array<{ mode: string; changed: number; generation: string | undefined }> = [];
  const s = new Suggester({
    config: config(over),
    index,
    served,
    now: () => NOW,
    onBuilt: (b) => seen.push({ mode: b.mode, changed: b.changed, generation: b.generation }),
  });
  builds.set(s, seen);
  opened.push(s);
  await s.start();
  return s;
}
afterEach(async () => {
  while (opened.length > 0) await opened.pop()!.close();
});

const texts = (s: Suggester, q: string, size = 10) => s.suggest(q, size).suggestions.map((x) => x.text);

function search(query: string, total: number, subject: string, ts = NOW, position = 0): ServedEntry {
  return {
    request_id: `r-${Math.random()}`,
    surface: 'search',
    ts,
    subject,
    query,
    total,
    items: total > 0 ? [{ id: 'p1', position, score: 1 }] : [],
  };
}

async function served(entries: ServedEntry[]): Promise<SqliteEventLog> {
  const log = new SqliteEventLog({ file: ':memory:', pollMs: 10 });
  await log.appendRaw(entries.map((e) => ({ key: e.request_id, value: JSON.stringify(e) })));
  return log;
}

/** Waits until the served-log reader folded `n` distinct queries, then re-ranks. */
async function caughtUp(s: Suggester, n: number) {
  for (let i = 0; i < 200 && s.trackedQueries < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(s.trackedQueries).toBe(n);
  s.refreshQueries();
}

describe('catalog suggestions', () => {
  it('complete the last word typed, from titles, categories and brands, by product count', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG));
    const got = s.suggest('run', 10).suggestions;
    // "running" is in 4 titles; the category "Running Shoes" holds 2 products; the brand Runfast 1.
    expect(got[0]).toEqual({ text: 'running', source: 'title', count: 4 });
    expect(got).toContainEqual({
      text: 'Running Shoes',
      source: 'category',
      count: 2,
      category: 'Sports/Footwear/Running Shoes',
    });
    expect(got).toContainEqual({ text: 'Runfast', source: 'brand', count: 1 });
    const counts = got.map((x) => x.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    // Every suggestion has a word starting with "run".
    for (const x of got) expect(x.text.toLowerCase()).toMatch(/(^|\s)run/);
    expect(texts(s, 'hik')).toEqual(['hiking', 'hiking boots']);
  });

  it('leave out a title phrase fewer than min_phrase_products titles share', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG), undefined, { min_phrase_products: 2 });
    expect(texts(s, 'hik')).toEqual(['hiking']);
    expect(texts(s, 'trail')).toEqual(['trail']);
  });

  it('keep the earlier words as a phrase and complete the last one', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG));
    expect(texts(s, 'running sh')).toEqual(['Running Shoes']);
    expect(texts(s, 'trail run')).toEqual(['trail running', 'trail running shoes']);
    // A trailing space: the word is complete, only phrases going on after it.
    expect(texts(s, 'running ')).not.toContain('running');
    expect(texts(s, 'running ')).toContain('Running Shoes');
    expect(texts(s, 'runningx')).toEqual([]);
  });

  it('are case, accent and width insensitive', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG));
    expect(texts(s, 'CAFE')).toEqual(['café', 'café crème', 'café crème coffee']);
    expect(texts(s, 'café cre')).toEqual(['café crème', 'café crème coffee']);
    expect(texts(s, 'ＲＵＮＮＩＮＧ ＳＨ')).toEqual(['Running Shoes']);
    expect(texts(s, 'shoes')[0]).toBe('shoes');
  });

  it('complete Chinese by characters, from jieba words', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG));
    const warm = s.suggest('保暖', 10).suggestions;
    expect(warm[0]).toEqual({ text: '保暖', source: 'title', count: 2 });
    expect(warm.map((x) => x.text)).toContain('保暖外套');
    // Typed in the middle of a word: still a prefix of the phrase.
    expect(texts(s, '保暖外')).toContain('保暖外套');
    // A category is found from its own name (two nodes share it with one product each: the first path in code-unit order stands, however the catalog was read).
    expect(s.suggest('外套', 10).suggestions).toContainEqual({
      text: '外套',
      source: 'category',
      count: 1,
      category: '服饰/女装/外套',
    });
    expect(texts(s, '李')).toContain('李宁');
  });

  it('size bounds the answer; text without a letter or digit completes nothing', async () => {
    const s = await suggester(new FakeIndex('g1', CATALOG));
    expect(s.suggest('r', 2).suggestions).toHaveLength(2);
    expect(texts(s, '   ')).toEqual([]);
    expect(texts(s, '?!')).toEqual([]);
  });

  it('follow the served generation: a new catalog is built beside the old one, which answers meanwhile', async () => {
    const index = new FakeIndex('g1', CATALOG);
    const s = await suggester(index);
    expect(texts(s, 'kayak')).toEqual([]);
    index.products = [...CATALOG, product('p9', 'Sea Kayak Paddle', 'Sports/Water/Kayaks', 'Aqua')];
    index.generation = 'g2';
    // The request that notices the switch is answered from g1 (no wait); g2 is built behind it.
    expect(s.suggest('kayak', 5)).toEqual({ suggestions: [], generation: 'g1' });
    await s.followIndex();
    expect(s.generation).toBe('g2');
    expect(texts(s, 'kayak')).toEqual(['kayak', 'kayak paddle', 'Kayaks']);
  });
});

describe('catalog suggestions under one generation', () => {
  it('are rebuilt when the product count changes, and after catalog_refresh_ms for edits in place', async () => {
    const index = new FakeIndex('es-index-1', CATALOG);
    const s = await suggester(index, undefined, { catalog_refresh_ms: 1000 });
    const reads = index.reads;
    await s.checkCatalog();
    expect(index.reads).toBe(reads + 1); // the count only
    // Production writes in place: same generation, one more product.
    index.products = [...CATALOG, product('p9', 'Sea Kayak Paddle', 'Sports/Water/Kayaks', 'Aqua')];
    await s.checkCatalog();
    expect(texts(s, 'kayak')).toEqual(['kayak', 'kayak paddle', 'Kayaks']);
    // A title edited in place: the count is the same; picked up once the build is catalog_refresh_ms old.
    index.products = index.products.map((p) => (p.id === 'p9' ? { ...p, title: 'Sea Canoe Paddle' } : p));
    await s.checkCatalog();
    expect(texts(s, 'canoe')).toEqual([]);
    await new Promise((r) => setTimeout(r, 1000));
    await s.checkCatalog();
    expect(texts(s, 'canoe')).toEqual(['canoe', 'canoe paddle']);
  });
});

describe('catalog suggestions follow a change by the products it touched', () => {
  /** Every prefix of every word the catalogs write (Chinese: of every run), a few whole phrases. */
  function prefixesOf(...catalogs: Product[][]): string[] {
    const out = new Set<string>(['running sh', 'trail run', 'café cre', '保暖外', 'sea k']);
    for (const p of catalogs.flat())
      for (const text of [p.title, p.category ?? '', p.brand ?? ''])
        for (const w of text.toLowerCase().split(/[\s/]+/))
          for (let n = 1; n <= Array.from(w).length; n++) out.add(Array.from(w).slice(0, n).join(''));
    return [...out].sort();
  }
  /** What a suggester answers for every prefix of both catalogs. */
  const answers = (s: Suggester, prefixes: string[]) => prefixes.map((q) => [q, s.suggest(q, 20).suggestions]);

  const CHANGED = [
    ...CATALOG.filter((p) => p.id !== 'p5' && p.id !== 'p7').map((p) =>
      p.id === 'p1' ? { ...p, title: 'Trail Running Sneakers Waterproof' } : p.id === 'p8' ? { ...p, price: 9 } : p,
    ),
    product('p9', 'Sea Kayak Paddle', 'Sports/Water/Kayaks', 'Aqua'),
  ];

  it('update the keys of the products changed, to what a full build of the new catalog holds', async () => {
    const index = new FakeIndex('g1', CATALOG);
    const s = await suggester(index);
    expect(texts(s, 'hik')).toEqual(['hiking', 'hiking boots']);
    index.products = CHANGED;
    index.generation = 'g2';
    await s.followIndex();
    // p1 retitled, p5 and p7 removed, p9 added; p8's price edit changes no suggestion (read, not counted again).
    expect(builds.get(s)).toEqual([
      { mode: 'full', changed: 8, generation: 'g1' },
      { mode: 'incremental', changed: 4, generation: 'g2' },
    ]);
    // A key whose count dropped to zero is gone; a count that dropped is lower; new keys are there.
    expect(texts(s, 'hik')).toEqual([]);
    expect(texts(s, 'boots')).toEqual([]);
    expect(s.suggest('running', 1).suggestions).toEqual([{ text: 'running', source: 'title', count: 4 }]);
    expect(s.suggest('sho', 10).suggestions).toContainEqual({ text: 'shoes', source: 'title', count: 1 });
    expect(texts(s, 'sneak')).toEqual(['sneakers', 'sneakers waterproof']);
    expect(texts(s, '羽绒')).toEqual([]);
    expect(texts(s, 'kayak')).toEqual(['kayak', 'kayak paddle', 'Kayaks']);
    const full = await suggester(new FakeIndex('g2', CHANGED));
    const prefixes = prefixesOf(CATALOG, CHANGED);
    expect(prefixes.length).toBeGreaterThan(100);
    expect(answers(s, prefixes)).toEqual(answers(full, prefixes));
  });

  it('a change and its undoing leave what the first build had', async () => {
    const index = new FakeIndex('g1', CATALOG);
    const s = await suggester(index);
    const prefixes = prefixesOf(CATALOG, CHANGED);
    const before = answers(s, prefixes);
    index.products = CHANGED;
    index.generation = 'g2';
    await s.followIndex();
    index.products = CATALOG;
    index.generation = 'g3';
    await s.followIndex();
    expect(builds.get(s)!.map((b) => b.mode)).toEqual(['full', 'incremental', 'incremental']);
    expect(answers(s, prefixes)).toEqual(before);
  });

  it('show each text as the catalog most often writes it, whatever order the products were read in', async () => {
    const a = product('a1', 'Crème Brûlée Torch', 'Kitchen/Torches', 'CHEFMATE');
    const b = product('a2', 'Creme Brulee Torch', 'Kitchen/Torches', 'ChefMate');
    const c = product('a3', 'Creme Brulee Set', 'kitchen/torches', 'ChefMate');
    const index = new FakeIndex('g1', [a, b, c]);
    const s = await suggester(index);
    expect(texts(s, 'creme')).toEqual(['creme', 'creme brulee', 'creme brulee torch', 'creme brulee set']);
    expect(s.suggest('chef', 1).suggestions).toEqual([{ text: 'ChefMate', source: 'brand', count: 3 }]);
    expect(s.suggest('torches', 1).suggestions).toEqual([
      { text: 'Torches', source: 'category', count: 3, category: 'Kitchen/Torches' },
    ]);
    index.products = [a, c];
    index.generation = 'g2';
    await s.followIndex();
    // One each way now: the first in code-unit order, in either read order and after the update alike.
    expect(s.suggest('chef', 1).suggestions).toEqual([{ text: 'CHEFMATE', source: 'brand', count: 2 }]);
    const prefixes = ['c', 'cr', 'creme', 'crème', 'creme brulee t', 'b', 'chef', 'k', 'kitchen', 't', 'torch', 's'];
    for (const order of [
      [a, c],
      [c, a],
    ])
      expect(answers(s, prefixes)).toEqual(answers(await suggester(new FakeIndex('g2', order)), prefixes));
  });

  it('build in full again after an update that failed half-way (the old index answers meanwhile)', async () => {
    const index = new FakeIndex('g1', CATALOG);
    const errors: Error[] = [];
    const modes: string[] = [];
    // Not started: no timer, the test drives every read (a failed read backs off for refresh_ms).
    const s = new Suggester({
      config: config({ refresh_ms: 100 }),
      index,
      now: () => NOW,
      onError: (err) => errors.push(err),
      onBuilt: (b) => modes.push(b.mode),
    });
    opened.push(s);
    await s.followIndex();
    index.products = CHANGED;
    index.generation = 'g2';
    index.failGets = 1;
    await s.followIndex();
    expect(errors.map((e) => e.message)).toEqual(['connection refused']);
    expect(s.generation).toBe('g1');
    expect(texts(s, 'hik')).toEqual(['hiking', 'hiking boots']);
    // Retried after the back-off: in full, since the counts no longer match the index.
    await new Promise((r) => setTimeout(r, 120));
    await s.followIndex();
    expect(modes).toEqual(['full', 'full']);
    expect(s.generation).toBe('g2');
    expect(texts(s, 'kayak')).toEqual(['kayak', 'kayak paddle', 'Kayaks']);
  });
});

describe('popular queries', () => {
  it('come first, by count, once there is traffic; never a query that found nothing', async () => {
    const log = await served([
      ...['ann', 'bob', 'cy'].map((u) => search('running shoes for trail', 12, u)),
      ...['ann', 'bob'].map((u) => search('Running Socks', 3, u)),
      // Popular, but nothing found: never suggested.
      ...['ann', 'bob', 'cy', 'dee'].map((u) => search('running hat', 0, u)),
      // Found things, then stopped finding them (the catalog changed): not suggested any more.
      search('running vest', 4, 'ann', NOW - 2 * DAY),
      search('running vest', 4, 'bob', NOW - DAY),
      search('running vest', 0, 'cy', NOW),
    ]);
    const s = await suggester(new FakeIndex('g1', CATALOG), log);
    await caughtUp(s, 3);
    const got = s.suggest('run', 4).suggestions;
    expect(got.slice(0, 2)).toEqual([
      { text: 'running shoes for trail', source: 'query', count: 3 },
      { text: 'running socks', source: 'query', count: 2 },
    ]);
    // Then the catalog; a query shown is not shown again as a title phrase.
    expect(got[2]).toEqual({ text: 'running', source: 'title', count: 4 });
    const all = texts(s, 'running', 50);
    expect(all).not.toContain('running hat');
    expect(all).not.toContain('running vest');
    expect(all.filter((t) => t.toLowerCase() === 'running socks')).toHaveLength(1);
    // Found from a later word too.
    expect(texts(s, 'trail', 1)).toEqual(['running shoes for trail']);
    await log.close();
  });

  it('count a shopper once a day, page 1 only, and need min_query_count searches in the window', async () => {
    const log = await served([
      // One shopper retyping and paging: one search.
      ...Array.from({ length: 5 }, () => search('hiking boots', 9, 'ann')),
      search('hiking boots', 9, 'ann', NOW, 10),
      // Two shoppers, but one of them 40 days ago (outside the 30-day window).
      search('hiking poles', 2, 'ann', NOW - 40 * DAY),
      search('hiking poles', 2, 'bob'),
      // Two shoppers: popular.
      search('hiking socks', 2, 'ann'),
      search('hiking socks', 2, 'bob'),
    ]);
    const s = await suggester(new FakeIndex('g1', CATALOG), log);
    await caughtUp(s, 3);
    const queries = s.suggest('hik', 10).suggestions.filter((x) => x.source === 'query');
    expect(queries).toEqual([{ text: 'hiking socks', source: 'query', count: 2 }]);
    await log.close();
  });

  it('Chinese queries, found from a later word too', async () => {
    const log = await served([search('保暖外套', 5, 'ann'), search('保暖外套', 5, 'bob')]);
    const s = await suggester(new FakeIndex('g1', CATALOG), log);
    await caughtUp(s, 1);
    expect(s.suggest('保暖', 1).suggestions).toEqual([{ text: '保暖外套', source: 'query', count: 2 }]);
    expect(s.suggest('外套', 1).suggestions).toEqual([{ text: '保暖外套', source: 'query', count: 2 }]);
    await log.close();
  });

  it('keep arriving while the service runs', async () => {
    const log = await served([]);
    const s = await suggester(new FakeIndex('g1', CATALOG), log);
    expect(s.suggest('boots', 5).suggestions.filter((x) => x.source === 'query')).toEqual([]);
    await log.appendRaw(
      ['ann', 'bob'].map((u) => {
        const e = search('boots waterproof', 7, u);
        return { key: e.request_id, value: JSON.stringify(e) };
      }),
    );
    await caughtUp(s, 1);
    expect(s.suggest('boots', 1).suggestions).toEqual([{ text: 'boots waterproof', source: 'query', count: 2 }]);
    await log.close();
  });
});

describe('CompletionIndex', () => {
  it('returns the best k of a prefix range of any size, each entry once, ties in key order', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({
      keys: [`w${String(i).padStart(4, '0')}`, `x${i}`],
      score: (i * 7919) % 1000,
      value: i,
    }));
    const index = new CompletionIndex(entries);
    expect(index.size).toBe(10_000);
    const brute = (p: string, k: number) =>
      entries
        .filter((e) => e.keys.some((key) => key.startsWith(p)))
        .sort((a, b) => b.score - a.score || a.keys[0]!.localeCompare(b.keys[0]!))
        .slice(0, k)
        .map((e) => e.score);
    for (const p of ['', 'w', 'w1', 'w12', 'w0999', 'x4', 'y']) {
      const got = index.complete(p, 10);
      expect(got.map((h) => h.score)).toEqual(brute(p, 10));
      expect(new Set(got.map((h) => h.value)).size).toBe(got.length);
    }
  });

  it('updated() equals an index built in full from the same entries', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const word = () => ['ab', 'abc', 'b', 'ba', 'bab', 'c', 'ca'][rand(7)]!;
    const entry = (own: string) => ({ keys: [own, word(), `${word()} ${own}`], score: rand(5), value: own });
    let current = new Map<string, ReturnType<typeof entry>>();
    for (let i = 0; i < 300; i++) {
      const own = `${word()}${i}`;
      current.set(own, entry(own));
    }
    let index = new CompletionIndex([...current.values()]);
    for (let round = 0; round < 5; round++) {
      const changes = new Map<string, ReturnType<typeof entry> | undefined>();
      for (let i = 0; i < 40; i++) {
        const own = `${word()}${rand(360)}`;
        // Removed, rescored or rekeyed, or new.
        changes.set(own, rand(3) === 0 ? undefined : entry(own));
      }
      index = index.updated(changes);
      current = new Map(current);
      for (const [own, e] of changes) e ? current.set(own, e) : current.delete(own);
      const full = new CompletionIndex([...current.values()]);
      expect(index.size).toBe(full.size);
      for (const p of ['', 'a', 'ab', 'abc1', 'b', 'ba', 'bab ', 'c', 'ca 1', 'x'])
        expect(index.complete(p, 15)).toEqual(full.complete(p, 15));
    }
  });

  it('typed text keys: accents folded, trailing space kept after a word, CJK joined', () => {
    expect(typedPrefix('Crème  Brûlée')).toBe('creme brulee');
    expect(typedPrefix('running ')).toBe('running ');
    expect(typedPrefix('nike跑步')).toBe('nike 跑步');
    expect(typedPrefix('保暖 外套')).toBe('保暖外套');
    expect(typedPrefix(' - ')).toBeUndefined();
    // The search analyzer's words: an apostrophe splits ("men's" is "men" "s", as search matches it).
    expect(typedPrefix("Men's Sh")).toBe('men s sh');
  });
});
