/**
 * Learned-fusion probe, step 1 (a measurement, not a shipped path): for every judged query with a
 * relevant product, the union of both routes' top 100 as the real searcher returns it, one row per
 * candidate with its route evidence (`debug=true`), simple title-match features and the judged grade
 * (empty when unjudged). `fit.py` then learns a fusion over these rows. Results: docs/BENCHMARKS.md
 * "Learned fusion over route features (probe)".
 *
 *   npx tsx eval/search/fusion-probe/route-features.ts DATA_DIR EMBEDDER OUT.tsv [INDEX_DIR]
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { openEvalEngine } from '../engine.ts';
import { readDataset } from '../datasets.ts';
import { parseEmbedderSpec } from '../../../core/embedding/load.ts';

const COLUMNS = [
  'qid',
  'pid',
  'grade',
  'qlen',
  'fused',
  'fused_rank',
  'bm25_rank',
  'bm25_score',
  'bm25_cov',
  'vec_rank',
  'vec_score',
  'title_len',
  'title_cov',
  'phrase',
] as const;

const tokens = (t: string) =>
  t
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

async function main(): Promise<void> {
  const [data, embedder, out, indexDir] = process.argv.slice(2);
  if (!data || !embedder || !out) {
    throw new Error('usage: route-features.ts DATA_DIR EMBEDDER OUT.tsv [INDEX_DIR]');
  }
  const log = (l: string) => process.stderr.write(l + '\n');
  const ds = await readDataset(data);
  const engine = await openEvalEngine({
    productsPath: `${data}/products.jsonl`,
    embedder: parseEmbedderSpec(embedder),
    indexDir,
    retrieval: { recall_k: 100 },
    depth: 200,
    log,
  });
  try {
    const searcher = await engine.openSearcher({ recall_k: 100 });
    const w = createWriteStream(out);
    w.write(COLUMNS.join('\t') + '\n');
    let n = 0;
    for (const q of ds.queries) {
      const grades = ds.qrels.get(q.id);
      if (!grades || ![...grades.values()].some((g) => g > 0)) continue;
      const res = await searcher.search({ q: q.query, size: 200, page: 1, routes: ['bm25', 'vector'], debug: true });
      const qt = tokens(q.query);
      const qs = new Set(qt);
      for (const [i, it] of res.items.entries()) {
        const d = it.debug;
        const tt = tokens(it.title);
        const ts = new Set(tt);
        const cover = qs.size ? [...qs].filter((x) => ts.has(x)).length / qs.size : 0;
        const cell = (x: number | undefined) => (x === undefined ? '' : String(x));
        const row = [
          q.id,
          it.id,
          cell(grades.get(it.id)),
          qt.length,
          cell(d?.fused_score),
          i + 1,
          cell(d?.bm25_rank),
          cell(d?.bm25_score),
          cell(d?.bm25_coverage),
          cell(d?.vector_rank),
          cell(d?.vector_score),
          tt.length,
          cover.toFixed(4),
          tt.join(' ').includes(qt.join(' ')) ? 1 : 0,
        ];
        if (!w.write(row.join('\t') + '\n')) await once(w, 'drain');
      }
      if (++n % 1000 === 0) log(`${n} queries`);
    }
    w.end();
    await once(w, 'finish');
  } finally {
    await engine.close();
  }
}

await main();
