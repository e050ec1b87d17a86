import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDataset } from '../search/datasets.ts';
import { brandFromName, convertFashion } from './fashion.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-eval-convert-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const qrelsOf = (ds: Awaited<ReturnType<typeof readDataset>>) =>
  Object.fromEntries([...ds.qrels].map(([q, m]) => [q, Object.fromEntries(m)]));

describe('fashion converter', () => {
  it('guesses the brand from the words before the gender word', () => {
    expect(brandFromName('John Miller Men Dark Grey Trousers')).toBe('John Miller');
    expect(brandFromName("Puma Men's Blue Tshirt")).toBe('Puma');
    expect(brandFromName('Disney Kids-Unisex Pooh Steps Green Shoes')).toBe('Disney');
    expect(brandFromName('ADIDAS Black Backpack')).toBe('ADIDAS');
    expect(brandFromName('One Two Three Four Men Shirt')).toBe('One');
  });

  it('builds products with attributes and images, and weak-label queries', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'images'), { recursive: true });
    await writeFile(
      join(src, 'styles.csv'),
      [
        'id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName',
        '1,Men,Apparel,Topwear,Tshirts,Black,Summer,2012.0,Casual,Nike Men Black Tshirt',
        '2,Women,Apparel,Topwear,Tshirts,Black,Fall,2011.0,Casual,John Miller Women Black Tshirt',
        "3,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012.0,,Puma Men's Blue Tshirt",
        '4,Men,Footwear,Shoes,Casual Shoes,Black,Fall,2012.0,Casual,Timberland Men Black Casual Shoes',
        '',
      ].join('\n'),
    );
    await writeFile(join(src, 'images', '1.jpg'), 'x');
    await writeFile(join(src, 'images', '2.jpg'), 'x');
    const out = join(dir, 'out');
    const summary = await convertFashion({ source: src, out });
    expect(summary).toMatchObject({ products: 4, queries: 6, evaluable_queries: 6 });
    expect(summary.notes.join('\n')).toMatch(/2 products have no image file/);

    const ds = await readDataset(out);
    expect(ds.products[0]).toEqual({
      id: '1',
      title: 'Nike Men Black Tshirt',
      category: 'Apparel/Topwear/Tshirts',
      brand: 'Nike',
      attributes: { gender: 'Men', baseColour: 'Black', season: 'Summer', usage: 'Casual' },
      image: join(src, 'images', '1.jpg'),
      in_stock: true,
    });
    expect(ds.products[2]).toMatchObject({
      brand: 'Puma',
      attributes: { gender: 'Men', baseColour: 'Blue', season: 'Summer' },
    });
    expect(ds.products[2]?.image).toBeUndefined();

    expect(ds.queries.map((q) => q.query)).toEqual([
      'black tshirts',
      'black casual shoes',
      'blue tshirts',
      'men tshirts',
      'men casual shoes',
      'women tshirts',
    ]);
    expect(qrelsOf(ds)).toEqual({
      q1: { '1': 3, '2': 3, '3': 1 },
      q2: { '4': 3 },
      q3: { '1': 1, '2': 1, '3': 3 },
      q4: { '1': 3, '2': 1, '3': 3 },
      q5: { '4': 3 },
      q6: { '1': 1, '2': 3, '3': 1 },
    });
    expect(ds.meta?.weak_labels).toBe(true);
    expect(ds.meta?.grades).toMatch(/WEAK LABELS/);
  });
});
