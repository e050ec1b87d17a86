import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TransformersEmbedder } from './transformers-embedder.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/models');
const TINY_BERT = path.join(FIXTURES, 'tiny-bert');

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('TransformersEmbedder on the tiny BERT fixture (offline)', () => {
  let e: TransformersEmbedder;
  const fetchSpy = vi.spyOn(globalThis, 'fetch');

  beforeAll(async () => {
    e = await TransformersEmbedder.load(TINY_BERT, { queryPrefix: 'query: ', documentPrefix: 'passage: ' });
  });
  afterAll(async () => {
    await e.close();
    fetchSpy.mockRestore();
  });

  it('has the model dim and an id naming the model and its weights', () => {
    expect(e.dim).toBe(32);
    // Prefixes change the vectors, so they are part of the identity (as an 8-hex suffix).
    expect(e.id).toMatch(/^transformers:tiny-bert:[0-9a-f]{12}:[0-9a-f]{8}$/);
  });

  it('returns one unit vector per text', async () => {
    const texts = ['running shoes', 'cast iron skillet', 'a', 'Ünïcödé ✓ 123', ''];
    const vs = await e.embedTexts(texts, 'document');
    expect(vs).toHaveLength(texts.length);
    for (const v of vs) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(32);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(await e.embedTexts([], 'query')).toEqual([]);
  });

  it('is deterministic, also across loads', async () => {
    const [a] = await e.embedTexts(['leather wallet'], 'document');
    const [b] = await e.embedTexts(['leather wallet'], 'document');
    expect(Array.from(b!)).toEqual(Array.from(a!));
    const again = await TransformersEmbedder.load(TINY_BERT, { queryPrefix: 'query: ', documentPrefix: 'passage: ' });
    try {
      expect(again.id).toBe(e.id);
      const [c] = await again.embedTexts(['leather wallet'], 'document');
      expect(maxDiff(a!, c!)).toBeLessThan(1e-6);
    } finally {
      await again.close();
    }
  });

  it('gives a text the same vector alone as in a padded batch, in input order', async () => {
    const texts = [
      'red cotton summer dress for women',
      'mug',
      'wireless headphones with a long cable and a soft carry case',
      'blue jeans',
      'mug',
    ];
    const batch = await e.embedTexts(texts, 'document');
    for (let i = 0; i < texts.length; i++) {
      const [single] = await e.embedTexts([texts[i]!], 'document');
      expect(maxDiff(batch[i]!, single!)).toBeLessThan(1e-5);
    }
    expect(maxDiff(batch[1]!, batch[4]!)).toBe(0);
  });

  it('splits big inputs into batches without changing the vectors', async () => {
    const small = await TransformersEmbedder.load(TINY_BERT, { batchSize: 3 });
    const big = await TransformersEmbedder.load(TINY_BERT, { batchSize: 100 });
    try {
      const texts = Array.from({ length: 10 }, (_, i) => `product number ${i} ${'extra '.repeat(i)}`);
      const a = await small.embedTexts(texts, 'document');
      const b = await big.embedTexts(texts, 'document');
      for (let i = 0; i < texts.length; i++) expect(maxDiff(a[i]!, b[i]!)).toBeLessThan(1e-5);
    } finally {
      await small.close();
      await big.close();
    }
  });

  it('puts the role prefix in front: query and document vectors of one text differ', async () => {
    const [q] = await e.embedTexts(['running shoes'], 'query');
    const [d] = await e.embedTexts(['running shoes'], 'document');
    expect(maxDiff(q!, d!)).toBeGreaterThan(1e-3);

    const plain = await TransformersEmbedder.load(TINY_BERT);
    try {
      const [p] = await plain.embedTexts(['query: running shoes'], 'document');
      expect(maxDiff(p!, q!)).toBeLessThan(1e-6);
      const [pq] = await plain.embedTexts(['running shoes'], 'query');
      const [pd] = await plain.embedTexts(['running shoes'], 'document');
      expect(Array.from(pq!)).toEqual(Array.from(pd!));
    } finally {
      await plain.close();
    }
  });

  it('cuts texts at maxLength tokens ([CLS] counted)', async () => {
    const short = await TransformersEmbedder.load(TINY_BERT, { maxLength: 7 });
    try {
      const base = 'red leather bag with gold zip';
      const [a] = await short.embedTexts([`${base} and many many more words after it`], 'document');
      const [b] = await short.embedTexts([`${base} but different words after it`], 'document');
      expect(maxDiff(a!, b!)).toBeLessThan(1e-6);
      const [c] = await e.embedTexts([`${base} and many many more words after it`], 'document');
      const [d] = await e.embedTexts([`${base} but different words after it`], 'document');
      expect(maxDiff(c!, d!)).toBeGreaterThan(1e-3);
    } finally {
      await short.close();
    }
  });

  it('supports cls pooling', async () => {
    const cls = await TransformersEmbedder.load(TINY_BERT, { pooling: 'cls' });
    try {
      const [a] = await cls.embedTexts(['running shoes'], 'document');
      const [b] = await e.embedTexts(['running shoes'], 'document');
      expect(norm(a!)).toBeCloseTo(1, 5);
      expect(maxDiff(a!, b!)).toBeGreaterThan(1e-3);
    } finally {
      await cls.close();
    }
  });

  it('refuses to embed after close', async () => {
    const x = await TransformersEmbedder.load(TINY_BERT);
    await x.close();
    await expect(x.embedTexts(['a'], 'query')).rejects.toThrow(/closed/);
  });

  it('never touched the network', () => {
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('TransformersEmbedder on a missing or broken model (offline)', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-tfm-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names the missing folder, and fetches nothing', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      const dir = path.join(tmp, 'no-such-model');
      await expect(TransformersEmbedder.load(dir)).rejects.toThrow(`model folder ${dir} does not exist`);
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('names the missing file when the folder lacks its ONNX graph', async () => {
    const dir = path.join(tmp, 'half-model');
    fs.mkdirSync(dir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      fs.copyFileSync(path.join(TINY_BERT, f), path.join(dir, f));
    }
    await expect(TransformersEmbedder.load(dir)).rejects.toThrow(/is missing onnx\/model\.onnx/);
    await expect(TransformersEmbedder.load(dir, { quantized: true })).rejects.toThrow(
      /is missing onnx\/model_quantized\.onnx/,
    );
  });

  it('prefers model_quantized.onnx when it exists, and the id follows the file used', async () => {
    const dir = path.join(tmp, 'with-quantized');
    fs.cpSync(TINY_BERT, dir, { recursive: true });
    const plain = await TransformersEmbedder.load(TINY_BERT);
    // Only a "quantized" file (the same graph, so the same hash): loading must pick it by itself.
    const bytes = fs.readFileSync(path.join(dir, 'onnx/model.onnx'));
    fs.writeFileSync(path.join(dir, 'onnx/model_quantized.onnx'), bytes);
    fs.rmSync(path.join(dir, 'onnx/model.onnx'));
    const q = await TransformersEmbedder.load(dir);
    try {
      expect(q.id).toBe(plain.id.replace('tiny-bert', 'with-quantized'));
      await expect(TransformersEmbedder.load(dir, { quantized: false })).rejects.toThrow(/missing onnx\/model\.onnx/);
    } finally {
      await q.close();
      await plain.close();
    }
  });
});

describe('TransformersEmbedder identity', () => {
  it('changes with the settings that change vectors, not with batch size', async () => {
    const plain = await TransformersEmbedder.load(TINY_BERT);
    const batched = await TransformersEmbedder.load(TINY_BERT, { batchSize: 4 });
    const prefixed = await TransformersEmbedder.load(TINY_BERT, { documentPrefix: 'passage: ' });
    expect(plain.id).toMatch(/^transformers:tiny-bert:[0-9a-f]{12}$/);
    expect(batched.id).toBe(plain.id);
    expect(prefixed.id).not.toBe(plain.id);
    await Promise.all([plain.close(), batched.close(), prefixed.close()]);
  });
});
