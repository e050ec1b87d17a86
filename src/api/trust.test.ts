import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { mintShopperToken } from '../trust/shopper-token.ts';

const SECRET = 'shopper-token-secret-0123456789abcdef';
const SERVER = 'server-api-key-0123456789';
const ADMIN = 'test-admin-key-0123456789';
let service: Service;
let t = 0;

beforeAll(async () => {
  const dir = tempDir();
  const config = loadConfig({
    SHELF_DATA_DIR: path.join(dir, 'data'),
    SHELF_CATALOG: '',
    SHELF_RANK: 'off',
    SHELF_CONSUMER: 'inline',
    SHELF_ADMIN_API_KEY: ADMIN,
    SHELF_SHOPPER_TOKEN_SECRET: SECRET,
    SHELF_SERVER_API_KEY: SERVER,
  });
  service = await openService(config, {
    embedder: new HashEmbedder(),
    catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
    log: () => {},
  });
  const vip = {
    name: 'VIP 10',
    type: 'fixed',
    value: 10,
    eligibility: { segments: ['vip'] },
    valid_from: 0,
    valid_until: Date.now() + 86_400_000,
    stock: 10,
  };
  const put = await service.app.request('/v1/admin/coupons/vip10', {
    method: 'PUT',
    body: JSON.stringify(vip),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
  });
  expect(put.status).toBe(201);
});
afterAll(async () => service?.close());

const token = (user_id?: string, opts: { ttlMs?: number; session_id?: string; secret?: string } = {}) =>
  mintShopperToken(opts.secret ?? SECRET, { user_id, session_id: opts.session_id, ttlMs: opts.ttlMs ?? 3_600_000 });

const req = (pathname: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  service.app.request(pathname, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    headers: { 'content-type': 'application/json', ...init.headers },
  });

const purchase = (user_id: string) => ({
  event_id: `buy-${user_id}-${t++}`,
  type: 'purchase',
  user_id,
  product_id: 'p1',
  price: 100,
  ts: Date.now(),
});

describe('with SHELF_SHOPPER_TOKEN_SECRET set', () => {
  it('a shopper cannot make themselves a VIP: self-posted purchases are refused, the VIP coupon stays 403', async () => {
    const tok = await token('mallory');
    const res = await req('/v1/events', {
      body: { events: [1, 2, 3, 4, 5].map(() => purchase('mallory')) },
      headers: { 'x-shopper-token': tok },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { rejected: Array<{ code: string; field: string }> };
    expect(body.rejected).toHaveLength(5);
    expect(body.rejected.every((r) => r.code === 'server_key_required' && r.field === 'type')).toBe(true);
    const claim = await req('/v1/coupons/vip10/claim', {
      body: {},
      headers: { 'x-shopper-token': tok, 'idempotency-key': 'm-1' },
    });
    expect(claim.status).toBe(403);
    expect(((await claim.json()) as { error: { code: string } }).error.code).toBe('not_eligible');
  });

  it("the shop's back end records purchases with the server key, and then the VIP claim succeeds", async () => {
    const res = await req('/v1/events', {
      body: { events: [1, 2, 3, 4, 5].map(() => purchase('vera')) },
      headers: { authorization: `Bearer ${SERVER}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(5);
    const claim = await req('/v1/coupons/vip10/claim', {
      body: {},
      headers: { 'x-shopper-token': await token('vera'), 'idempotency-key': 'v-1' },
    });
    expect(claim.status, await claim.clone().text()).toBe(200);
    expect(((await claim.json()) as { subject: string }).subject).toBe('u:vera');
  });

  it('a mixed batch keeps its shopper events and refuses the money and foreign ones, each with its code', async () => {
    const res = await req('/v1/events', {
      body: [
        { event_id: `v-${t++}`, type: 'view', product_id: 'p2', ts: Date.now() },
        { event_id: `c-${t++}`, type: 'click', user_id: 'alice', product_id: 'p2', ts: Date.now() },
        { event_id: `x-${t++}`, type: 'click', user_id: 'bob', product_id: 'p2', ts: Date.now() },
        { ...purchase('alice') },
        { event_id: `r-${t++}`, type: 'coupon_redeem', user_id: 'alice', coupon_id: 'vip10', price: 5, ts: Date.now() },
      ],
      headers: { 'x-shopper-token': await token('alice') },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; code: string }> };
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [2, 'token_mismatch'],
      [3, 'server_key_required'],
      [4, 'server_key_required'],
    ]);
  });

  it('events without a token or key are a 401', async () => {
    const res = await req('/v1/events', { body: [purchase('x')] });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'shopper_token_required' } });
  });

  it('the feed acts for the token: no id needed, a foreign id 403, forged or expired tokens 401', async () => {
    const tok = await token('alice');
    expect((await req('/v1/feed?size=3', { headers: { 'x-shopper-token': tok } })).status).toBe(200);
    expect((await req('/v1/feed?user_id=alice&size=3', { headers: { 'x-shopper-token': tok } })).status).toBe(200);
    const other = await req('/v1/feed?user_id=bob', { headers: { 'x-shopper-token': tok } });
    expect(other.status).toBe(403);
    expect(await other.json()).toEqual({
      error: { code: 'token_mismatch', message: "user_id is not the shopper token's", field: 'user_id' },
    });
    const none = await req('/v1/feed?user_id=alice');
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'shopper_token_required' } });
    const forged = await token('alice', { secret: 'another-shops-secret-0123456789abcdef' });
    expect(await (await req('/v1/feed', { headers: { 'x-shopper-token': forged } })).json()).toMatchObject({
      error: { code: 'invalid_token' },
    });
    // Edited payload, original signature.
    const [h, , sig] = tok.split('.');
    const edited = `${h}.${Buffer.from(JSON.stringify({ sub: 'bob', exp: 4102444800 })).toString('base64url')}.${sig}`;
    const e = await req('/v1/feed', { headers: { 'x-shopper-token': edited } });
    expect(e.status).toBe(401);
    expect(await e.json()).toMatchObject({ error: { code: 'invalid_token' } });
    const expired = await mintShopperToken(SECRET, { user_id: 'alice', ttlMs: 1000, now: Date.now() - 60_000 });
    const x = await req('/v1/feed', { headers: { 'x-shopper-token': expired } });
    expect(x.status).toBe(401);
    expect(await x.json()).toMatchObject({ error: { code: 'token_expired' } });
  });

  it('search stays open anonymously; personalising it needs the token', async () => {
    expect((await req('/v1/search?q=shoes')).status).toBe(200);
    expect((await req('/v1/search?q=shoes&user_id=alice')).status).toBe(401);
    const ok = await req('/v1/search', {
      body: { q: 'shoes', user_id: 'alice' },
      headers: { 'x-shopper-token': await token('alice') },
    });
    expect(ok.status).toBe(200);
    const bob = await req('/v1/search', {
      body: { q: 'shoes', user_id: 'bob' },
      headers: { 'x-shopper-token': await token('alice') },
    });
    expect(bob.status).toBe(403);
  });

  it('coupons: the list and claims act for the token; redemptions need the server key', async () => {
    const tok = await token('alice');
    expect((await req('/v1/coupons', { headers: { 'x-shopper-token': tok } })).status).toBe(200);
    expect((await req('/v1/coupons?user_id=bob', { headers: { 'x-shopper-token': tok } })).status).toBe(403);
    const redeem = await req('/v1/coupons/vip10/redeem', {
      body: { user_id: 'vera', order_amount: 50, order_id: 'o1' },
      headers: { 'x-shopper-token': await token('vera'), 'idempotency-key': 'r-1' },
    });
    expect(redeem.status).toBe(401);
    expect(await redeem.json()).toMatchObject({ error: { code: 'server_key_required' } });
    const byServer = await req('/v1/coupons/vip10/redeem', {
      body: { user_id: 'vera', order_amount: 50, order_id: 'o1' },
      headers: { authorization: `Bearer ${SERVER}`, 'idempotency-key': 'r-1' },
    });
    expect(byServer.status, await byServer.clone().text()).toBe(200);
    const wrongKey = await req('/v1/feed?user_id=alice', { headers: { authorization: 'Bearer not-the-key-at-all' } });
    expect(wrongKey.status).toBe(401);
    expect(await wrongKey.json()).toMatchObject({ error: { code: 'invalid_server_key' } });
  });
});
