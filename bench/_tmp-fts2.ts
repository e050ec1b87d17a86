export {};
import Database from 'better-sqlite3';
import { analyze } from '../src/text/analyze.ts';
import { syntheticCatalog } from './synthetic.ts';
import { summarize } from './stats.ts';
const db = new Database('/tmp/fts-copy.sqlite');
db.exec("INSERT INTO docs_fts(docs_fts, rank) VALUES('rank', 'bm25(4, 2.5, 1.5, 1.5, 1)')");
const { queries } = syntheticCatalog(10, 42, 500);
const m = (q: string, op: string) => [...new Set(analyze(q))].map((t) => `"${t}"`).join(` ${op} `);
const sR = db.prepare(`SELECT rowid, rank FROM docs_fts WHERE docs_fts MATCH ? ORDER BY rank LIMIT 100`);
const sB = db.prepare(`SELECT rowid, bm25(docs_fts, 4, 2.5, 1.5, 1.5, 1) s FROM docs_fts WHERE docs_fts MATCH ? ORDER BY s LIMIT 100`);
for (let rep = 0; rep < 2; rep++) for (const [name, st] of [['rank_and', sR], ['bm25_and', sB]] as const) {
  const ms: number[] = [];
  for (const q of queries) { const t = performance.now(); st.all(m(q, 'AND')); ms.push(performance.now() - t); }
  console.log(name, JSON.stringify(summarize(ms)));
}
const slow = queries.map((q) => { const t = performance.now(); sR.all(m(q, 'AND')); return [performance.now() - t, q] as const; }).sort((a, b) => b[0] - a[0]).slice(0, 8);
console.log(slow);
