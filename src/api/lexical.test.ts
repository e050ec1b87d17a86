import { beforeAll, describe, expect, it } from 'vitest';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import type { Service } from '../service.ts';

/**
 * The search box on the demo catalog as a shopper types into it: misspelt words, synonyms the
 * shop defines, Chinese words, highlighted matches.
 */
let shop: DemoShop;
beforeAll(async () => {
  shop = await demoShop('lexical');
}, 120_000);

const KEY = 'test-admin-key-lexical';
const env = { SHELF_ADMIN_API_KEY: KEY };
type Item = { id: string; title: string; category?: string; highlight?: { title: string; description?: string } };
const search = async (s: Service, q: string, extra = '') => {
  const res = await s.app.request(`/v1/search?q=${encodeURIComponent(q)}&size=10&debug=true${extra}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Item[]; debug: { lexical: Record<string, unknown> } };
};

describe('typo tolerance on the demo catalog', () => {
  it('"runing shoos" and "headphnes" have a running shoe / a headphone in their top 3, and say what was corrected', async () => {
    await shop.withService(env, async (s) => {
      const shoes = await search(s, 'runing shoos');
      expect(shoes.items.slice(0, 3).some((i) => /running shoe/i.test(`${i.category} ${i.title}`))).toBe(true);
      const corrected = shoes.debug.lexical.corrected as Array<{ term: string; to: string[] }>;
      expect(corrected.find((c) => c.term === 'runing')!.to).toContain('running');
      expect(corrected.find((c) => c.term === 'shoos')!.to).toContain('shoes');
      const phones = await search(s, 'headphnes');
      expect(phones.items.slice(0, 3).some((i) => /headphone/i.test(`${i.category} ${i.title}`))).toBe(true);
      expect(phones.debug.lexical.corrected).toEqual([{ term: 'headphnes', to: ['headphones'] }]);
    });
  });
});

describe('Chinese words on the demo catalog', () => {
  it('保暖外套 ("warm coat") finds coats or jackets, or nothing — never toys or bedding', async () => {
    await shop.withService(env, async (s) => {
      const r = await search(s, '保暖外套');
      for (const i of r.items) expect(i.category).toMatch(/Outerwear|Jackets|外套|服装/);
      // Words still find what they name.
      expect((await search(s, '四件套')).items.slice(0, 3).every((i) => /床品套件/.test(i.category!))).toBe(true);
      expect((await search(s, '遥控车')).items[0]!.category).toMatch(/遥控车/);
    });
  });
});

describe('synonyms', () => {
  const admin = (s: Service, method: string, body?: unknown, key = KEY) =>
    s.app.request('/v1/admin/synonyms', {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  it('PUT replaces the set (admin key), search applies it with its version in debug, GET reads it, DELETE clears it', async () => {
    await shop.withService(env, async (s) => {
      expect((await admin(s, 'PUT', { synonyms: [] }, 'wrong')).status).toBe(401);
      // "sofa" appears nowhere in the demo catalog: without a rule it finds nothing lexically.
      const before = await search(s, 'sofa');
      expect(before.items.some((i) => /Notebook/i.test(i.title))).toBe(false);
      const put = await admin(s, 'PUT', { synonyms: [['tv', 'television'], { from: 'sofa', to: ['notebook'] }] });
      expect(put.status).toBe(200);
      const set = await put.json();
      expect(set).toMatchObject({ synonyms: [['tv', 'television'], { from: 'sofa', to: ['notebook'] }] });
      const after = await search(s, 'sofa');
      expect(after.items[0]!.title).toMatch(/Notebook/);
      expect(after.debug.lexical).toMatchObject({
        synonyms: [{ term: 'sofa', to: ['notebook'] }],
        synonyms_version: set.version,
      });
      // One way: "notebook" is not expanded to "sofa".
      expect((await search(s, 'notebook')).debug.lexical.synonyms).toEqual([]);
      expect(await (await admin(s, 'GET')).json()).toEqual(set);
      const cleared = await (await admin(s, 'DELETE')).json();
      expect(cleared).toMatchObject({ version: set.version + 1, synonyms: [] });
      expect((await search(s, 'sofa')).debug.lexical.synonyms_version).toBe(set.version + 1);
      // A bad rule is a 400 naming it.
      const bad = await admin(s, 'PUT', { synonyms: [['only-one']] });
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.field).toBe('synonyms.0');
    });
  });
});

describe('highlighting', () => {
  it('highlight=true marks the lexical matches, corrected words and Chinese words too, HTML-escaped', async () => {
    await shop.withService(env, async (s) => {
      const r = await search(s, 'runing shoes', '&highlight=true');
      const top = r.items[0]!;
      expect(top.highlight!.title).toMatch(/<em>Running<\/em> <em>Shoes<\/em>/);
      const zh = await search(s, '跑步鞋', '&highlight=true');
      expect(zh.items[0]!.highlight!.title).toContain('<em>跑步</em>');
      const plain = await search(s, 'runing shoes');
      expect(plain.items[0]!.highlight).toBeUndefined();
      const escaped = await search(s, 'hammer', '&highlight=true');
      const h = escaped.items.find((i) => i.title.includes('&'))!.highlight!.title;
      expect(h).toContain('&amp;');
      expect(h).toContain('<em>Hammer</em>');
    });
  });
});
