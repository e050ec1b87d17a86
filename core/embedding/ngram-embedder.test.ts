import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NgramEmbedder } from './ngram-embedder.ts';

const MODEL_DIR = fileURLToPath(new URL('../../models/default/text-embedder', import.meta.url));

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
const norm = (a: Float32Array): number => Math.sqrt(dot(a, a));

describe('NgramEmbedder (shipped default model)', () => {
  let emb: NgramEmbedder;
  beforeAll(async () => {
    emb = await NgramEmbedder.load(MODEL_DIR);
  });
  afterAll(async () => {
    await emb?.close();
  });

  it('has the metadata dimension and a content-addressed id', () => {
    const meta = JSON.parse(readFileSync(`${MODEL_DIR}/metadata.json`, 'utf8')) as { dim: number; version: string };
    expect(emb.dim).toBe(meta.dim);
    const sha = createHash('sha256')
      .update(readFileSync(`${MODEL_DIR}/model.onnx`))
      .digest('hex');
    expect(emb.id).toBe(`ngram-${meta.version}:${sha.slice(0, 12)}`);
  });

  it('returns one unit vector of the right size per text', async () => {
    const texts = ['running shoes', 'Nike Pegasus 40', '跑步鞋', 'USB-C charger 65W', 'a'];
    const vs = await emb.embedTexts(texts, 'document');
    expect(vs).toHaveLength(texts.length);
    for (const v of vs) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(emb.dim);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(await emb.embedTexts([], 'query')).toEqual([]);
  });

  it('is deterministic and independent of batching, padding and role', async () => {
    const long = 'Stainless steel frying pan with a thick aluminium core, oven safe, induction ready. '.repeat(5);
    const [a] = await emb.embedTexts(['wireless earbuds'], 'query');
    const [b] = await emb.embedTexts(['wireless earbuds'], 'query');
    const [, c] = await emb.embedTexts([long, 'wireless earbuds', ''], 'document');
    expect(Array.from(b!)).toEqual(Array.from(a!));
    for (let i = 0; i < emb.dim; i++) expect(c![i]).toBeCloseTo(a![i]!, 6);
  });

  it('splits a huge call into sub-batches without changing any vector', async () => {
    // 120 texts of ~1,600 features each (~190k slots): more than one tensor may hold.
    const big = Array.from({ length: 120 }, (_, i) => Array.from({ length: 400 }, (_, k) => `boot${i}x${k}`).join(' '));
    big.push('wireless earbuds');
    const all = await emb.embedTexts(big, 'document');
    expect(all).toHaveLength(big.length);
    for (const i of [0, 59, 81, 119, 120]) {
      const [alone] = await emb.embedTexts([big[i]!], 'document');
      for (let d = 0; d < emb.dim; d++) expect(all[i]![d]).toBeCloseTo(alone![d]!, 6);
    }
  });

  it('puts an English query nearer the matching product than an unrelated one', async () => {
    const [q, shoe, pan] = await emb.embedTexts(
      [
        'running shoes',
        'Brooks Ghost 16 Men’s Neutral Running Shoe. Brooks. Sports Footwear Running Shoes. running, cushioned, road. Soft cushioning for daily road runs.',
        'T-fal Nonstick Fry Pan Set, 10 and 12 Inch. T-fal. Home & Kitchen Cookware Skillets & Pans. nonstick, frying pan. Titanium-reinforced nonstick coating.',
      ],
      'query',
    );
    expect(dot(q!, shoe!)).toBeGreaterThan(dot(q!, pan!) + 0.1);
  });

  it('puts a Chinese query nearer the matching product than an unrelated one', async () => {
    const [q, shoe, pan] = await emb.embedTexts(
      [
        '跑步鞋',
        '李宁 男子 跑步鞋 轻便透气 缓震. 李宁. 运动户外 运动鞋 跑步鞋. 跑步, 缓震. 轻量鞋面，适合日常慢跑训练。',
        '苏泊尔 不粘锅 炒锅 32cm 无油烟. 苏泊尔. 家居厨房 厨具 炒锅. 炒锅, 不粘. 少油烟，电磁炉燃气灶通用。',
      ],
      'query',
    );
    expect(dot(q!, shoe!)).toBeGreaterThan(dot(q!, pan!) + 0.1);
  });

  it('embeds featureless text (empty, punctuation, emoji) as the all-zero vector without crashing', async () => {
    const vs = await emb.embedTexts(['', '   ', '!!! 👟', 'shoes'], 'query');
    for (const v of vs.slice(0, 3)) {
      expect(v.length).toBe(emb.dim);
      expect(v.every((x) => x === 0)).toBe(true);
    }
    expect(norm(vs[3]!)).toBeCloseTo(1, 5);
    const [alone] = await emb.embedTexts([''], 'query');
    expect(alone!.every((x) => x === 0)).toBe(true);
  });
});
