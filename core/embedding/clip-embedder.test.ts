import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawImage } from '@xenova/transformers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClipEmbedder } from './clip-embedder.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/models');
const TINY_CLIP = path.join(FIXTURES, 'tiny-clip');

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

/** A w x h RGB image, solid colour with a lighter square in one corner, written with sharp. */
async function writeImage(file: string, rgb: [number, number, number], w = 48, h = 40): Promise<string> {
  const data = new Uint8ClampedArray(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const corner = x < w / 4 && y < h / 4;
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = corner ? Math.min(255, rgb[c]! + 60) : rgb[c]!;
    }
  }
  await new RawImage(data, w, h, 3).save(file);
  return file;
}

describe('ClipEmbedder on the tiny CLIP fixture (offline)', () => {
  let e: ClipEmbedder;
  let tmp: string;
  const img: Record<string, string> = {};
  const fetchSpy = vi.spyOn(globalThis, 'fetch');

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-clip-'));
    img.red = await writeImage(path.join(tmp, 'red.png'), [230, 20, 20]);
    img.blue = await writeImage(path.join(tmp, 'blue.jpg'), [20, 30, 220], 30, 64);
    img.green = await writeImage(path.join(tmp, 'green.png'), [20, 200, 40], 100, 20);
    e = await ClipEmbedder.load(TINY_CLIP);
  });
  afterAll(async () => {
    await e.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    fetchSpy.mockRestore();
  });

  it('has the projection dim and an id naming the model and its weights', () => {
    expect(e.dim).toBe(32);
    expect(e.id).toMatch(/^transformers-clip:tiny-clip:[0-9a-f]{12}$/);
  });

  it('embeds texts and images as unit vectors of one dim', async () => {
    const t = await e.embedTexts(['red dress', 'blue jeans', ''], 'query');
    const i = await e.embedImages([img.red!, img.blue!]);
    expect(t).toHaveLength(3);
    expect(i).toHaveLength(2);
    for (const v of [...t, ...i]) {
      expect(v.length).toBe(32);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(await e.embedTexts([], 'document')).toEqual([]);
    expect(await e.embedImages([])).toEqual([]);
  });

  it('is deterministic, and a batch gives what single calls give', async () => {
    const sources = [img.red!, img.blue!, img.green!, img.red!];
    const batch = await e.embedImages(sources);
    for (let k = 0; k < sources.length; k++) {
      const [single] = await e.embedImages([sources[k]!]);
      expect(maxDiff(batch[k]!, single!)).toBeLessThan(1e-5);
    }
    expect(Array.from(batch[3]!)).toEqual(Array.from(batch[0]!));
    const texts = ['red', 'a long blue cotton summer dress for women', 'green'];
    const tb = await e.embedTexts(texts, 'query');
    for (let k = 0; k < texts.length; k++) {
      const [single] = await e.embedTexts([texts[k]!], 'query');
      expect(maxDiff(tb[k]!, single!)).toBeLessThan(1e-5);
    }
  });

  it('puts the text "red" nearer the red image than the blue one (towers and preprocessing wired right)', async () => {
    const [red, blue, green] = await e.embedTexts(['red', 'blue', 'green'], 'query');
    const [ri, bi, gi] = await e.embedImages([img.red!, img.blue!, img.green!]);
    expect(dot(red!, ri!)).toBeGreaterThan(dot(red!, bi!));
    expect(dot(red!, ri!)).toBeGreaterThan(dot(red!, gi!));
    expect(dot(blue!, bi!)).toBeGreaterThan(dot(blue!, ri!));
    expect(dot(green!, gi!)).toBeGreaterThan(dot(green!, bi!));
    expect(dot(ri!, bi!)).toBeLessThan(0.9);
  });

  it('says which image it cannot read, and refuses URLs while offline', async () => {
    const missing = path.join(tmp, 'nope.png');
    await expect(e.embedImages([missing])).rejects.toThrow(`image file ${missing} does not exist`);
    const junk = path.join(tmp, 'junk.png');
    fs.writeFileSync(junk, 'not an image');
    await expect(e.embedImages([junk])).rejects.toThrow(`cannot read image ${junk}`);
    await expect(e.embedImages(['https://example.com/a.png'])).rejects.toThrow(/remote loading is off/);
  });

  it('never touched the network', () => {
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('ClipEmbedder on a missing model (offline)', () => {
  it('names the missing folder or file, and fetches nothing', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-clip-missing-'));
    try {
      const dir = path.join(tmp, 'no-such-clip');
      await expect(ClipEmbedder.load(dir)).rejects.toThrow(`model folder ${dir} does not exist`);
      const half = path.join(tmp, 'half-clip');
      fs.cpSync(TINY_CLIP, half, { recursive: true });
      fs.rmSync(path.join(half, 'onnx/vision_model.onnx'));
      await expect(ClipEmbedder.load(half)).rejects.toThrow(/is missing onnx\/vision_model\.onnx/);
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
