import type { ProductInput } from '../core/catalog/product.ts';
import { mulberry32 as rng } from '../core/rng.ts';

/**
 * Seeded synthetic catalogs and queries for speed benchmarks (quality figures come from real
 * data in eval/). Words follow a Zipf-like skew calibrated on a real catalog: in Home Depot's
 * 41k titles the most common words cover 10–30% of products ("x" 28%, "white" 12%, "light"
 * 8%), and here the most common query words cover 10–20% ("black" ~16%, the top adjective
 * ~9%, the top product type ~6%), so the BM25 tail is as heavy as a real shop's, not heavier.
 */
const TAXONOMY: Record<string, Record<string, string[]>> = {
  Electronics: {
    Audio: ['headphones', 'earbuds', 'speaker', 'soundbar'],
    Computers: ['laptop', 'monitor', 'keyboard', 'mouse'],
    Phones: ['smartphone', 'charger', 'phone case', 'power bank'],
  },
  Sports: {
    Footwear: ['running shoes', 'trail shoes', 'sneakers', 'hiking boots'],
    Fitness: ['yoga mat', 'dumbbell', 'resistance band', 'kettlebell'],
    Outdoor: ['tent', 'backpack', 'sleeping bag', 'water bottle'],
  },
  'Home & Kitchen': {
    Cookware: ['skillet', 'saucepan', 'dutch oven', 'wok'],
    Appliances: ['blender', 'coffee maker', 'air fryer', 'toaster'],
    Bedding: ['pillow', 'duvet', 'sheet set', 'blanket'],
  },
  Clothing: {
    Tops: ['t-shirt', 'hoodie', 'sweater', 'polo shirt'],
    Bottoms: ['jeans', 'shorts', 'leggings', 'chinos'],
    Outerwear: ['rain jacket', 'down jacket', 'fleece', 'parka'],
  },
  Beauty: {
    Skincare: ['moisturizer', 'serum', 'sunscreen', 'cleanser'],
    Hair: ['shampoo', 'conditioner', 'hair dryer', 'hair oil'],
    Oral: ['electric toothbrush', 'toothpaste', 'water flosser', 'mouthwash'],
  },
  食品饮料: {
    零食: ['坚果', '饼干', '巧克力', '薯片'],
    饮料: ['绿茶', '咖啡', '矿泉水', '果汁'],
    粮油: ['大米', '食用油', '面粉', '挂面'],
  },
};
const ADJECTIVES = [
  'lightweight',
  'premium',
  'classic',
  'wireless',
  'waterproof',
  'compact',
  'ergonomic',
  'organic',
  'durable',
  'portable',
  'breathable',
  'insulated',
  'stainless',
  'non-stick',
  'adjustable',
  'foldable',
  'quiet',
  'fast',
  'soft',
  'slim',
  'heavy-duty',
  'vintage',
  'modern',
  'rechargeable',
  'smart',
  'eco',
  'deluxe',
  'mini',
  'large',
  'professional',
  'cordless',
  'washable',
  'reversible',
  'padded',
  'quick-dry',
  'anti-slip',
  'ultralight',
  'reinforced',
  'weatherproof',
  'handcrafted',
  'magnetic',
  'stackable',
  'collapsible',
  'heated',
  'cooling',
  'scented',
  'unscented',
  'fragrance-free',
  'hypoallergenic',
  'shockproof',
  'dimmable',
  'programmable',
  'bluetooth',
  'noise-cancelling',
  'high-speed',
  'low-profile',
  'wide',
  'tall',
  'round',
  'square',
];
const COLORS = [
  'black',
  'white',
  'blue',
  'red',
  'green',
  'grey',
  'navy',
  'pink',
  'beige',
  'silver',
  'gold',
  'brown',
  'purple',
  'orange',
  'yellow',
  'teal',
  'olive',
  'cream',
  'charcoal',
  'burgundy',
];
const MATERIALS = [
  'cotton',
  'steel',
  'aluminium',
  'leather',
  'nylon',
  'bamboo',
  'ceramic',
  'polyester',
  'wool',
  'glass',
  'silicone',
  'oak',
  'linen',
  'titanium',
  'cast iron',
  'rubber',
  'acrylic',
  'denim',
  'canvas',
  'copper',
];
const BENEFITS = [
  'Built for everyday use.',
  'Easy to clean.',
  'Backed by a two-year warranty.',
  'Fits most standard sizes.',
  'Ships in recyclable packaging.',
  'Designed in Copenhagen.',
  'Tested for thousands of cycles.',
  'Gift-ready box included.',
  'Suitable for travel.',
  'Dishwasher safe.',
  'Machine washable at 30 degrees.',
  'Includes a carry pouch.',
  'Assembles in minutes.',
  'Rated for outdoor use.',
  'Certified by independent labs.',
  'Comes with spare parts.',
  'Made to last for years.',
  'Works with most accessories.',
  'A customer favourite.',
  'Limited edition colourway.',
];
const ZH_ADJ = ['轻薄', '高端', '经典', '无线', '防水', '便携', '有机', '耐用', '透气', '保温'];

export interface SyntheticCatalog {
  products: ProductInput[];
  queries: string[];
}

export function syntheticCatalog(n: number, seed = 42, queryCount = 1000): SyntheticCatalog {
  const r = rng(seed);
  // P(first item) = len^(-1/1.5): about 6% of 72 product types, 7% of 60 adjectives, 14% of 20 colours.
  const zipf = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(xs.length * r() ** 1.5))]!;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const brands = Array.from({ length: 400 }, (_, i) => brandName(i));
  const leaves: Array<{ path: string; noun: string; zh: boolean }> = [];
  for (const [top, subs] of Object.entries(TAXONOMY)) {
    for (const [sub, nouns] of Object.entries(subs))
      for (const noun of nouns) leaves.push({ path: `${top}/${sub}/${noun}`, noun, zh: /[\u4e00-\u9fff]/.test(top) });
  }
  const products: ProductInput[] = [];
  for (let i = 0; i < n; i++) {
    const leaf = zipf(leaves);
    const brand = zipf(brands);
    const color = zipf(COLORS);
    const model = `${String.fromCharCode(65 + Math.floor(r() * 26))}${Math.floor(r() * 900 + 100)}`;
    const title = leaf.zh
      ? `${brand} ${pick(ZH_ADJ)}${leaf.noun} ${model}`
      : `${brand} ${zipf(ADJECTIVES)} ${color} ${leaf.noun} ${model}`;
    const description = leaf.zh
      ? `${pick(ZH_ADJ)}${leaf.noun}，${pick(ZH_ADJ)}设计，适合日常使用。`
      : `${cap(leaf.noun)} made of ${zipf(MATERIALS)}. ${pick(BENEFITS)} ${pick(BENEFITS)}`;
    products.push({
      id: `s${i}`,
      title,
      description,
      category: leaf.path,
      brand,
      price: Math.round(5 + r() ** 2 * 995) + 0.99,
      currency: leaf.zh ? 'CNY' : 'USD',
      in_stock: r() > 0.08,
      attributes: { color, material: zipf(MATERIALS) },
      tags: [leaf.noun, color],
    });
  }
  const queries: string[] = [];
  for (let i = 0; i < queryCount; i++) {
    const leaf = zipf(leaves);
    const shape = r();
    if (leaf.zh) queries.push(shape < 0.5 ? leaf.noun : `${pick(ZH_ADJ)}${leaf.noun}`);
    else if (shape < 0.3) queries.push(leaf.noun);
    else if (shape < 0.55) queries.push(`${zipf(COLORS)} ${leaf.noun}`);
    else if (shape < 0.75) queries.push(`${zipf(ADJECTIVES)} ${leaf.noun}`);
    else if (shape < 0.9) queries.push(`${zipf(brands)} ${leaf.noun}`);
    else
      queries.push(
        `${zipf(ADJECTIVES)} ${zipf(COLORS)} ${leaf.noun} for ${pick(['men', 'women', 'kids', 'travel', 'home'])}`,
      );
  }
  return { products, queries };
}

function brandName(i: number): string {
  const a = [
    'Nor',
    'Vel',
    'Ast',
    'Bri',
    'Cor',
    'Dun',
    'Eko',
    'Fal',
    'Gra',
    'Hal',
    'Ion',
    'Jun',
    'Kai',
    'Lum',
    'Mar',
    'Nex',
    'Orb',
    'Pax',
    'Qui',
    'Ryn',
  ];
  const b = ['dex', 'tra', 'vo', 'lia', 'nix', 'ora', 'tek', 'ula', 'max', 'ion'];
  return `${a[i % a.length]}${b[Math.floor(i / a.length) % b.length]}${i >= 200 ? ' Pro' : ''}`;
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}
