import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { EmbedRole, TextEmbedder } from './embedder.ts';
import { FEATURIZER_VERSION, featurize, type Features } from './ngram-features.ts';

/** Largest padded tensor (batch x features) sent in one session run: ~100 MB of ORT scratch at dim 128. */
const MAX_SLOTS = 1 << 17;

/**
 * Shelf's default text embedder: the small hashed-n-gram embedding bag the project trains itself
 * (models/text_embedder/train.py) and ships in models/default/text-embedder/. Works offline, is
 * bilingual (English words + char n-grams, CJK chars + bigrams) and embeds a short query in tens
 * of microseconds.
 *
 * The model directory holds metadata.json (dim, buckets, featurizer_version, ...) and model.onnx:
 * inputs `ids` int64 [batch, n] (0 = padding) and `weights` float32 [batch, n], output
 * `embeddings` float32 [batch, dim] = normalize(sum_i weights_i * E[ids_i]). Featurization
 * (ngram-features.ts) happens here; one call = one padded tensor = one session run (a call too
 * large for that, over 131,072 batch x feature slots, is cut into consecutive sub-batches).
 *
 * Text with no features at all (empty, whitespace, punctuation or emoji only) embeds to the
 * ALL-ZERO vector: it has similarity 0 to everything instead of a made-up direction. It is the
 * one exception to "vectors are L2-normalised"; callers that search with it get no signal and
 * should treat such a query as empty.
 *
 * The role is ignored: queries and documents share one space and one featurizer.
 */
export interface NgramModelMetadata {
  name: string;
  version: string;
  dim: number;
  buckets: number;
  featurizer_version: string;
  trained_on?: { file: string; rows: number; sha256: string };
  /** Cosine below which a query–product pair is no match (search's match set); see the model card. */
  similarity_threshold?: number;
  metrics?: Record<string, unknown>;
  created_by?: string;
  [key: string]: unknown;
}

export interface NgramEmbedderOptions {
  /** ORT intra-op threads. The model is a gather + sum: one thread is fastest for queries. */
  threads?: number;
}

export class NgramEmbedder implements TextEmbedder {
  readonly id: string;
  readonly dim: number;
  readonly buckets: number;
  readonly similarityThreshold: number | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: NgramModelMetadata,
    modelSha256: string,
    readonly modelDir: string,
  ) {
    this.dim = metadata.dim;
    this.buckets = metadata.buckets;
    this.similarityThreshold =
      typeof metadata.similarity_threshold === 'number' ? metadata.similarity_threshold : undefined;
    this.id = `ngram-${metadata.version}:${modelSha256.slice(0, 12)}`;
  }

  static async load(dir: string, options: NgramEmbedderOptions = {}): Promise<NgramEmbedder> {
    const metaPath = join(dir, 'metadata.json');
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as NgramModelMetadata;
    if (!Number.isInteger(meta.dim) || meta.dim <= 0) throw new Error(`${metaPath}: bad dim ${String(meta.dim)}`);
    if (!Number.isInteger(meta.buckets) || meta.buckets < 2)
      throw new Error(`${metaPath}: bad buckets ${String(meta.buckets)}`);
    if (typeof meta.version !== 'string' || meta.version === '') throw new Error(`${metaPath}: missing version`);
    if (meta.featurizer_version !== FEATURIZER_VERSION) {
      throw new Error(
        `${metaPath}: model was trained with featurizer ${String(meta.featurizer_version)}, this build has ${FEATURIZER_VERSION}`,
      );
    }
    const bytes = await readFile(join(dir, 'model.onnx'));
    const sha = createHash('sha256').update(bytes).digest('hex');
    const threads = options.threads ?? 1;
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    for (const name of ['ids', 'weights']) {
      if (!session.inputNames.includes(name)) throw new Error(`${dir}/model.onnx: no input "${name}"`);
    }
    if (!session.outputNames.includes('embeddings')) throw new Error(`${dir}/model.onnx: no output "embeddings"`);
    return new NgramEmbedder(session, meta, sha, resolve(dir));
  }

  async embedTexts(texts: string[], _role: EmbedRole = 'query'): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const feats = texts.map((t) => featurize(t, this.buckets));
    // One padded tensor per call. Only a call whose tensor would exceed MAX_SLOTS (batch x
    // longest text) is cut into consecutive sub-batches, to bound ORT's [batch, n, dim] scratch.
    const out: Float32Array[] = [];
    let start = 0;
    while (start < feats.length) {
      let end = start;
      let n = 1;
      while (end < feats.length) {
        const next = Math.max(n, feats[end]!.ids.length);
        if (end > start && (end - start + 1) * next > MAX_SLOTS) break;
        n = next;
        end++;
      }
      out.push(...(await this.run(feats.slice(start, end), n)));
      start = end;
    }
    return out;
  }

  private async run(feats: Features[], n: number): Promise<Float32Array[]> {
    const b = feats.length;
    const ids = new BigInt64Array(b * n); // zero = padding
    const weights = new Float32Array(b * n);
    for (let r = 0; r < b; r++) {
      const f = feats[r]!;
      const base = r * n;
      for (let k = 0; k < f.ids.length; k++) {
        ids[base + k] = BigInt(f.ids[k]!);
        weights[base + k] = f.weights[k]!;
      }
    }
    const res = await this.session.run({
      ids: new ort.Tensor('int64', ids, [b, n]),
      weights: new ort.Tensor('float32', weights, [b, n]),
    });
    const emb = res['embeddings'];
    if (!emb || !(emb.data instanceof Float32Array) || emb.data.length !== b * this.dim) {
      throw new Error(
        `ngram embedder: unexpected output (dims ${JSON.stringify(emb?.dims)}, expected [${b}, ${this.dim}])`,
      );
    }
    const data = emb.data;
    const result: Float32Array[] = new Array(b);
    for (let r = 0; r < b; r++) result[r] = data.slice(r * this.dim, (r + 1) * this.dim);
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
