import path from 'node:path';
import { ROOT } from '../../core/paths.ts';
import { intOpt, requiredOpt, stringOpt, UsageError, type Command } from '../kit/command.ts';
import { driveService, httpService } from './online.ts';
import { buildWorld, loadCatalogProducts } from './world.ts';

/**
 * `npm run eval -- online --url URL`: simulated shoppers (hidden preferences over the catalog,
 * eval/simulate/world.ts) use a running service over HTTP — search, feed, similar items, clicks,
 * carts, purchases with their request_id — so whatever experiment runs on it gets traffic and the
 * reports (`npm run report`) have a shop's logs to read. With --experiment, it first creates (and
 * starts) that experiment through the admin API.
 */
export const onlineCommand: Command = {
  path: ['online'],
  summary:
    'Simulated shoppers drive a running service over HTTP (search, feed, similar items, clicks, carts, purchases), optionally creating an experiment first, so `npm run report -- experiment|shop` has traffic to read.',
  options: {
    url: { type: 'string', value: 'URL', help: 'the running service', default: 'http://127.0.0.1:8080' },
    shoppers: { type: 'string', value: 'N', help: 'simulated shoppers', default: '200' },
    visits: { type: 'string', value: 'N', help: 'visits per shopper', default: '3' },
    seed: { type: 'string', value: 'N', help: 'seed of the shoppers and their choices', default: '7' },
    catalog: {
      type: 'string',
      value: 'FILE',
      help: 'the catalog the service serves (the shoppers’ preferences are over it)',
      default: 'data/demo/catalog.jsonl',
      exists: 'file',
    },
    experiment: {
      type: 'string',
      value: 'JSON',
      help: 'an experiment definition to create and start first (POST /v1/admin/experiments; needs SHELF_ADMIN_API_KEY)',
    },
  },
  details: 'The figures are SIMULATED shoppers, for demos and tests, not a real shop.',
  async run(values) {
    const url = requiredOpt(values, 'url');
    const request = httpService(url);
    const def = stringOpt(values, 'experiment');
    if (def !== undefined) {
      const key = process.env.SHELF_ADMIN_API_KEY ?? process.env.SHELF__COUPONS__ADMIN_API_KEY;
      if (!key) throw new UsageError('--experiment needs the admin key in SHELF_ADMIN_API_KEY');
      const res = await request('/v1/admin/experiments', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: def,
      });
      const body = await res.text();
      if (res.status !== 201) throw new Error(`creating the experiment: ${res.status} ${body}`);
      console.log(`experiment created: ${body}`);
    }
    const catalog = path.resolve(ROOT, stringOpt(values, 'catalog') ?? 'data/demo/catalog.jsonl');
    const seed = intOpt(values, 'seed') ?? 7;
    const world = buildWorld(loadCatalogProducts(catalog), intOpt(values, 'shoppers', 1) ?? 200, seed);
    const summary = await driveService({ request, world, visits: intOpt(values, 'visits', 1) ?? 3, seed });
    console.log(JSON.stringify(summary, null, 2));
  },
};
