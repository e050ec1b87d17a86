/**
 * Everything that turns text (or images) into vectors goes through this interface, so the
 * indexer, the service and the eval never know which model is behind it.
 *
 * Vectors are L2-normalised: stores use cosine distance and dot products interchangeably.
 */
export type EmbedRole = 'query' | 'document';

export interface TextEmbedder {
  /** Stable identity of model + weights (e.g. "ngram-v1:3f2a9c"): part of every embedding cache key. */
  readonly id: string;
  readonly dim: number;
  /** Some models (e5) want different prefixes for queries and documents; the role lets them. */
  embedTexts(texts: string[], role: EmbedRole): Promise<Float32Array[]>;
  /**
   * The model's calibrated similarity threshold (stored with the model): a query–product cosine
   * below it is no match. Undefined: uncalibrated, every neighbour counts.
   */
  readonly similarityThreshold?: number | undefined;
  /**
   * The folder the model was loaded from (absolute), when it came from one: every index generation
   * records it beside the id, so a service can load the model a new generation was built with.
   */
  readonly modelDir?: string | undefined;
  close?(): Promise<void>;
}

/** A joint text-image model (CLIP): images at index time, text queries land in the same space. */
export interface ImageEmbedder extends TextEmbedder {
  /** Local paths (or URLs when remote loading is allowed). */
  embedImages(sources: string[]): Promise<Float32Array[]>;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}
