export {};
import Database from 'better-sqlite3';
import { analyze } from '../src/text/analyze.ts';
import { syntheticCatalog } from './synthetic.ts';
import { summarize } from './stats.ts';
import fs from 'node:fs';
const dir = process.argv[2]!;
const gen = fs.readFileSync(dir + '/CURRENT', 'utf8').trim();
const db = new Database(`${dir}/${gen}/index.sqlite`, { readonly: true });
const { queries } = syntheticCatalog(10, 42, 500);
const W = '4, 2.5, 1.5, 1.5, 1';
const variants: Record<string, (q: string) => unknown[]> = {};
const sA = db.prepare(`SELECT d.id, bm25(docs_fts, ${W}) s FROM docs_fts JOIN docs d ON d.rowid = docs_fts.rowid WHERE docs_fts MATCH ? ORDER BY s LIMIT 100`);
const sB = db.prepare(`SELECT rowid, bm25(docs_fts, ${W}) s FROM docs_fts WHERE docs_fts MATCH ? ORDER BY s LIMIT 100`);
const sCount = db.prepare(`SELECT count(*) n FROM docs_fts WHERE docs_fts MATCH ?`);
const m = (q: string, op: string) => [...new Set(analyze(q))].map((t) => `"${t}"`).join(` ${op} `);
variants.join_or = (q) => sA.all(m(q, 'OR'));
variants.nojoin_or = (q) => sB.all(m(q, 'OR'));
variants.nojoin_and = (q) => sB.all(m(q, 'AND'));
for (const [name, fn] of Object.entries(variants)) {
  const ms: number[] = [];
  for (const q of queries) { const t = performance.now(); fn(q); ms.push(performance.now() - t); }
  console.log(name, JSON.stringify(summarize(ms)));
}
const counts = queries.slice(0, 200).map((q) => (sCount.get(m(q, 'OR')) as { n: number }).n).sort((a, b) => a - b);
console.log('OR match counts p50/p90/max', counts[100], counts[180], counts[199]);
const sF = db.prepare(`SELECT d.id, bm25(docs_fts, ${W}) s FROM docs_fts JOIN docs d ON d.rowid = docs_fts.rowid WHERE docs_fts MATCH ? AND d.brand_key = ? ORDER BY s LIMIT 100`);
const sF2 = db.prepare(`SELECT rowid, bm25(docs_fts, ${W}) s FROM docs_fts WHERE docs_fts MATCH ? AND rowid IN (SELECT rowid FROM docs WHERE brand_key = ?) ORDER BY s LIMIT 100`);
const sF3 = db.prepare(`SELECT d.id, bm25(docs_fts, ${W}) s FROM docs_fts JOIN docs d ON d.rowid = docs_fts.rowid WHERE docs_fts MATCH ? AND d.category_key LIKE 'electronics/%' ORDER BY s LIMIT 100`);
for (const [name, st, arg] of [['filter_brand_join', sF, 'norvo'], ['filter_brand_in', sF2, 'norvo'], ['filter_cat_join', sF3, undefined]] as const) {
  const ms: number[] = [];
  for (const q of queries.slice(0, 200)) { const t = performance.now(); arg ? st.all(m(q, 'AND'), arg) : st.all(m(q, 'AND')); ms.push(performance.now() - t); }
  console.log(name, JSON.stringify(summarize(ms)));
}
