import { createHash } from 'node:crypto';
import { l2normalize, type EmbedRole, type TextEmbedder } from '../../src/embedding/embedder.ts';
import { analyze } from '../../src/text/analyze.ts';

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
