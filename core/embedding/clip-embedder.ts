import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  AutoProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  RawImage,
} from '@xenova/transformers';
import { l2normalize, type EmbedRole, type ImageEmbedder } from './embedder.ts';
import {
  assertModelFiles,
  isLocalDir,
  locateModelFile,
  modelName,
  shortSha256,
  withModelEnv,
  type LoadLocation,
} from './transformers-embedder.ts';

/**
 * A CLIP model in transformers.js layout (config.json, tokenizer files, preprocessor_config.json,
 * onnx/text_model[_quantized].onnx, onnx/vision_model[_quantized].onnx): product images are
 * embedded at index time and text queries land in the same space. Vectors are L2-normalised.
 * Offline by default, like TransformersEmbedder.
 */

export interface ClipEmbedderOptions {
  /** Use the *_quantized.onnx files; default: if both exist. */
  quantized?: boolean;
  allowRemote?: boolean;
  cacheDir?: string;
  /** Tokens per text; default: the tokenizer's own limit (77 for CLIP). */
  maxLength?: number;
  /** Texts or images per model call. Default 16. */
  batchSize?: number;
}

interface TensorLike {
  dims: number[];
  data: Float32Array;
}
type Inputs = Record<string, unknown>;
interface Tokenizer {
  (texts: string[], opts: { padding: boolean; truncation: boolean }): Inputs;
  model_max_length: number | undefined;
}
interface Processor {
  (images: unknown[]): Promise<{ pixel_values: unknown }>;
}
interface Tower {
  (inputs: Inputs): Promise<Record<string, TensorLike>>;
  session: { inputNames: string[] };
  dispose(): Promise<unknown>;
}

const CONFIG_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'];

export class ClipEmbedder implements ImageEmbedder {
  private closed = false;

  private constructor(
    readonly id: string,
    readonly dim: number,
    private readonly tokenizer: Tokenizer,
    private readonly processor: Processor,
    private readonly textModel: Tower,
    private readonly visionModel: Tower,
    private readonly batchSize: number,
    private readonly allowRemote: boolean,
  ) {}

  static async load(modelDir: string, opts: ClipEmbedderOptions = {}): Promise<ClipEmbedder> {
    const loc: LoadLocation = { modelDir, allowRemote: opts.allowRemote, cacheDir: opts.cacheDir };
    const local = isLocalDir(modelDir);
    const q = (f: string) => path.join(modelDir, `onnx/${f}_quantized.onnx`);
    const quantized =
      opts.quantized ?? (local ? fs.existsSync(q('text_model')) && fs.existsSync(q('vision_model')) : true);
    const suffix = quantized ? '_quantized' : '';
    const onnxFiles = [`onnx/text_model${suffix}.onnx`, `onnx/vision_model${suffix}.onnx`];
    assertModelFiles(modelDir, [...CONFIG_FILES, ...onnxFiles], opts.allowRemote);

    const [tokenizer, processor, textModel, visionModel] = await withModelEnv(loc, async (name) =>
      Promise.all([
        AutoTokenizer.from_pretrained(name) as unknown as Promise<Tokenizer>,
        AutoProcessor.from_pretrained(name) as unknown as Promise<Processor>,
        CLIPTextModelWithProjection.from_pretrained(name, { quantized }) as unknown as Promise<Tower>,
        CLIPVisionModelWithProjection.from_pretrained(name, { quantized }) as unknown as Promise<Tower>,
      ]),
    );
    const own = tokenizer.model_max_length;
    const limit = typeof own === 'number' && own > 0 ? own : 77;
    tokenizer.model_max_length = opts.maxLength !== undefined ? Math.min(limit, opts.maxLength) : limit;

    const shas: string[] = [];
    for (const f of onnxFiles) {
      const file = locateModelFile(loc, f);
      shas.push(file ? await shortSha256(file) : 'unknown');
    }
    const sha = createHash('sha256').update(shas.join(':')).digest('hex').slice(0, 12);

    const make = (dim: number) =>
      new ClipEmbedder(
        `transformers-clip:${modelName(modelDir)}:${sha}`,
        dim,
        tokenizer,
        processor,
        textModel,
        visionModel,
        Math.max(1, opts.batchSize ?? 16),
        opts.allowRemote === true,
      );
    const [probe] = await make(0).runText(['probe']);
    return make(probe!.length);
  }

  async embedTexts(texts: string[], _role: EmbedRole): Promise<Float32Array[]> {
    this.assertOpen();
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      out.push(...(await this.runText(texts.slice(i, i + this.batchSize))));
    }
    return out;
  }

  /** Local image files (or http(s) URLs when remote loading is allowed). */
  async embedImages(sources: string[]): Promise<Float32Array[]> {
    this.assertOpen();
    const out: Float32Array[] = [];
    for (let i = 0; i < sources.length; i += this.batchSize) {
      const batch = sources.slice(i, i + this.batchSize);
      const images = await Promise.all(batch.map((s) => this.readImage(s)));
      const { pixel_values } = await this.processor(images);
      const res = await this.visionModel({ pixel_values });
      out.push(...this.rows(res['image_embeds'], 'image_embeds', batch.length));
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.textModel.dispose(), this.visionModel.dispose()]);
  }

  private async runText(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const enc = this.tokenizer(texts, { padding: true, truncation: true });
    // Feed only what the graph takes (CLIP exports differ on attention_mask).
    const inputs: Inputs = {};
    for (const name of this.textModel.session.inputNames) inputs[name] = enc[name];
    const res = await this.textModel(inputs);
    return this.rows(res['text_embeds'], 'text_embeds', texts.length);
  }

  private rows(t: TensorLike | undefined, name: string, n: number): Float32Array[] {
    if (!t) throw new Error(`CLIP model gave no ${name}`);
    const dim = t.dims[t.dims.length - 1]!;
    if (t.dims.length !== 2 || t.dims[0] !== n || (this.dim > 0 && dim !== this.dim)) {
      throw new Error(`CLIP ${name} has shape [${t.dims.join(', ')}], expected [${n}, ${this.dim || 'dim'}]`);
    }
    const out: Float32Array[] = [];
    for (let j = 0; j < n; j++) out.push(l2normalize(t.data.slice(j * dim, (j + 1) * dim)));
    return out;
  }

  private async readImage(source: string): Promise<unknown> {
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
    if (isUrl) {
      if (!this.allowRemote) throw new Error(`image ${source} is a URL and remote loading is off`);
    } else if (!fs.existsSync(source)) {
      throw new Error(`image file ${source} does not exist`);
    }
    try {
      return await RawImage.read(source);
    } catch (err) {
      throw new Error(`cannot read image ${source}: ${(err as Error).message}`, { cause: err });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`embedder ${this.id} is closed`);
  }
}
