import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { l2normalize, type EmbedRole, type ImageEmbedder, type TextEmbedder } from '../../core/embedding/embedder.ts';
import { analyze } from '../../core/text/analyze.ts';

/**
 * A deterministic stand-in embedder for tests of the pipeline around the model: each analysed
 * token is hashed to a few signed dimensions, so texts sharing words are close. Counts calls
 * so tests can prove what was (not) re-embedded.
 */
export class HashEmbedder implements TextEmbedder {
  calls = 0;
  texts = 0;
  constructor(
    readonly dim = 64,
    readonly id = `hash-test:${dim}`,
  ) {}

  async embedTexts(texts: string[], _role: EmbedRole): Promise<Float32Array[]> {
    this.calls++;
    this.texts += texts.length;
    return texts.map((t) => {
      const v = new Float32Array(this.dim);
      for (const tok of analyze(t)) {
        const h = createHash('md5').update(tok).digest();
        for (let j = 0; j < 3; j++) v[h[j]! % this.dim]! += h[j + 3]! % 2 === 0 ? 1 : -1;
      }
      if (v.every((x) => x === 0)) v[0] = 1;
      return l2normalize(v);
    });
  }
}

/** Fails after `okCalls` successful calls: simulates a crash or an unreachable model server. */
export class FailingEmbedder extends HashEmbedder {
  constructor(
    private okCalls = 0,
    dim = 64,
    id = `hash-test:${dim}`,
  ) {
    super(dim, id);
  }
  override async embedTexts(texts: string[], role: EmbedRole): Promise<Float32Array[]> {
    if (this.okCalls-- <= 0) throw new Error('embedder unavailable');
    return super.embedTexts(texts, role);
  }
}

/**
 * Stands in for CLIP in pipeline tests: an "image" is a file whose text content describes it,
 * embedded in the same space as text queries. Missing files fail like unreadable images do.
 */
export class FakeImageEmbedder extends HashEmbedder implements ImageEmbedder {
  images = 0;
  constructor(dim = 32) {
    super(dim, `fake-image:${dim}`);
  }
  async embedImages(sources: string[]): Promise<Float32Array[]> {
    this.images += sources.length;
    return this.embedTexts(
      sources.map((s) => fs.readFileSync(s, 'utf8')),
      'document',
    );
  }
}
