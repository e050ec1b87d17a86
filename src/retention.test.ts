import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSqliteLog } from '../ranking/training-data.ts';
import { demoShop, type DemoShop } from '../test/helpers/demo-service.ts';

/** The service keeps its embedded stores' windows by itself, and says so on /metrics. */
describe('retention in the service', () => {
  let shop: DemoShop;
  beforeAll(async () => {
    shop = await demoShop('shelf-retention-service-');
  }, 120_000);

  const servedRows = () => [...readSqliteLog(path.join(shop.dataDir, 'behavior', 'served.sqlite'))].length;
  // A window of ~0.1 s (days are fractional); the applied ids' must cover the event log's.
  const shortWindows = {
    SHELF__RETENTION__SERVED__DAYS: String(0.1 / 86_400),
    SHELF__RETENTION__EVENTS__DAYS: String(0.1 / 86_400),
    SHELF__RETENTION__APPLIED__DAYS: String(0.1 / 86_400),
    SHELF__RETENTION__INTERVAL_MS: '1000',
  };

  it('prunes the served log, the event log and applied ids on its timer, and counts them', async () => {
    await shop.withService(shortWindows, async (s) => {
      for (const q of ['running shoes', 'headphones', 'kettle']) {
        const res = await s.app.request(`/v1/search?q=${encodeURIComponent(q)}&size=3`);
        expect(res.status).toBe(200);
      }
      const events = await s.app.request('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          events: [1, 2, 3].map((i) => ({
            event_id: `ret-${i}`,
            type: 'view',
            user_id: 'ret-user',
            product_id: 'P0150',
            ts: Date.now(),
          })),
        }),
      });
      expect(events.status).toBe(200);
      await s.served.flush();
      expect(servedRows()).toBeGreaterThanOrEqual(3);
      // The timer (1 s) prunes without being asked.
      const deadline = Date.now() + 10_000;
      while (servedRows() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(servedRows()).toBe(0);
      // The inline consumer has applied the events and committed past them, so they may go too.
      while ((await s.behavior.state.applied(['ret-1', 'ret-2', 'ret-3'])).size > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect((await s.behavior.state.applied(['ret-1', 'ret-2', 'ret-3'])).size).toBe(0);
      const metrics = await (await s.app.request('/metrics')).text();
      const pruned = (store: string) =>
        Number(new RegExp(`shelf_retention_pruned_rows_total\\{store="${store}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
      expect(pruned('served')).toBeGreaterThanOrEqual(3);
      expect(pruned('events')).toBe(3);
      expect(pruned('applied')).toBe(3);
    });
  }, 60_000);

  it('within the default windows, nothing is pruned', async () => {
    await shop.withService({}, async (s) => {
      await s.app.request('/v1/search?q=shoes&size=2');
      await s.served.flush();
      const before = servedRows();
      expect(before).toBeGreaterThan(0);
      expect(await s.retention.run()).toMatchObject({ served: 0, events: 0, applied: 0, dead_letters: 0 });
      expect(servedRows()).toBe(before);
    });
  }, 60_000);
});
