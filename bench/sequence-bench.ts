import { loadavg } from 'node:os';
import { mulberry32 } from '../core/rng.ts';
import { SequenceConfigSchema, SequenceRecall } from '../retrieval/recall/sequence-recall.ts';
import { ExactVectors } from '../eval/feed/exact-vectors.ts';
import { DEFAULT_SEQUENCE_FULL_SCAN_KB } from '../retrieval/index/sequence-items.ts';
import { summarize } from './stats.ts';

/**
 * Serving cost of the sequence route, per call, one at a time (as a feed request pays it):
 * the shopper tower alone (onnxruntime-node, one history), the route on a cache miss (tower +
 * item index) and on a hit (the same recent items again: the index only). Histories are seeded
 * random draws from the model's items, 1 to max_len long. The item index is measured both ways,
 * side by side in one run: as served (`full_scan`: scanned exactly while the table is under
 * `sequence.full_scan_threshold_kb`, else the graph) and the HNSW graph alone (`hnsw`), each with
 * what it costs in accuracy: recall@k against the exact top k by inner product.
 */
export async function runSequenceBench(o: { modelDir: string; calls: number; k: number; seed: number }) {
  const open = (fullScanKb?: number) =>
    SequenceRecall.open(
      SequenceConfigSchema.parse({
        model_dir: o.modelDir,
        refresh_ms: 0,
        min_catalog_coverage: 0,
        ...(fullScanKb !== undefined && { full_scan_threshold_kb: fullScanKb }),
      }),
      { log: () => {} },
    );
  const served = await open();
  const graph = await open(0);
  const model = served.model;
  try {
    if (!model) throw new Error(`no usable sequence model in ${o.modelDir}: ${served.status.reason}`);
    const rng = mulberry32(o.seed);
    const ids = model.itemIds;
    const histories = Array.from({ length: o.calls }, () =>
      Array.from({ length: 1 + Math.floor(rng() * model.maxLen) }, () => ids[Math.floor(rng() * ids.length)]!),
    );
    const time = async (fn: (h: string[]) => Promise<unknown>) => {
      for (const h of histories.slice(0, 20)) await fn(h); // warm-up
      const ms: number[] = [];
      for (const h of histories) {
        const t0 = performance.now();
        await fn(h);
        ms.push(performance.now() - t0);
      }
      return summarize(ms);
    };
    const tower = await time((h) => model.shopperVector(h));
    const route = async (seq: SequenceRecall, tag: string) => {
      // Each history once more with one new item at the end: a miss, as after a click.
      let n = 0;
      const miss = await time((h) => seq.recall([...h, `__new_${tag}_${n++}`, ids[n % ids.length]!], o.k));
      const hit = await time((h) => seq.recall(h, o.k));
      const recall = await recallVsExact(seq, histories.slice(0, Math.min(200, histories.length)), o.k);
      return { route_cache_miss: miss, route_cache_hit: hit, recall_vs_exact: recall };
    };
    const scanned = await route(served, 'scan');
    const hnsw = await route(graph, 'hnsw');
    return {
      model: { version: model.version, items: ids.length, dim: model.dim, max_len: model.maxLen },
      calls: o.calls,
      k: o.k,
      load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
      shopper_tower: tower,
      /** The index as served: exact scan under `sequence.full_scan_threshold_kb` (the default), else the graph. */
      full_scan_threshold_kb: DEFAULT_SEQUENCE_FULL_SCAN_KB,
      ...scanned,
      /** The same calls on the HNSW graph alone (`full_scan_threshold_kb` 0), what a larger table gets. */
      hnsw,
    };
  } finally {
    await served.close();
    await graph.close();
  }
}

/** Mean share of the exact top k (all items scored, the history left out) that the route returned. */
async function recallVsExact(seq: SequenceRecall, histories: readonly string[][], k: number): Promise<number> {
  const model = seq.model!;
  const { dim, table, itemIds } = model;
  const exactIndex = new ExactVectors(new Map(itemIds.map((id, r) => [id, table.subarray(r * dim, (r + 1) * dim)])));
  let sum = 0;
  for (const h of histories) {
    const v = await model.shopperVector(h);
    if (!v) continue;
    const skip = new Set(h);
    const exact = exactIndex
      .search(v, k + skip.size)
      .filter((x) => !skip.has(x.id))
      .slice(0, k);
    const got = new Set((await seq.recall(h, k)).map((x) => x.id));
    sum += exact.filter((e) => got.has(e.id)).length / Math.max(1, exact.length);
  }
  return Math.round((sum / Math.max(1, histories.length)) * 10_000) / 10_000;
}
