import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteExperimentStore } from '../../pipeline/experiments/embedded/sqlite-experiment-store.ts';
import { ExperimentSchema } from '../../pipeline/experiments/experiment.ts';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import { servedEntry } from '../../test/helpers/served.ts';
import { buildExperimentReport } from '../../eval/report/command.ts';
import { loadConfig } from '../config.ts';
import type { Service } from '../service.ts';

const KEY = 'experiments-admin-key-0123456789';
let shop: DemoShop;

beforeAll(async () => {
  shop = await demoShop('shelf-experiments-api-');
}, 120_000);

// Search ranked (off by default), so an arm's ranking override shows on search.
const env = { SHELF__COUPONS__ADMIN_API_KEY: KEY, SHELF__EXPERIMENTS__CACHE_MS: '0', SHELF_RANK_SEARCH: 'model' };
const auth = { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(s: Service, method: string, url: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await s.app.request(url, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Json };
}
const search = (s: Service, who: string, extra = '') =>
  call(s, 'GET', `/v1/search?q=running+shoes&size=5&${who}${extra}`, undefined, {});

const fusion = {
  id: 'rank-off',
  surface: 'search',
  status: 'running',
  arms: [
    { name: 'control', weight: 50 },
    { name: 'b', weight: 50, overrides: { 'ranking.mode': 'off', 'diversity.search.lambda': 1 } },
  ],
};

describe('experiments admin API', () => {
  it('sits behind the admin key', async () => {
    await shop.withService({}, async (s) => {
      expect((await call(s, 'GET', '/v1/admin/experiments')).body.error.code).toBe('admin_disabled');
    });
    await shop.withService(env, async (s) => {
      const r = await call(s, 'GET', '/v1/admin/experiments', undefined, { Authorization: 'Bearer nope' });
      expect(r.status).toBe(401);
    });
  });

  it('refuses an invalid override with a 400 naming the setting path', async () => {
    await shop.withService(env, async (s) => {
      const bad = (overrides: Record<string, unknown>) =>
        call(s, 'POST', '/v1/admin/experiments', {
          ...fusion,
          arms: [fusion.arms[0], { name: 'b', weight: 50, overrides }],
        });
      let r = await bad({ 'diversity.search.lambda': 2 });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_override', field: 'diversity.search.lambda' });
      expect(r.body.error.message).toMatch(/arms\[1\] \(b\).*diversity\.search\.lambda/);
      r = await bad({ 'retrieval.wieghts': { vector: 1 } });
      expect(r.body.error).toMatchObject({ code: 'invalid_override', field: 'retrieval.wieghts' });
      r = await bad({ 'service.port': 1 });
      expect(r.body.error.field).toBe('service.port');
      expect(r.body.error.message).toMatch(/not a request-scoped setting/);
      r = await bad({ 'diversity.search': { category_weight: 0.8, brand_weight: 0.8 } });
      expect(r.status).toBe(400);
      r = await call(s, 'POST', '/v1/admin/experiments', { ...fusion, arms: [fusion.arms[0]] });
      expect(r.body.error).toMatchObject({ code: 'invalid_parameter', field: 'arms' });
      expect((await call(s, 'GET', '/v1/admin/experiments')).body.experiments).toEqual([]);
    });
  });

  it('splits traffic by shopper, applies the arm, logs it, and returns it to the defaults when stopped', async () => {
    await shop.withService(env, async (s) => {
      const created = await call(s, 'POST', '/v1/admin/experiments', fusion);
      expect(created.status).toBe(201);
      expect(created.body.experiment).toMatchObject({ id: 'rank-off', live: { state: 'running', serving: true } });
      expect((await call(s, 'POST', '/v1/admin/experiments', fusion)).body.error.code).toBe('experiment_exists');
      // Another on the same surface would claim the same requests; one on the feed runs beside it.
      const clash = await call(s, 'POST', '/v1/admin/experiments', { ...fusion, id: 'other', surface: 'all' });
      expect(clash).toMatchObject({ status: 409, body: { error: { code: 'surface_busy' } } });
      const feedExp = {
        id: 'feed-div',
        surface: 'feed',
        status: 'running',
        arms: [
          { name: 'control', weight: 1 },
          { name: 'mild', weight: 1, overrides: { 'diversity.feed': { lambda: 0.95, max_per_brand: 0 } } },
        ],
      };
      expect((await call(s, 'POST', '/v1/admin/experiments', feedExp)).status).toBe(201);

      const arms = new Map<string, string>();
      for (let i = 0; i < 16; i++) {
        const r = await search(s, `user_id=shopper${i}`, '&debug=true');
        expect(r.body.experiment.id).toBe('rank-off');
        arms.set(`shopper${i}`, r.body.experiment.arm);
        // The arm's overrides are what served it.
        expect(r.body.debug.ranking.mode).toBe(r.body.experiment.arm === 'b' ? 'off' : 'model');
        expect(r.body.debug.mmr.lambda).toBe(r.body.experiment.arm === 'b' ? 1 : 0.85);
        const entry = await servedEntry(s, shop.dataDir, r.body.request_id);
        expect(entry.experiment).toEqual(r.body.experiment);
      }
      expect(new Set(arms.values())).toEqual(new Set(['control', 'b']));
      for (const [who, arm] of arms) expect((await search(s, `user_id=${who}`)).body.experiment.arm).toBe(arm);
      // An anonymous search has no shopper to keep in one arm: the defaults.
      expect((await search(s, '')).body.experiment).toBeUndefined();
      // The feed experiment on its own surface.
      const feed = await call(s, 'GET', '/v1/feed?user_id=shopper1&size=5&debug=true', undefined, {});
      expect(feed.body.experiment.id).toBe('feed-div');
      expect(feed.body.debug.mmr.lambda).toBe(feed.body.experiment.arm === 'mild' ? 0.95 : 0.7);

      const list = await call(s, 'GET', '/v1/admin/experiments');
      expect(list.body.experiments.map((e: Json) => [e.id, e.live.state])).toEqual([
        ['feed-div', 'running'],
        ['rank-off', 'running'],
      ]);

      const stopped = await call(s, 'POST', '/v1/admin/experiments/rank-off/stop');
      expect(stopped.body.experiment).toMatchObject({ status: 'stopped', live: { state: 'stopped', serving: false } });
      const after = await search(s, 'user_id=shopper1', '&debug=true');
      expect(after.body.experiment).toBeUndefined();
      expect(after.body.debug.ranking.mode).toBe('model');
      expect((await call(s, 'POST', '/v1/admin/experiments/nope/stop')).status).toBe(404);
      expect((await call(s, 'POST', '/v1/admin/experiments/rank-off/start')).body.error.code).toBe(
        'experiment_stopped',
      );
      await call(s, 'POST', '/v1/admin/experiments/feed-div/stop');
    });
  });

  it('keeps a session linked by identify in its user’s arm', async () => {
    await shop.withService(env, async (s) => {
      const made = await call(s, 'POST', '/v1/admin/experiments', { ...fusion, id: 'linked', surface: 'all' });
      expect(made.status).toBe(201);
      // Find a session whose own arm differs from alice's, then link it to alice.
      const alice = (await search(s, 'user_id=alice')).body.experiment.arm;
      let session = '';
      for (let i = 0; i < 40 && !session; i++)
        if ((await search(s, `session_id=sess${i}`)).body.experiment.arm !== alice) session = `sess${i}`;
      expect(session).not.toBe('');
      const ev = await call(
        s,
        'POST',
        '/v1/events',
        {
          events: [
            { event_id: `id-${session}`, type: 'identify', user_id: 'alice', session_id: session, ts: Date.now() },
          ],
        },
        { 'content-type': 'application/json' },
      );
      expect(ev.body.accepted).toBe(1);
      expect((await search(s, `session_id=${session}`)).body.experiment.arm).toBe(alice);
      const sim = await call(s, 'GET', `/v1/products/P0150/similar?size=3&session_id=${session}`, undefined, {});
      expect(sim.body.experiment).toEqual({ id: 'linked', arm: alice });
    });
  });

  it('reads definitions another instance wrote, without a restart', async () => {
    await shop.withService(env, async (s) => {
      const other = new SqliteExperimentStore({ file: path.join(shop.dataDir, 'experiments', 'experiments.sqlite') });
      try {
        await call(s, 'POST', '/v1/admin/experiments/linked/stop');
        expect((await search(s, 'user_id=bob')).body.experiment).toBeUndefined();
        const def = ExperimentSchema.parse({ ...fusion, id: 'from-elsewhere' });
        await other.create({ ...def, created_at: Date.now() });
        expect((await search(s, 'user_id=bob')).body.experiment.id).toBe('from-elsewhere');
        await other.setStatus('from-elsewhere', 'stopped', Date.now());
        expect((await search(s, 'user_id=bob')).body.experiment).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  it('serves each arm by the ranker version it names, logged with the version; an unknown version is a 400', async () => {
    const alt = path.join(import.meta.dirname, '../../test/fixtures/models/ranker-alt');
    await shop.withService({ ...env, SHELF__RANKING__EXTRA_MODEL_DIRS: alt }, async (s) => {
      const shipped = s.ranker.status.model_version!;
      expect(s.ranker.versions).toEqual([shipped, 'ranker-fixture-alt']);
      const versions = {
        id: 'ranker-versions',
        surface: 'search',
        status: 'running',
        arms: [
          { name: 'control', weight: 50 },
          { name: 'alt', weight: 50, overrides: { 'ranking.model_version': 'ranker-fixture-alt' } },
        ],
      };
      const unknown = await call(s, 'POST', '/v1/admin/experiments', {
        ...versions,
        arms: [versions.arms[0], { name: 'alt', weight: 50, overrides: { 'ranking.model_version': 'ranker-v0' } }],
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'invalid_override', field: 'ranking.model_version' });
      expect(unknown.body.error.message).toMatch(/"ranker-v0" is not deployed \(deployed: .*ranker-fixture-alt/);
      expect((await call(s, 'POST', '/v1/admin/experiments', versions)).status).toBe(201);

      // The same query and shopper state under each arm: find one shopper of each.
      const byArm = new Map<string, { entry: Awaited<ReturnType<typeof servedEntry>>; body: Json }>();
      for (let i = 0; i < 40 && byArm.size < 2; i++) {
        // A deep page: the two models order the candidates differently, the page holds most of them.
        const r = await call(
          s,
          'GET',
          `/v1/search?q=running+shoes&size=50&user_id=versions${i}&debug=true`,
          undefined,
          {},
        );
        if (byArm.has(r.body.experiment.arm)) continue;
        byArm.set(r.body.experiment.arm, {
          entry: await servedEntry(s, shop.dataDir, r.body.request_id),
          body: r.body,
        });
      }
      const control = byArm.get('control')!;
      const treated = byArm.get('alt')!;
      expect(control.body.debug.ranking).toMatchObject({ mode: 'model', model_version: shipped });
      expect(treated.body.debug.ranking).toMatchObject({ mode: 'model', model_version: 'ranker-fixture-alt' });
      expect(control.entry.ranking).toMatchObject({ mode: 'model', model_version: shipped });
      expect(treated.entry.ranking).toMatchObject({ mode: 'model', model_version: 'ranker-fixture-alt' });
      expect(treated.entry.experiment).toEqual({ id: 'ranker-versions', arm: 'alt' });
      // Same candidates and features (new shoppers, same query), scored by different models.
      const scores = (e: typeof control.entry) =>
        new Map(e.items.map((it) => [it.id, [it.p_ctr, it.p_cvr, (it.features ?? []).join(',')] as const]));
      const a = scores(control.entry);
      const b = scores(treated.entry);
      const shared = [...a.keys()].filter((id) => b.has(id));
      expect(shared.length).toBeGreaterThan(0);
      for (const id of shared) {
        expect(b.get(id)![2]).toBe(a.get(id)![2]);
        expect(b.get(id)![0]).not.toBeCloseTo(a.get(id)![0]!, 4);
      }
      await call(s, 'POST', '/v1/admin/experiments/ranker-versions/stop');
    });
  });

  it('serves each arm by the sequence model version it names, on the feed and similar items; reports attribute by arm', async () => {
    const fixtures = path.join(import.meta.dirname, '../../test/fixtures/models');
    const seqEnv = {
      ...env,
      SHELF_SEQUENCE_MODEL_DIR: path.join(fixtures, 'sequence-a'),
      SHELF__SEQUENCE__EXTRA_MODEL_DIRS: path.join(fixtures, 'sequence-b'),
    };
    const history = ['P0150', 'P0151', 'P0152'];
    const seqIds = (body: Json) => body.items.filter((it: Json) => it.routes?.sequence).map((it: Json) => it.id);
    await shop.withService(seqEnv, async (s) => {
      expect(s.sequence.versions).toEqual(['sequence-fixture-a', 'sequence-fixture-b']);
      // The console's Catalog page lists what an arm may pick.
      expect((await call(s, 'GET', '/v1/admin/index')).body.models.sequence).toEqual({
        version: 'sequence-fixture-a',
        versions: ['sequence-fixture-a', 'sequence-fixture-b'],
      });
      const def = (id: string, surface: string, version: string) => ({
        id,
        surface,
        status: 'running',
        arms: [
          { name: 'control', weight: 50 },
          { name: 'b', weight: 50, overrides: { 'sequence.model_version': version } },
        ],
      });
      const unknown = await call(s, 'POST', '/v1/admin/experiments', def('seq-v0', 'feed', 'sequence-v0'));
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'invalid_override', field: 'sequence.model_version' });
      expect(unknown.body.error.message).toMatch(
        /sequence model version "sequence-v0" is not deployed \(deployed: sequence-fixture-a, sequence-fixture-b/,
      );
      const made = await call(s, 'POST', '/v1/admin/experiments', def('seq-feed', 'feed', 'sequence-fixture-b'));
      expect(made.status).toBe(201);

      // Shoppers with the same recent items, until three are in each arm.
      const byArm = new Map<string, Json[]>([
        ['control', []],
        ['b', []],
      ]);
      let ts = Date.now() - 60_000;
      for (let i = 0; i < 60 && [...byArm.values()].some((l) => l.length < 3); i++) {
        const user = `seq-shopper${i}`;
        const events = history.map((p, k) => ({
          event_id: `${user}-v${k}`,
          type: 'view',
          user_id: user,
          product_id: p,
          ts: ts++,
        }));
        expect(
          (await call(s, 'POST', '/v1/events', { events }, { 'content-type': 'application/json' })).body.accepted,
        ).toBe(3);
        const r = await call(s, 'GET', `/v1/feed?user_id=${user}&size=20&debug=true`, undefined, {});
        expect(r.status).toBe(200);
        byArm.get(r.body.experiment.arm)!.push({ user, body: r.body });
      }
      const version = { control: 'sequence-fixture-a', b: 'sequence-fixture-b' } as Record<string, string>;
      for (const [arm, list] of byArm) {
        expect(list.length).toBeGreaterThanOrEqual(3);
        for (const { body } of list) {
          expect(body.experiment).toEqual({ id: 'seq-feed', arm });
          expect(body.debug.sequence).toEqual({ model_version: version[arm] });
          expect(seqIds(body).length).toBeGreaterThan(0);
          const entry = await servedEntry(s, shop.dataDir, body.request_id);
          expect(entry.sequence).toEqual({ model_version: version[arm] });
          expect(entry.experiment).toEqual(body.experiment);
        }
      }
      // The same recent items: the sequence route's candidates differ by the arm's model.
      const routeScores = (body: Json) =>
        body.items.filter((it: Json) => it.routes?.sequence).map((it: Json) => `${it.id}:${it.routes.sequence.score}`);
      expect(routeScores(byArm.get('b')![0]!.body)).not.toEqual(routeScores(byArm.get('control')![0]!.body));
      expect(seqIds(byArm.get('b')![0]!.body)).not.toEqual(seqIds(byArm.get('control')![0]!.body));

      // Arm b's shoppers click their first sequence item: the report gives the clicks to arm b.
      const clicks = byArm.get('b')!.map(({ user, body }, k) => ({
        event_id: `${user}-click`,
        type: 'click',
        user_id: user,
        product_id: seqIds(body)[0],
        request_id: body.request_id,
        ts: ts + k,
      }));
      expect(
        (await call(s, 'POST', '/v1/events', { events: clicks }, { 'content-type': 'application/json' })).body.accepted,
      ).toBe(clicks.length);
      await call(s, 'POST', '/v1/admin/experiments/seq-feed/stop');
      const after = await call(
        s,
        'GET',
        `/v1/feed?user_id=${byArm.get('b')![0]!.user}&size=5&debug=true`,
        undefined,
        {},
      );
      expect(after.body.experiment).toBeUndefined();
      expect(after.body.debug.sequence).toEqual({ model_version: 'sequence-fixture-a' });
      await s.served.flush();
      const settings = loadConfig({ SHELF_DATA_DIR: shop.dataDir, SHELF_CATALOG: '' });
      const report = await buildExperimentReport({ settings, dataDir: shop.dataDir }, 'seq-feed');
      const feedRows = new Map(report.rows.filter((r) => r.surface === 'feed').map((r) => [r.arm, r]));
      for (const [arm, list] of byArm)
        expect(feedRows.get(arm)).toMatchObject({ requests: list.length, shoppers: list.length });
      expect(feedRows.get('control')!.metrics.ctr.value).toBe(0);
      expect(feedRows.get('b')!.metrics.ctr.value).toBe(1);

      // Similar items' sequence list follows the same override.
      expect(
        (await call(s, 'POST', '/v1/admin/experiments', def('seq-similar', 'similar', 'sequence-fixture-b'))).status,
      ).toBe(201);
      const similar = new Map<string, Json>();
      for (let i = 0; i < 40 && similar.size < 2; i++) {
        const r = await call(s, 'GET', `/v1/products/P0150/similar?size=20&debug=true&user_id=sim${i}`, undefined, {});
        similar.set(r.body.experiment.arm, r.body);
      }
      expect(similar.get('control')!.debug.sequence).toEqual({ model_version: 'sequence-fixture-a' });
      expect(similar.get('b')!.debug.sequence).toEqual({ model_version: 'sequence-fixture-b' });
      expect(seqIds(similar.get('control')!).length).toBeGreaterThan(0);
      expect(seqIds(similar.get('b')!)).not.toEqual(seqIds(similar.get('control')!));
      const entry = await servedEntry(s, shop.dataDir, similar.get('b')!.request_id);
      expect(entry.sequence).toEqual({ model_version: 'sequence-fixture-b' });
      await call(s, 'POST', '/v1/admin/experiments/seq-similar/stop');
    });
  });
});
