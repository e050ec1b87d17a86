import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/**
 * A trained sequential shopper model: models/sequence/train.py writes, into one folder,
 * shopper_tower.onnx (input `items` int64 [N, L], item indices left-padded with 0, most recent
 * last → `shopper` float32 [N, D]), item_tower.onnx (`ids` int64 [M] → `vectors` float32 [M, D]),
 * items.json (index i + 1 is items[i]) and metadata.json (version, format, sha256 of each file,
 * metrics) last. A product's score for a shopper is the dot product of the two vectors.
 *
 * Optionally text_projection.onnx (`text` float32 [N, T] → `vectors` float32 [N, D]): a map from
 * the text embedding of a product (the served index's stored, L2-normalised document vector, of
 * the embedder metadata.text_projection.embedder_id names) into the item space, fitted on the
 * products that have interactions, so a product the model never saw still gets a vector.
 */
export const SEQUENCE_FORMAT = 'shelf-sequence-v1';

export interface SequenceModelMetadata {
  name?: string;
  format: string;
  version: string;
  dim: number;
  max_len: number;
  items: number;
  inputs: string[];
  types: string[];
  files: Record<string, string>;
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
  /** Present when the folder has text_projection.onnx. */
  text_projection?: TextProjectionMetadata;
  [key: string]: unknown;
}

export interface TextProjectionMetadata {
  /** The text embedder whose document vectors it reads (TextEmbedder.id). */
  embedder_id: string;
  text_dim: number;
  [key: string]: unknown;
}

/** The folder holds a model this build must not use. `incomplete`: a deploy in progress, retry later. */
export class SequenceModelRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: 'format_mismatch' | 'invalid_model' | 'incomplete' | 'catalog_mismatch',
  ) {
    super(message);
  }
}

const FILES = ['shopper_tower.onnx', 'item_tower.onnx', 'items.json'] as const;
const PROJECTION = 'text_projection.onnx';

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

export class SequenceModel {
  private constructor(
    private readonly shopper: ort.InferenceSession,
    readonly metadata: SequenceModelMetadata,
    /** Item ids in table order (row r is index r + 1 in the towers). */
    readonly itemIds: readonly string[],
    private readonly index: ReadonlyMap<string, number>,
    /** The item embedding table, row-major, items × dim. */
    readonly table: Float32Array,
    private readonly projection?: ort.InferenceSession,
  ) {}

  /** The text embedder whose vectors project() reads; undefined: the model has no text projection. */
  get textEmbedderId(): string | undefined {
    return this.projection ? this.metadata.text_projection?.embedder_id : undefined;
  }

  get version(): string {
    return this.metadata.version;
  }
  /**
   * Names this model's item index (a Qdrant collection): the version and the item table's digest,
   * so a folder retrained under the same `--version` never reuses another table's vectors.
   */
  get indexKey(): string {
    return `${this.metadata.version}-${(this.metadata.files['item_tower.onnx'] ?? '').slice(0, 12)}`;
  }
  get dim(): number {
    return this.metadata.dim;
  }
  get maxLen(): number {
    return this.metadata.max_len;
  }

  static async load(dir: string): Promise<SequenceModel> {
    const metaPath = join(dir, 'metadata.json');
    let meta: SequenceModelMetadata;
    try {
      meta = JSON.parse(await readFile(metaPath, 'utf8')) as SequenceModelMetadata;
    } catch (err) {
      throw new SequenceModelRefusedError(`${metaPath}: ${(err as Error).message}`, 'invalid_model');
    }
    if (meta.format !== SEQUENCE_FORMAT)
      throw new SequenceModelRefusedError(
        `${dir}: model format ${String(meta.format)}, this build reads ${SEQUENCE_FORMAT}: refused`,
        'format_mismatch',
      );
    if (typeof meta.version !== 'string' || meta.version === '' || !(meta.dim > 0) || !(meta.max_len > 0))
      throw new SequenceModelRefusedError(`${metaPath}: no version, dim or max_len`, 'invalid_model');
    // Typed models take the event type of each input; the service keeps no types per recent item yet.
    if (meta.inputs?.join(',') !== 'items')
      throw new SequenceModelRefusedError(
        `${dir}: the shopper tower takes ${String(meta.inputs)}, this build feeds "items" only`,
        'format_mismatch',
      );
    const bytes: Record<string, Buffer> = {};
    for (const f of FILES) {
      try {
        bytes[f] = await readFile(join(dir, f));
      } catch (err) {
        throw new SequenceModelRefusedError(`${dir}/${f}: ${(err as Error).message}`, 'incomplete');
      }
      // A deploy writes the files first and metadata.json last: between the two they disagree.
      if (createHash('sha256').update(bytes[f]).digest('hex') !== meta.files?.[f])
        throw new SequenceModelRefusedError(
          `${dir}: ${f} does not match metadata.json (deploy in progress?)`,
          'incomplete',
        );
    }
    const itemIds = JSON.parse(bytes['items.json']!.toString('utf8')) as string[];
    if (!Array.isArray(itemIds) || itemIds.length !== meta.items)
      throw new SequenceModelRefusedError(`${dir}/items.json: expected ${meta.items} item ids`, 'invalid_model');
    const tp = meta.text_projection;
    if (meta.files?.[PROJECTION] !== undefined) {
      if (typeof tp?.embedder_id !== 'string' || !(tp.text_dim > 0))
        throw new SequenceModelRefusedError(
          `${metaPath}: text_projection without embedder_id or text_dim`,
          'invalid_model',
        );
      try {
        bytes[PROJECTION] = await readFile(join(dir, PROJECTION));
      } catch (err) {
        throw new SequenceModelRefusedError(`${dir}/${PROJECTION}: ${(err as Error).message}`, 'incomplete');
      }
      if (createHash('sha256').update(bytes[PROJECTION]).digest('hex') !== meta.files[PROJECTION])
        throw new SequenceModelRefusedError(
          `${dir}: ${PROJECTION} does not match metadata.json (deploy in progress?)`,
          'incomplete',
        );
    }
    const opened: ort.InferenceSession[] = [];
    const session = async (b: Buffer) => {
      const s = await ort.InferenceSession.create(b, SESSION_OPTIONS);
      opened.push(s);
      return s;
    };
    let shopper: ort.InferenceSession;
    let itemTower: ort.InferenceSession;
    let projection: ort.InferenceSession | undefined;
    try {
      shopper = await session(bytes['shopper_tower.onnx']!);
      itemTower = await session(bytes['item_tower.onnx']!);
      projection = bytes[PROJECTION] ? await session(bytes[PROJECTION]) : undefined;
    } catch (err) {
      for (const s of opened) await s.release();
      throw new SequenceModelRefusedError(`${dir}: ${(err as Error).message}`, 'invalid_model');
    }
    try {
      if (!shopper.inputNames.includes('items') || !shopper.outputNames.includes('shopper'))
        throw new SequenceModelRefusedError(
          `${dir}/shopper_tower.onnx: expected input "items" and output "shopper"`,
          'invalid_model',
        );
      // The table, read once through the exported item tower (so what is served is what was exported).
      const ids = new BigInt64Array(itemIds.length);
      for (let i = 0; i < ids.length; i++) ids[i] = BigInt(i + 1);
      const out = await itemTower.run({ ids: new ort.Tensor('int64', ids, [ids.length]) });
      const table = out.vectors!.data as Float32Array;
      if (table.length !== itemIds.length * meta.dim)
        throw new SequenceModelRefusedError(`${dir}/item_tower.onnx: table is not items × dim`, 'invalid_model');
      if (projection && (!projection.inputNames.includes('text') || !projection.outputNames.includes('vectors')))
        throw new SequenceModelRefusedError(
          `${dir}/${PROJECTION}: expected input "text" and output "vectors"`,
          'invalid_model',
        );
      return new SequenceModel(shopper, meta, itemIds, new Map(itemIds.map((id, i) => [id, i])), table, projection);
    } catch (err) {
      await shopper.release();
      await projection?.release();
      if (err instanceof SequenceModelRefusedError) throw err;
      throw new SequenceModelRefusedError(`${dir}: ${(err as Error).message}`, 'invalid_model');
    } finally {
      await itemTower.release();
    }
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** The learned vector of a product (a view into the table), or undefined when the model never saw it. */
  itemVector(id: string): Float32Array | undefined {
    const r = this.index.get(id);
    return r === undefined ? undefined : this.table.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** The tower's input row for a history (oldest first): known items only, the last max_len, left-padded. */
  encode(history: readonly string[]): BigInt64Array | undefined {
    const known: number[] = [];
    for (const id of history) {
      const r = this.index.get(id);
      if (r !== undefined) known.push(r + 1);
    }
    if (known.length === 0) return undefined;
    const row = new BigInt64Array(this.maxLen);
    const tail = known.slice(-this.maxLen);
    tail.forEach((x, i) => (row[this.maxLen - tail.length + i] = BigInt(x)));
    return row;
  }

  /**
   * Shopper vectors for many histories in one session run (oldest item first in each). A history
   * with no item the model knows gets undefined: the route then has nothing to say for that shopper.
   */
  async shopperVectors(histories: ReadonlyArray<readonly string[]>): Promise<Array<Float32Array | undefined>> {
    const rows = histories.map((h) => this.encode(h));
    const present = rows.flatMap((r, i) => (r ? [i] : []));
    const out: Array<Float32Array | undefined> = rows.map(() => undefined);
    if (present.length === 0) return out;
    const x = new BigInt64Array(present.length * this.maxLen);
    present.forEach((i, k) => x.set(rows[i]!, k * this.maxLen));
    const res = await this.shopper.run({ items: new ort.Tensor('int64', x, [present.length, this.maxLen]) });
    const data = res.shopper!.data as Float32Array;
    present.forEach((i, k) => (out[i] = data.slice(k * this.dim, (k + 1) * this.dim)));
    return out;
  }

  async shopperVector(history: readonly string[]): Promise<Float32Array | undefined> {
    return (await this.shopperVectors([history]))[0];
  }

  /**
   * Share of the catalog the item table covers. A model trained on another shop (or a catalog
   * renumbered since) covers almost nothing: the service refuses it rather than serving noise.
   */
  coverage(catalogIds: Iterable<string>): number {
    let n = 0;
    let hit = 0;
    for (const id of catalogIds) {
      n++;
      if (this.index.has(id)) hit++;
    }
    return n === 0 ? 0 : hit / n;
  }

  /**
   * Item-space vectors of products the model never saw, from their text vectors (the embedder
   * textEmbedderId names, L2-normalised as the index stores them). Empty without a projection.
   */
  async project(textVectors: readonly Float32Array[]): Promise<Float32Array[]> {
    const p = this.projection;
    const t = this.metadata.text_projection?.text_dim ?? 0;
    if (!p || textVectors.length === 0) return [];
    const x = new Float32Array(textVectors.length * t);
    textVectors.forEach((v, i) => {
      if (v.length !== t) throw new Error(`text vector has ${v.length} dimensions, the projection reads ${t}`);
      x.set(v, i * t);
    });
    const out = (await p.run({ text: new ort.Tensor('float32', x, [textVectors.length, t]) })).vectors!
      .data as Float32Array;
    return textVectors.map((_, i) => out.slice(i * this.dim, (i + 1) * this.dim));
  }

  async close(): Promise<void> {
    await this.shopper.release();
    await this.projection?.release();
  }
}
