import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { expectStormOutcome, stormRequests } from '../../test/helpers/coupons.ts';
import type { ClaimResult } from '../../coupons/ledger.ts';
import type { EventLog } from '../../behavior/event-log.ts';
import type { BehaviorEvent } from '../../behavior/event.ts';
import { createApp } from '../app.ts';
import { loadConfig, type Config } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { couponEventId } from './coupons.ts';
import { LIMITS_OFF_ENV } from '../../test/helpers/limits.ts';

const KEY = 'test-admin-key-0123456789';
const DAY = 86_400_000;
const NOW = Date.now();
let service: Service;
let config: Config;
let seq = 0;

beforeAll(async () => {
  const dataDir = path.join(tempDir(), 'data');
  config = loadConfig({
    SHELF_DATA_DIR: dataDir,
    SHELF_CATALOG: '',
    SHELF_RANK: 'off',
    SHELF_CONSUMER: 'inline',
    SHELF_ADMIN_API_KEY: KEY,
    SHELF_VIP_PURCHASES: '2',
    // 1,000 claims at once test the ledger, not load shedding or rate limits.
    ...LIMITS_OFF_ENV,
  });
  service = await openService(config, { embedder: new HashEmbedder() });
});
afterAll(async () => service?.close());

const json = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const admin = (method: string, pathname: string, body?: unknown, key: string | null = KEY) =>
  service.app.request(pathname, {
    method,
    ...(body !== undefined && { body: json(body) }),
    headers: { 'content-type': 'application/json', ...(key !== null && { authorization: `Bearer ${key}` }) },
  });
/** key null: no Idempotency-Key header. */
const claim = (id: string, body: unknown, key: string | null = `k${++seq}`) =>
  service.app.request(`/v1/coupons/${id}/claim`, {
    method: 'POST',
    body: json(body),
    headers: { 'content-type': 'application/json', ...(key !== null && { 'idempotency-key': key }) },
  });
const redeem = (id: string, body: unknown, key = `r${++seq}`) =>
  service.app.request(`/v1/coupons/${id}/redeem`, {
    method: 'POST',
    body: json(body),
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
  });
const define = async (id: string, def: Record<string, unknown> = {}) => {
  const res = await admin('PUT', `/v1/admin/coupons/${id}`, {
    name: id,
    type: 'fixed',
    value: 10,
    valid_from: NOW - DAY,
    valid_until: NOW + DAY,
    stock: 100,
    ...def,
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res;
};

/** Waits until the inline consumer has applied these events. */
async function applied(eventIds: string[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await service.behavior.state.applied(eventIds)).size === eventIds.length) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('consumer did not apply the events');
}

describe('coupon admin API', () => {
  it('requires the admin key', async () => {
    for (const key of [null, 'wrong-key-0123456789', `${KEY}x`]) {
      const res = await admin('GET', '/v1/admin/coupons', undefined, key);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('unauthorized');
    }
    const res = await service.app.request('/v1/admin/coupons', { headers: { authorization: KEY } });
    expect(res.status).toBe(401);
  });

  it('answers 403 admin_disabled when no key is configured', async () => {
    const app = createApp({ searcher: service.searcher, embedder: undefined, coupons: { ledger: service.coupons } });
    const res = await app.request('/v1/admin/coupons', { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe('admin_disabled');
  });

  it('creates, replaces, reads, lists and deactivates coupons', async () => {
    const created = await define('adm-1', {
      valid_from: new Date(NOW - DAY).toISOString(),
      budget: 100,
      eligibility: { brands: ['Nike'] },
    });
    expect(created.status).toBe(201);
    const body = await created.json();
    expect(body.result).toBe('created');
    expect(body.coupon).toMatchObject({
      id: 'adm-1',
      valid_from: NOW - DAY,
      per_user_limit: 1,
      active: true,
      status: { stock_left: 100, claimed: 0, budget_left: 100 },
    });
    const replaced = await define('adm-1', { stock: 5 });
    expect(replaced.status).toBe(200);
    expect((await replaced.json()).result).toBe('updated');
    const got = await (await admin('GET', '/v1/admin/coupons/adm-1')).json();
    expect(got.coupon).toMatchObject({ stock: 5, status: { stock_left: 5, budget_left: null } });
    const list = await (await admin('GET', '/v1/admin/coupons')).json();
    expect(list.coupons.map((c: { id: string }) => c.id)).toContain('adm-1');
    const del = await admin('DELETE', '/v1/admin/coupons/adm-1');
    expect(del.status).toBe(200);
    expect((await del.json()).coupon.active).toBe(false);
    expect((await admin('GET', '/v1/admin/coupons/nope')).status).toBe(404);
    expect((await admin('DELETE', '/v1/admin/coupons/nope')).status).toBe(404);
  });

  it('rejects invalid definitions with the field and reason', async () => {
    const bad = async (def: Record<string, unknown>, field: string, id = 'bad-1') => {
      const res = await admin('PUT', `/v1/admin/coupons/${id}`, {
        name: 'x',
        type: 'fixed',
        value: 10,
        valid_from: NOW,
        valid_until: NOW + DAY,
        stock: 1,
        ...def,
      });
      expect(res.status).toBe(400);
      const e = (await res.json()).error;
      expect(e.field).toBe(field);
      expect(e.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
      return e;
    };
    expect((await bad({ type: 'threshold' }, 'min_spend')).message).toBe('min_spend: required for threshold coupons');
    await bad({ type: 'percent', value: 120 }, 'value');
    await bad({ valid_until: NOW - 1 }, 'valid_until');
    await bad({ eligibility: { segments: ['gold'] } }, 'eligibility.segments.0');
    await bad({ id: 'other' }, 'id');
    await bad({}, 'id', 'bad%20id');
    const res = await admin('PUT', '/v1/admin/coupons/bad-1', '{not json');
    expect((await res.json()).error.code).toBe('invalid_json');
  });
});

describe('POST /v1/coupons/:id/claim', () => {
  it('claims, replays a retry, and appends one coupon_claim event', async () => {
    await define('c-basic', { stock: 2 });
    const first = await claim('c-basic', { user_id: 'ann' }, 'ann-1');
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body).toMatchObject({ coupon_id: 'c-basic', subject: 'u:ann', claim_id: 'c-basic#1', stock_left: 1 });
    const retry = await claim('c-basic', { user_id: 'ann' }, 'ann-1');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(body);
    const eventId = couponEventId('claim', 'c-basic', 'ann-1');
    await applied([eventId]);
    const state = (await service.behavior.state.getUsers(['u:ann'])).get('u:ann')!;
    expect(state.coupons.claimed).toBe(1);
  });

  it('answers each refusal with its status and code', async () => {
    await define('c-refuse', { stock: 1 });
    const code = async (res: Response) => [res.status, (await res.json()).error?.code];
    expect(await code(await claim('c-refuse', { user_id: 'a' }, null))).toEqual([400, 'missing_idempotency_key']);
    expect(await code(await claim('c-refuse', {}))).toEqual([400, 'missing_subject']);
    expect(await code(await claim('c-refuse', { user_id: 'a', extra: 1 }))).toEqual([400, 'unknown_parameter']);
    expect(await code(await claim('missing', { user_id: 'a' }))).toEqual([404, 'coupon_not_found']);
    expect((await claim('c-refuse', { user_id: 'a' }, 'a-1')).status).toBe(200);
    expect(await code(await claim('c-refuse', { user_id: 'a' }))).toEqual([409, 'limit_reached']);
    expect(await code(await claim('c-refuse', { user_id: 'b' }))).toEqual([409, 'out_of_stock']);
    expect(await code(await claim('c-refuse', { user_id: 'b' }, 'a-1'))).toEqual([409, 'idempotency_conflict']);
    await define('c-late', { valid_from: NOW + DAY, valid_until: NOW + 2 * DAY });
    expect(await code(await claim('c-late', { user_id: 'a' }))).toEqual([409, 'not_active']);
    const metrics = await (await service.app.request('/metrics')).text();
    expect(metrics).toMatch(/shelf_coupon_claims_total\{outcome="out_of_stock"\} [1-9]/);
  });

  it('refuses shoppers outside the coupon segments, from their behaviour', async () => {
    await define('c-vip', { eligibility: { segments: ['vip'] } });
    await define('c-new', { eligibility: { segments: ['new'] } });
    const events = [1, 2].map((i) => ({
      event_id: `vip-buy-${i}`,
      type: 'purchase',
      user_id: 'vip',
      product_id: `p${i}`,
      ts: NOW,
    }));
    expect(
      (
        await service.app.request('/v1/events', {
          method: 'POST',
          body: json({ events }),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(200);
    await applied(events.map((e) => e.event_id));
    const res = await claim('c-vip', { session_id: 'anon' });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe('not_eligible');
    expect((await claim('c-vip', { user_id: 'vip' })).status).toBe(200);
    expect((await claim('c-new', { user_id: 'vip' })).status).toBe(403);
    expect((await claim('c-new', { session_id: 'anon' })).status).toBe(200);
    const open = await (await service.app.request('/v1/coupons?session_id=anon')).json();
    const ids = open.coupons.map((c: { id: string }) => c.id);
    expect(ids).not.toContain('c-vip');
    expect(ids).not.toContain('c-new');
  });

  it('answers 503 when the event append fails after the claim, and re-appends the same event on retry', async () => {
    await define('c-flaky', { stock: 3 });
    const appended: BehaviorEvent[] = [];
    let failures = 1;
    const log = {
      ...service.behavior.log,
      kind: 'flaky',
      async append(events: readonly BehaviorEvent[]) {
        if (failures-- > 0) throw new Error('broker down');
        appended.push(...events);
      },
    } as EventLog;
    const app = createApp({
      searcher: service.searcher,
      embedder: undefined,
      behavior: { state: service.behavior.state, feed: config.feed, config: config.behavior, log },
      coupons: { ledger: service.coupons },
    });
    const send = () =>
      app.request('/v1/coupons/c-flaky/claim', {
        method: 'POST',
        body: json({ user_id: 'flo' }),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'flo-1' },
      });
    const failed = await send();
    expect(failed.status).toBe(503);
    expect((await failed.json()).error.code).toBe('stream_unavailable');
    const retried = await send();
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect((await retried.json()).claim_id).toBe('c-flaky#1');
    expect(appended.map((e) => [e.event_id, e.type, e.coupon_id])).toEqual([
      [couponEventId('claim', 'c-flaky', 'flo-1'), 'coupon_claim', 'c-flaky'],
    ]);
    expect((await service.coupons.status(['c-flaky'])).get('c-flaky')!.claimed).toBe(1);
  });

  it('gives exactly the stock to 1,000 concurrent claims', async () => {
    await define('c-storm', { stock: 100 });
    const requests = stormRequests(1000, 100);
    const responses = await Promise.all(requests.map((q) => claim('c-storm', { user_id: q.subject.slice(2) }, q.key)));
    const results: ClaimResult[] = await Promise.all(
      responses.map(async (res) => {
        const body = await res.json();
        if (res.status !== 200) return { status: body.error.code };
        return {
          status: res.headers.get('idempotent-replayed') ? 'duplicate' : 'claimed',
          claim_id: body.claim_id,
          stock_left: body.stock_left,
        };
      }),
    );
    expectStormOutcome(requests, results, 100);
    const status = (await (await admin('GET', '/v1/admin/coupons/c-storm')).json()).coupon.status;
    expect(status).toMatchObject({ stock_left: 0, claimed: 100 });
  });
});

describe('POST /v1/coupons/:id/redeem', () => {
  it('records the discount against the budget once per key and appends coupon_redeem', async () => {
    await define('c-pct', { type: 'percent', value: 20, max_discount: 15, budget: 20, stock: 5, per_user_limit: 2 });
    await claim('c-pct', { user_id: 'rita' });
    await claim('c-pct', { user_id: 'rita' });
    const first = await redeem('c-pct', { user_id: 'rita', order_amount: 50, order_id: 'o1' }, 'o1');
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body).toMatchObject({ discount: 10, budget_left: 10, redemption_id: 'c-pct@1' });
    const again = await redeem('c-pct', { user_id: 'rita', order_amount: 50, order_id: 'o1' }, 'o1');
    expect(await again.json()).toEqual(body);
    const over = await redeem('c-pct', { user_id: 'rita', order_amount: 100, order_id: 'o2' }, 'o2');
    expect([over.status, (await over.json()).error.code]).toEqual([409, 'budget_exhausted']);
    const none = await redeem('c-pct', { user_id: 'nobody', order_amount: 10, order_id: 'o3' });
    expect([none.status, (await none.json()).error.code]).toEqual([409, 'not_claimed']);
    const eventId = couponEventId('redeem', 'c-pct', 'o1');
    await applied([eventId]);
    expect((await service.behavior.state.getUsers(['u:rita'])).get('u:rita')!.coupons.redeemed).toBe(1);
  });

  it('refuses an order below the threshold', async () => {
    await define('c-thr', { type: 'threshold', value: 30, min_spend: 200 });
    await claim('c-thr', { user_id: 'tom' });
    const res = await redeem('c-thr', { user_id: 'tom', order_amount: 150, order_id: 'o9' });
    expect(res.status).toBe(409);
    expect((await res.json()).error).toMatchObject({ code: 'min_spend_not_met', field: 'order_amount' });
  });
});
