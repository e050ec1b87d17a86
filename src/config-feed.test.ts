import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'shelf-feed-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('SHELF_FEED_CONFIG', () => {
  it('reads feed settings from a JSON file, the rest keeping their defaults', () => {
    const p = file(
      'ok.json',
      JSON.stringify({
        weights: { uservector: 0.25, trending: 0 },
        rrf_k: 60,
        itemcf_confident_score: 11.5,
        itemcf_confident_scale: 0.2,
      }),
    );
    const feed = loadConfig({ SHELF_FEED_CONFIG: p }).feed;
    expect(feed.weights).toMatchObject({ uservector: 0.25, itemcf: 1, trending: 0, category: 0.6 });
    expect(feed.itemcf_confident_score).toBe(11.5);
    expect(feed.itemcf_confident_scale).toBe(0.2);
    expect(feed.exclude_shown).toBe(20);
  });

  it('lets SHELF_FEED_EXCLUDE_SHOWN override the file', () => {
    const p = file('shown.json', JSON.stringify({ exclude_shown: 5 }));
    expect(loadConfig({ SHELF_FEED_CONFIG: p }).feed.exclude_shown).toBe(5);
    expect(loadConfig({ SHELF_FEED_CONFIG: p, SHELF_FEED_EXCLUDE_SHOWN: '7' }).feed.exclude_shown).toBe(7);
  });

  it('stops start-up naming the variable and the field on a bad or unknown setting', () => {
    const bad = file('bad.json', JSON.stringify({ itemcf_confident_scale: 2 }));
    expect(() => loadConfig({ SHELF_FEED_CONFIG: bad })).toThrow(/SHELF_FEED_CONFIG.*itemcf_confident_scale/);
    const unknown = file('unknown.json', JSON.stringify({ rrf_kk: 10 }));
    expect(() => loadConfig({ SHELF_FEED_CONFIG: unknown })).toThrow(ConfigError);
    expect(() => loadConfig({ SHELF_FEED_CONFIG: file('list.json', '[1]') })).toThrow(/JSON object/);
    expect(() => loadConfig({ SHELF_FEED_CONFIG: file('broken.json', '{') })).toThrow(/cannot read .* as JSON/);
    expect(() => loadConfig({ SHELF_FEED_CONFIG: join(dir, 'missing.json') })).toThrow(/SHELF_FEED_CONFIG/);
  });
});
