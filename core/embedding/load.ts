import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../paths.ts';
import type { ImageEmbedder, TextEmbedder } from './embedder.ts';

export const DEFAULT_MODEL_DIR = path.join(ROOT, 'models/default/text-embedder');

export type EmbedderSpec =
  | { kind: 'default'; path?: string }
  | {
      kind: 'transformers';
      path: string;
      queryPrefix?: string;
      documentPrefix?: string;
      allowRemote?: boolean;
      cacheDir?: string;
    };

/** "default" or a model folder, as the CLI and SHELF_EMBEDDER spell it. */
export function parseEmbedderSpec(
  model: string,
  extra: { queryPrefix?: string; documentPrefix?: string; allowRemote?: boolean; cacheDir?: string } = {},
): EmbedderSpec {
  if (model === 'default') return { kind: 'default' };
  // A folder the n-gram trainer wrote (models/text_embedder/train.py: its metadata names the featurizer).
  if (isNgramModelDir(model)) return { kind: 'default', path: path.resolve(model) };
  // A name that is not a local folder stays as given: with remote loading on it is a hub id.
  return { kind: 'transformers', path: fs.existsSync(model) ? path.resolve(model) : model, ...extra };
}

/** A folder holding an n-gram embedding bag (model.onnx + metadata.json with a featurizer_version). */
export function isNgramModelDir(dir: string): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as {
      featurizer_version?: unknown;
    };
    return typeof meta.featurizer_version === 'string' && fs.existsSync(path.join(dir, 'model.onnx'));
  } catch {
    return false;
  }
}

/**
 * Loads a text embedder. Imports are lazy so a service on the default model never loads
 * transformers.js, and one on a transformers model never loads the n-gram model.
 */
export async function loadTextEmbedder(spec: EmbedderSpec): Promise<TextEmbedder> {
  if (spec.kind === 'default') {
    const dir = spec.path ?? DEFAULT_MODEL_DIR;
    const { NgramEmbedder } = await import('./ngram-embedder.ts');
    return NgramEmbedder.load(dir);
  }
  if (!spec.allowRemote && !fs.existsSync(spec.path)) {
    throw new Error(`model folder ${spec.path} does not exist (remote model loading is off)`);
  }
  const { TransformersEmbedder } = await import('./transformers-embedder.ts');
  return TransformersEmbedder.load(spec.path, {
    ...(spec.queryPrefix !== undefined && { queryPrefix: spec.queryPrefix }),
    ...(spec.documentPrefix !== undefined && { documentPrefix: spec.documentPrefix }),
    ...(spec.allowRemote !== undefined && { allowRemote: spec.allowRemote }),
    ...(spec.cacheDir !== undefined && { cacheDir: spec.cacheDir }),
  });
}

/** The image model named by the configuration, or undefined when images are not indexed. */
export async function loadImageEmbedder(cfg: {
  imageModel?: string | undefined;
  allowRemote?: boolean;
  cacheDir?: string;
}): Promise<ImageEmbedder | undefined> {
  if (!cfg.imageModel) return undefined;
  if (!cfg.allowRemote && !fs.existsSync(cfg.imageModel)) {
    throw new Error(`image model folder ${cfg.imageModel} does not exist (remote model loading is off)`);
  }
  const { ClipEmbedder } = await import('./clip-embedder.ts');
  return ClipEmbedder.load(cfg.imageModel, {
    ...(cfg.allowRemote !== undefined && { allowRemote: cfg.allowRemote }),
    ...(cfg.cacheDir !== undefined && { cacheDir: cfg.cacheDir }),
  });
}
