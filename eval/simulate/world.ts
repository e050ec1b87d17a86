import { readFileSync } from 'node:fs';
import { parseProduct, type Product } from '../../core/catalog/product.ts';
import { filterKey } from '../../retrieval/index/stores.ts';
import { mulberry32, type Rng } from '../../core/rng.ts';

/**
 * The simulator's ground truth: a real catalog, and shoppers whose tastes are known because we
 * drew them. Each simulated shopper has a hidden preference over top-level categories, a few
 * liked brands and a preferred price; every product has a hidden appeal (drives clicks) and a
 * hidden value (drives purchases). Click and purchase probabilities follow from those and from
 * the slot the product is shown in:
 *
 *   P(click | shown at slot k) = examine(k) · σ(−1.2 + 1.8·cat + 0.5·brand + appeal − 0.15·gap²)
 *   P(buy | click)             = σ(−1.0 + 0.6·cat + 1.5·brand + value − 0.9·gap²)
 *   examine(k) = 1 / (1 + k)^0.7,  gap = (ln price − ln preferred price) / 0.7
 *
 * so clicks follow category interest and how attractive the item looks, while purchases follow
 * brand loyalty, value for money and price fit: a ranker must learn both to order by purchases.
 */
export interface SimProduct {
  product: Product;
  top: string;
  brandKey: string | undefined;
  appeal: number;
  value: number;
}

export interface SimUser {
  id: string;
  /** Hidden: top-level category key → preference in [0, 1]. */
  cats: Map<string, number>;
  /** Hidden: liked brand keys. */
  brands: Set<string>;
  /** Hidden: preferred ln(price) per top-level category (prices differ by currency and kind). */
  logPrice: Map<string, number>;
}

export interface World {
  products: SimProduct[];
  byId: Map<string, SimProduct>;
  tops: string[];
  users: SimUser[];
}

export function loadCatalogProducts(file: string): Product[] {
  const out: Product[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = parseProduct(JSON.parse(line));
    if (r.ok) out.push(r.product);
  }
  return out;
}

export function normal(rng: Rng): number {
  const u = Math.max(1e-12, rng());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export function buildWorld(products: Product[], nUsers: number, seed: number): World {
  const rng = mulberry32(seed);
  const sims: SimProduct[] = products.map((p) => ({
    product: p,
    top: p.category ? filterKey(p.category).split('/')[0]! : '',
    brandKey: p.brand ? filterKey(p.brand) : undefined,
    appeal: 0.6 * normal(rng),
    value: 0.6 * normal(rng),
  }));
  const tops = [...new Set(sims.map((s) => s.top).filter(Boolean))].sort();
  const medianLogPrice = new Map<string, number>();
  for (const t of tops) {
    const ps = sims
      .filter((s) => s.top === t && (s.product.price ?? 0) > 0)
      .map((s) => Math.log(s.product.price!))
      .sort((a, b) => a - b);
    medianLogPrice.set(t, ps.length > 0 ? ps[Math.floor(ps.length / 2)]! : 0);
  }
  const users: SimUser[] = [];
  for (let i = 0; i < nUsers; i++) {
    const order = [...tops].sort(() => rng() - 0.5);
    const cats = new Map<string, number>();
    cats.set(order[0]!, 1);
    if (order[1]) cats.set(order[1], 0.6);
    if (order[2] && rng() < 0.5) cats.set(order[2], 0.3);
    const brandPool = [...new Set(sims.filter((s) => cats.has(s.top) && s.brandKey).map((s) => s.brandKey!))].sort();
    const brands = new Set<string>();
    for (let k = 0; k < 3 && brandPool.length > 0; k++) brands.add(brandPool[Math.floor(rng() * brandPool.length)]!);
    const logPrice = new Map<string, number>();
    const shift = 0.5 * normal(rng);
    for (const t of tops) logPrice.set(t, medianLogPrice.get(t)! + shift);
    users.push({ id: `sim-${seed}-${i}`, cats, brands, logPrice });
  }
  return { products: sims, byId: new Map(sims.map((s) => [s.product.id, s])), tops, users };
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function parts(u: SimUser, p: SimProduct) {
  const cat = u.cats.get(p.top) ?? 0;
  const brand = p.brandKey !== undefined && u.brands.has(p.brandKey) ? 1 : 0;
  const price = p.product.price;
  const gap =
    price !== undefined && price > 0 ? (Math.log(price) - (u.logPrice.get(p.top) ?? Math.log(price))) / 0.7 : 0;
  return { cat, brand, gap };
}

export function examine(slot: number): number {
  return 1 / Math.pow(1 + slot, 0.7);
}

/** P(click | examined): the shopper's interest in the item, position left out. */
export function clickProb(u: SimUser, p: SimProduct): number {
  const { cat, brand, gap } = parts(u, p);
  return sigmoid(-1.2 + 1.8 * cat + 0.5 * brand + p.appeal - 0.15 * gap * gap);
}

export function buyProb(u: SimUser, p: SimProduct): number {
  const { cat, brand, gap } = parts(u, p);
  return sigmoid(-1.0 + 0.6 * cat + 1.5 * brand + p.value - 0.9 * gap * gap);
}

/** What a search by this shopper looks like: a tag or the first words of a product they like. */
export function drawQuery(u: SimUser, w: World, rng: Rng): string {
  const weighted = w.products.filter((p) => u.cats.has(p.top));
  const pool = weighted.length > 0 ? weighted : w.products;
  // Favour the strongest category, like a shopper searching for what they came for.
  let pick = pool[Math.floor(rng() * pool.length)]!;
  for (let tries = 0; tries < 5 && rng() > (u.cats.get(pick.top) ?? 0); tries++)
    pick = pool[Math.floor(rng() * pool.length)]!;
  const tags = pick.product.tags ?? [];
  if (tags.length > 0 && rng() < 0.7) return tags[Math.floor(rng() * tags.length)]!;
  const words = pick.product.title.split(/\s+/).filter(Boolean);
  return words.length > 1 ? words.slice(0, 2).join(' ') : pick.product.title.slice(0, 4);
}
