/**
 * The item facts the reducer and the user-vector route need: a vector per item and its
 * category. Vectors come from item text with the project's embedder when the catalog has text,
 * otherwise from co-occurrence in the training interactions (models/item_embeddings), because
 * ids alone give the route nothing to search with.
 */
import type { ItemInfo } from '../../behavior/user-state.ts';
import { trainItemEmbeddings } from '../../models/item_embeddings/ppmi-svd.ts';
import type { CatalogItem, Interaction } from './sequential-data.ts';
import { groupByUser } from './protocol.ts';

export type ItemVectorMode = 'auto' | 'text' | 'cooc' | 'none';

export interface ItemVectorReport {
  source: 'text' | 'cooc' | 'none';
  /** Embedder id for text; trainer settings and stats for cooc. */
  detail: Record<string, unknown>;
  items_with_vector: number;
  /** Cooc vectors are retrained for the test phase (validation items added): its report. */
  test?: ItemVectorReport;
}

export function textOf(item: CatalogItem): string {
  return [item.title, item.description].filter((s): s is string => typeof s === 'string' && s.trim() !== '').join('\n');
}

export function resolveMode(mode: ItemVectorMode, catalog: ReadonlyMap<string, CatalogItem>): 'text' | 'cooc' | 'none' {
  if (mode !== 'auto') return mode;
  return [...catalog.values()].some((it) => textOf(it) !== '') ? 'text' : 'cooc';
}

export async function itemVectors(
  mode: 'text' | 'cooc' | 'none',
  catalog: ReadonlyMap<string, CatalogItem>,
  training: readonly Interaction[],
  opts: { embedder?: string; dim?: number; seed?: number; phase?: string } = {},
): Promise<{ vectors: Map<string, Float32Array>; report: ItemVectorReport }> {
  if (mode === 'none') return { vectors: new Map(), report: { source: 'none', detail: {}, items_with_vector: 0 } };
  if (mode === 'cooc') {
    const sequences = [...groupByUser(training).values()].map((rows) => rows.map((r) => r.item));
    const settings = {
      dim: opts.dim ?? 64,
      window: 5,
      smoothing: 0.75,
      oversample: 16,
      iterations: 3,
      seed: opts.seed ?? 1,
    };
    const trained = trainItemEmbeddings(sequences, settings);
    return {
      vectors: trained.vectors,
      report: {
        source: 'cooc',
        detail: {
          method: 'PPMI of windowed co-occurrence + randomized eigendecomposition (models/item_embeddings)',
          trained_on: `training interactions of the ${opts.phase ?? 'given'} phase only`,
          ...settings,
          ...trained.stats,
          eigenvalues: trained.stats.eigenvalues.slice(0, 8),
        },
        items_with_vector: trained.vectors.size,
      },
    };
  }
  const { loadTextEmbedder, parseEmbedderSpec } = await import('../../core/embedding/load.ts');
  const embedder = await loadTextEmbedder(parseEmbedderSpec(opts.embedder ?? 'default'));
  try {
    const withText = [...catalog.values()].filter((it) => textOf(it) !== '');
    const vectors = new Map<string, Float32Array>();
    for (let i = 0; i < withText.length; i += 256) {
      const chunk = withText.slice(i, i + 256);
      const out = await embedder.embedTexts(chunk.map(textOf), 'document');
      chunk.forEach((it, j) => vectors.set(it.id, out[j]!));
    }
    return {
      vectors,
      report: { source: 'text', detail: { embedder: embedder.id, dim: embedder.dim }, items_with_vector: vectors.size },
    };
  } finally {
    await embedder.close?.();
  }
}

export function itemInfos(
  vectors: ReadonlyMap<string, Float32Array>,
  catalog: ReadonlyMap<string, CatalogItem>,
): Map<string, ItemInfo> {
  const out = new Map<string, ItemInfo>();
  for (const [id, vector] of vectors) out.set(id, { vector });
  for (const [id, it] of catalog)
    if (it.category !== undefined) out.set(id, { ...out.get(id), categoryKey: it.category });
  return out;
}
