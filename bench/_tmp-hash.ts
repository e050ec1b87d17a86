export {};
import { runSearchBench } from './search-bench.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
const n = Number(process.argv[2] ?? 10000);
const r = await runSearchBench({ products: n, outDir: '/tmp/bench-out', embedder: new HashEmbedder(128), queries: 500, quiet: false });
console.log(JSON.stringify({ p50: r.p50_ms, p99: r.p99_ms, qps: r.qps, ann: r['ann_recall@10'], idx: r.index, inproc: r.in_process }));
