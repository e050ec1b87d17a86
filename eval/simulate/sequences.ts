import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32, type Rng } from '../../core/rng.ts';
import { filterKey } from '../../retrieval/index/stores.ts';
import { intOpt, stringOpt, type Command } from '../kit/command.ts';
import { buildWorld, clickProb, loadCatalogProducts, type SimProduct, type SimUser, type World } from './world.ts';

/**
 * Simulated shoppers' browsing sequences over a real catalog: what the shipped sequence model
 * (models/sequence/default) is trained on, so `npm start` serves a `sequence` route over the demo
 * catalog with no training and no data beyond what the repository holds.
 *
 * The shoppers are the simulator's (world.ts: hidden category, brand and price tastes; a product
 * is picked with probability proportional to clickProb). What makes it a sequence: each leaf
 * category has a seeded "next" category in the same department (a laptop is followed by a
 * laptop bag, a skillet by a knife, as shops see in their logs), so from the product just viewed a
 * shopper compares another of the same kind (45%), moves on to the next kind (35%), or starts
 * over in a department they like (20%). A next-item model can learn these steps; popularity and
 * taste alone cannot tell which kind comes next.
 */
export interface SequenceSimOptions {
  catalog: string;
  users: number;
  seed: number;
  /** Items per shopper: uniformly from [min, max]. */
  minItems?: number;
  maxItems?: number;
}

export const SEQUENCE_SIM_DEFAULTS = { users: 600, seed: 11, minItems: 6, maxItems: 24 } as const;
const EPOCH = Date.parse('2025-06-01T08:00:00Z');

function leafOf(p: SimProduct): string {
  return p.product.category ? filterKey(p.product.category) : p.top;
}

/** Draws one product ∝ the shopper's click probability, among `pool` minus `seen`. */
function pick(u: SimUser, pool: readonly SimProduct[], seen: ReadonlySet<string>, rng: Rng): SimProduct | undefined {
  const cands = pool.filter((p) => !seen.has(p.product.id));
  if (cands.length === 0) return undefined;
  const w = cands.map((p) => clickProb(u, p));
  let r = rng() * w.reduce((a, b) => a + b, 0);
  for (const [i, p] of cands.entries()) if ((r -= w[i]!) <= 0) return p;
  return cands.at(-1);
}

/** The seeded "next kind" of every leaf category: another leaf of the same department when there is one. */
export function nextKinds(world: World, rng: Rng): Map<string, string> {
  const byTop = new Map<string, string[]>();
  for (const p of world.products) {
    const leaves = byTop.get(p.top) ?? [];
    if (!leaves.includes(leafOf(p))) leaves.push(leafOf(p));
    byTop.set(p.top, leaves);
  }
  const next = new Map<string, string>();
  for (const leaves of byTop.values()) {
    leaves.sort();
    for (const leaf of leaves) {
      const others = leaves.filter((l) => l !== leaf);
      next.set(leaf, others.length > 0 ? others[Math.floor(rng() * others.length)]! : leaf);
    }
  }
  return next;
}

/** `user_id, item_id, timestamp` rows, time ordered per shopper. */
export function simulateSequences(o: SequenceSimOptions): Array<[string, string, number]> {
  const world = buildWorld(loadCatalogProducts(o.catalog), o.users, o.seed);
  const rng = mulberry32(o.seed + 1);
  const next = nextKinds(world, rng);
  const byLeaf = new Map<string, SimProduct[]>();
  const byTop = new Map<string, SimProduct[]>();
  for (const p of world.products) {
    byLeaf.set(leafOf(p), [...(byLeaf.get(leafOf(p)) ?? []), p]);
    byTop.set(p.top, [...(byTop.get(p.top) ?? []), p]);
  }
  const minItems = o.minItems ?? SEQUENCE_SIM_DEFAULTS.minItems;
  const maxItems = o.maxItems ?? SEQUENCE_SIM_DEFAULTS.maxItems;
  const rows: Array<[string, string, number]> = [];
  for (const [i, u] of world.users.entries()) {
    const n = minItems + Math.floor(rng() * (maxItems - minItems + 1));
    const seen = new Set<string>();
    const tops = [...u.cats.entries()];
    const startOver = () => {
      // A department by taste: the favourite most often.
      let r = rng() * tops.reduce((a, [, w]) => a + w, 0);
      const top = tops.find(([, w]) => (r -= w) <= 0)?.[0] ?? tops[0]![0];
      return pick(u, byTop.get(top) ?? world.products, seen, rng);
    };
    let cur: SimProduct | undefined = startOver();
    let t = EPOCH + i * 3_600_000;
    for (let k = 0; k < n && cur; k++) {
      seen.add(cur.product.id);
      rows.push([u.id, cur.product.id, t]);
      t += 30_000 + Math.floor(rng() * 300_000);
      const r = rng();
      const leaf = leafOf(cur);
      let after: SimProduct | undefined;
      if (r < 0.45) after = pick(u, byLeaf.get(leaf)!, seen, rng);
      else if (r < 0.8) after = pick(u, byLeaf.get(next.get(leaf)!) ?? [], seen, rng);
      cur = after ?? startOver();
    }
  }
  return rows;
}

export async function writeSequences(
  o: SequenceSimOptions & { out: string },
): Promise<{ rows: number; users: number }> {
  const rows = simulateSequences(o);
  await mkdir(o.out, { recursive: true });
  const body = ['user_id\titem_id\ttimestamp', ...rows.map((r) => r.join('\t'))].join('\n') + '\n';
  await writeFile(path.join(o.out, 'interactions.tsv'), body);
  const meta = {
    source: `simulated browsing sequences over ${path.basename(o.catalog)} (eval/simulate/sequences.ts)`,
    users: o.users,
    seed: o.seed,
    rows: rows.length,
  };
  await writeFile(path.join(o.out, 'dataset.json'), JSON.stringify(meta, null, 2) + '\n');
  return { rows: rows.length, users: new Set(rows.map((r) => r[0])).size };
}

export const demoSequencesCommand: Command = {
  path: ['demo-sequences'],
  summary:
    "Simulated shoppers' browsing sequences over a catalog → interactions.tsv (what models/sequence/default is trained on).",
  options: {
    out: { type: 'string', value: 'DIR', help: 'output directory', default: '.cache/eval/demo-sequences' },
    catalog: {
      type: 'string',
      value: 'FILE',
      help: 'catalog the shoppers browse',
      exists: 'file',
      default: 'data/demo/catalog.jsonl',
    },
    users: { type: 'string', value: 'N', help: 'simulated shoppers', default: String(SEQUENCE_SIM_DEFAULTS.users) },
    seed: { type: 'string', value: 'N', help: 'seed', default: String(SEQUENCE_SIM_DEFAULTS.seed) },
  },
  async run(values) {
    const out = stringOpt(values, 'out') || '.cache/eval/demo-sequences';
    const r = await writeSequences({
      out,
      catalog: stringOpt(values, 'catalog') || 'data/demo/catalog.jsonl',
      users: intOpt(values, 'users', 1) ?? SEQUENCE_SIM_DEFAULTS.users,
      seed: intOpt(values, 'seed', 0) ?? SEQUENCE_SIM_DEFAULTS.seed,
    });
    console.log(
      `demo-sequences: ${r.rows} interactions of ${r.users} shoppers → ${path.join(out, 'interactions.tsv')}`,
    );
  },
};
