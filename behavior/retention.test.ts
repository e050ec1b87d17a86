import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { behaviorConfig, ev, items } from '../test/helpers/behavior-stream.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { startConsumer } from './consumer.ts';
import { SqliteEventLog } from './embedded/sqlite-event-log.ts';
import { SqliteStateStore } from './embedded/sqlite-state-store.ts';
import { DAY_MS, RetentionConfigSchema, type RetentionConfig } from './retention-config.ts';
import { startRetention, type RetainedStore } from './retention.ts';

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function openStores() {
  const dir = tempDir('shelf-retention-');
  dirs.push(dir);
  const log = new SqliteEventLog({ file: path.join(dir, 'events.sqlite'), pollMs: 10, retryMs: 10 });
  const served = new SqliteEventLog({ file: path.join(dir, 'served.sqlite'), pollMs: 10 });
  const state = new SqliteStateStore({
    file: path.join(dir, 'state.sqlite'),
    trendingHalfLifeMs: behaviorConfig.trending_half_life_ms,
  });
  closers.push(async () => {
    await log.close();
    await served.close();
    await state.close();
  });
  return { dir, log, served, state };
}

const config = (over: Record<string, unknown> = {}): RetentionConfig => RetentionConfigSchema.parse(over);
const rows = (file: string, table: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Runs a consumer until it has applied `n` more events, then stops it (its position committed). */
async function consumeUntil(s: ReturnType<typeof openStores>, total: number, group = 'shelf-state') {
  const c = await startConsumer({ log: s.log, state: s.state, items, config: behaviorConfig, group });
  const deadline = Date.now() + 10_000;
  while (c.stats.applied + c.stats.duplicates < total && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  await c.stop();
  return c.stats;
}

describe('retention (embedded stores)', () => {
  it('prunes the event log only below every consumer group’s committed position', async () => {
    const s = openStores();
    const first = Array.from({ length: 300 }, (_, i) => ev({ type: 'view', product_id: 'shoe', user_id: `a${i}` }));
    await s.log.append(first);
    // Before any consumer exists, nothing is known to be applied: nothing goes, however old.
    const farFuture = () => Date.now() + 400 * DAY_MS;
    const r0 = startRetention({ ...s, config: config(), now: farFuture }, false);
    expect(await r0.run()).toMatchObject({ events: 0 });

    expect((await consumeUntil(s, 300)).applied).toBe(300);
    // A second group (a training export, say) that has committed only the first 100 pins the rest.
    const file = path.join(s.dir, 'events.sqlite');
    const offsets = new Database(file);
    offsets.prepare(`INSERT INTO offsets (grp, position) VALUES ('export', 100)`).run();
    const second = Array.from({ length: 200 }, (_, i) => ev({ type: 'click', product_id: 'sock', user_id: `b${i}` }));
    await s.log.append(second); // not applied by anyone yet

    const pruned: Array<[RetainedStore, number]> = [];
    const r = startRetention(
      { ...s, config: config({ chunk_rows: 40 }), now: farFuture, onPruned: (st, n) => pruned.push([st, n]) },
      false,
    );
    expect((await r.run()).events).toBe(100);
    expect(pruned.filter(([st]) => st === 'events')).toEqual([['events', 100]]);
    // Without that group, the consumer's position (300) is the floor: the 200 unapplied stay.
    offsets.prepare(`DELETE FROM offsets WHERE grp = 'export'`).run();
    offsets.close();
    expect((await r.run()).events).toBe(200);
    expect(rows(file, 'log')).toBe(200);
    expect(await r.run()).toMatchObject({ events: 0 });

    // Every event survives until applied: the consumer picks up all 200 after the pruning.
    const after = await consumeUntil(s, 200);
    expect(after.applied).toBe(200);
    expect(after.duplicates).toBe(0);
    expect(await s.state.applied(second.map((e) => e.event_id))).toHaveProperty('size', 200);
  });

  it('a byte cap on the event log also stops at the committed position', async () => {
    const s = openStores();
    const evs = Array.from({ length: 400 }, (_, i) =>
      ev({ type: 'view', product_id: 'pan', user_id: `c${i}`, query: 'x'.repeat(500) }),
    );
    await s.log.append(evs.slice(0, 200));
    await consumeUntil(s, 200);
    await s.log.append(evs.slice(200));
    const r = startRetention(
      { ...s, config: config({ events: { days: 0, bytes: 1024 }, applied: { days: 0 } }) },
      false,
    );
    expect((await r.run()).events).toBe(200);
    expect(rows(path.join(s.dir, 'events.sqlite'), 'log')).toBe(200);
  });

  it('prunes the served log by age and by size, in chunks, without any consumer', async () => {
    const s = openStores();
    const entry = (i: number) => ({
      key: `r${i}`,
      value: JSON.stringify({ request_id: `r${i}`, pad: 'y'.repeat(2000) }),
    });
    await s.served.appendRaw(Array.from({ length: 500 }, (_, i) => entry(i)));
    const file = path.join(s.dir, 'served.sqlite');
    const pageCount = () => {
      const db = new Database(file, { readonly: true });
      const n = db.pragma('page_count', { simple: true }) as number;
      db.close();
      return n;
    };
    const pagesBefore = pageCount();
    expect(pagesBefore).toBeGreaterThan(500);
    // Size: 500 rows of ~2 KB (one 4 KiB page each) ≈ 2 MB held; a 256 KiB cap keeps the newest ~60.
    const bySize = startRetention({ ...s, config: config({ served: { days: 0, bytes: 256 * 1024 } }) }, false);
    const cut = (await bySize.run()).served!;
    expect(cut).toBeGreaterThan(420);
    expect(cut).toBeLessThan(460);
    const left = rows(file, 'log');
    // The newest are the ones kept.
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT max(position) AS p FROM log').get() as { p: number }).p).toBe(500);
    db.close();
    // Pages given back to the file system (new files are auto_vacuum=incremental).
    expect(pageCount()).toBeLessThan(pagesBefore / 5);

    // Age: a chunk size of 25 and 3 chunks per pass → at most 75 per pass.
    const byAge = startRetention(
      { ...s, config: config({ chunk_rows: 25, max_chunks: 3 }), now: () => Date.now() + 31 * DAY_MS },
      false,
    );
    expect((await byAge.run()).served).toBe(Math.min(75, left));
    while (((await byAge.run()).served ?? 0) > 0);
    expect(rows(file, 'log')).toBe(0);
    // Within the window nothing goes.
    await s.served.appendRaw([entry(1000)]);
    const inWindow = startRetention({ ...s, config: config() }, false);
    expect((await inWindow.run()).served).toBe(0);
  });

  it('forgets applied event ids past their window, and only those', async () => {
    const s = openStores();
    const old = Array.from({ length: 50 }, () => ev({ type: 'view', product_id: 'hat' }));
    await s.log.append(old);
    await consumeUntil(s, 50);
    const now = Date.now();
    const fresh = Array.from({ length: 20 }, () => ev({ type: 'view', product_id: 'hat' }));
    // Applied "later": judge the first 50 from 36 days on, the fresh ones 1 ms before their own window.
    await s.log.append(fresh);
    await consumeUntil(s, 20);
    const file = path.join(s.dir, 'state.sqlite');
    const db = new Database(file);
    db.prepare('UPDATE applied SET at = ? WHERE event_id IN (SELECT value FROM json_each(?))').run(
      now + 10 * DAY_MS,
      JSON.stringify(fresh.map((e) => e.event_id)),
    );
    db.close();
    const r = startRetention({ ...s, config: config({ chunk_rows: 10 }), now: () => now + 36 * DAY_MS }, false);
    expect((await r.run()).applied).toBe(50);
    expect(rows(file, 'applied')).toBe(20);
    expect((await s.state.applied(fresh.map((e) => e.event_id))).size).toBe(20);
  });

  it('prunes dead letters past their age and beyond their row cap', async () => {
    const s = openStores();
    await s.log.appendRaw(Array.from({ length: 30 }, (_, i) => ({ value: `not json ${i}` })));
    const c = await startConsumer({ log: s.log, state: s.state, items, config: behaviorConfig });
    const deadline = Date.now() + 10_000;
    while (c.stats.deadLetters < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await c.stop();
    const file = path.join(s.dir, 'state.sqlite');
    expect(rows(file, 'dead')).toBe(30);
    const byRows = startRetention({ ...s, config: config({ dead_letters: { rows: 12 } }) }, false);
    expect((await byRows.run()).dead_letters).toBe(18);
    expect((await s.state.deadLetters(100)).map((d) => d.raw)).toEqual(
      Array.from({ length: 12 }, (_, i) => `not json ${29 - i}`),
    );
    const byAge = startRetention({ ...s, config: config(), now: () => Date.now() + 31 * DAY_MS }, false);
    expect((await byAge.run()).dead_letters).toBe(12);
    expect(rows(file, 'dead')).toBe(0);
  });

  it('opens files written before retention existed and counts their rows as new', async () => {
    const dir = tempDir('shelf-retention-old-');
    dirs.push(dir);
    const file = path.join(dir, 'events.sqlite');
    const db = new Database(file);
    db.exec(`CREATE TABLE log (position INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, value TEXT NOT NULL);
      CREATE TABLE offsets (grp TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO log (key, value) VALUES ('k', 'v1'), ('k', 'v2');
      INSERT INTO offsets VALUES ('shelf-state', 2);`);
    db.close();
    const log = new SqliteEventLog({ file });
    closers.push(() => log.close());
    const policy = { maxAgeMs: DAY_MS, committedOnly: true };
    expect(await log.prune({ ...policy, now: Date.now() }, 100)).toBe(0);
    expect(await log.prune({ ...policy, now: Date.now() + 2 * DAY_MS }, 100)).toBe(2);
  });

  it('yields to other work between chunks and stops at max_chunks per pass', async () => {
    const s = openStores();
    await s.served.appendRaw(Array.from({ length: 100 }, (_, i) => ({ value: `s${i}` })));
    const r = startRetention(
      { ...s, config: config({ chunk_rows: 10, max_chunks: 4 }), now: () => Date.now() + 31 * DAY_MS },
      false,
    );
    let interleaved = 0;
    const tick = () => {
      interleaved++;
      if (interleaved < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const out = await r.run();
    expect(out.served).toBe(40);
    expect(interleaved).toBeGreaterThanOrEqual(3);
  });

  it('the settings refuse an applied-id window shorter than the event log’s', () => {
    expect(() => RetentionConfigSchema.parse({ events: { days: 10 }, applied: { days: 5 } })).toThrow(/events\.days/);
    expect(() => RetentionConfigSchema.parse({ events: { days: 0 }, applied: { days: 5 } })).toThrow(/no limit/);
    expect(RetentionConfigSchema.parse({ events: { days: 0 }, applied: { days: 0 } }).applied.days).toBe(0);
  });

  it('disabled, nothing is pruned', async () => {
    const s = openStores();
    await s.served.appendRaw([{ value: 'x' }]);
    const r = startRetention({ ...s, config: config({ enabled: false }), now: () => Date.now() + 400 * DAY_MS }, false);
    expect(await r.run()).toEqual({});
  });
});
