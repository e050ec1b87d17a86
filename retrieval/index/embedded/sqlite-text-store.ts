import Database from 'better-sqlite3';
import type { Product } from '../../../core/catalog/product.ts';
import { analyze, analyzedText } from '../../../core/text/analyze.ts';
import type { ExploreRequest, Explored, MatchQuery } from '../facets.ts';
import { editDistance, typoBudget } from '../../../core/text/typos.ts';
import {
  correctableGroups,
  matchOf,
  queryGroups,
  type LexicalOptions,
  type LexicalResult,
  type QueryGroup,
} from '../lexical.ts';
import { filterKey, type StoredProduct, type TextStore } from '../stores.ts';
import { filterValues, type Filters, type RouteHit } from '../types.ts';
import { FacetTable } from './facet-table.ts';

/**
 * Embedded BM25: SQLite FTS5 (through better-sqlite3) with Porter stemming for English and
 * pre-analysed CJK bigrams (see core/text/analyze.ts). Filters are SQL predicates in the same
 * statement as the MATCH, so the top-k is taken after filtering.
 *
 * Column weights favour the title, as a shopper's query names the product far more often
 * than it quotes a description.
 */
const FTS_COLUMNS = ['title', 'brand', 'category', 'tags', 'body'] as const;
const DEFAULT_WEIGHTS: Record<(typeof FTS_COLUMNS)[number], number> = {
  title: 4,
  brand: 2.5,
  category: 1.5,
  tags: 1.5,
  body: 1,
};

/**
 * and_first: documents with every query term, relaxed one term at a time (all but one, all but
 * two, ...) until k documents match, then any term.
 * or: any term, always (exact BM25 top-k over the OR, slower on common words).
 */
export type Bm25MatchMode = 'and_first' | 'or';

export const TEXT_SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  rowid INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  doc TEXT NOT NULL,
  category_key TEXT,
  brand_key TEXT,
  price REAL,
  in_stock INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_category ON docs(category_key);
CREATE INDEX IF NOT EXISTS docs_brand ON docs(brand_key);
-- Every analysed (unstemmed) term with the number of documents holding it: what typo
-- tolerance corrects query words against.
CREATE TABLE IF NOT EXISTS vocab (
  term TEXT PRIMARY KEY,
  df INTEGER NOT NULL
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
  ${FTS_COLUMNS.join(', ')},
  tokenize = 'porter unicode61 remove_diacritics 2'
);
`;

export class SqliteTextStore implements TextStore {
  readonly kind = 'sqlite-fts5';
  private readonly weights: string;
  private readonly stmts;
  private readonly matchMode: Bm25MatchMode;
  private readonly vocabStmts:
    | { add: Database.Statement<[string]>; remove: Database.Statement<[string]>; prune: Database.Statement<[]> }
    | undefined;
  /** One prepared statement per query shape (search or browse, times at most 2^5 filter shapes), reused. */
  private readonly shapedStmts = new Map<string, Database.Statement<Record<string, unknown>, unknown>>();
  /** Facet and sort columns, built on first use and dropped on every write (see facet-table.ts). */
  private facetTable: { table: FacetTable; rowOfRowid: Int32Array } | undefined;

  constructor(
    private readonly db: Database.Database,
    opts: { columnWeights?: Partial<typeof DEFAULT_WEIGHTS>; matchMode?: Bm25MatchMode } = {},
  ) {
    this.matchMode = opts.matchMode ?? 'and_first';
    if (!db.readonly) db.exec(TEXT_SCHEMA);
    const w = { ...DEFAULT_WEIGHTS, ...opts.columnWeights };
    this.weights = FTS_COLUMNS.map((c) => w[c]).join(', ');
    this.stmts = {
      rowidOf: db.prepare<[string], { rowid: number }>('SELECT rowid FROM docs WHERE id = ?'),
      insertDoc: db.prepare(
        'INSERT INTO docs (id, hash, doc, category_key, brand_key, price, in_stock) VALUES (@id, @hash, @doc, @category_key, @brand_key, @price, @in_stock)',
      ),
      updateDoc: db.prepare(
        'UPDATE docs SET hash=@hash, doc=@doc, category_key=@category_key, brand_key=@brand_key, price=@price, in_stock=@in_stock WHERE rowid=@rowid',
      ),
      deleteDoc: db.prepare('DELETE FROM docs WHERE rowid = ?'),
      insertFts: db.prepare(`INSERT INTO docs_fts (rowid, ${FTS_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?)`),
      deleteFts: db.prepare('DELETE FROM docs_fts WHERE rowid = ?'),
      hashes: db.prepare<[], { id: string; hash: string }>('SELECT id, hash FROM docs'),
      hashesOf: db.prepare<[string], { id: string; hash: string }>(
        'SELECT id, hash FROM docs WHERE id IN (SELECT value FROM json_each(?))',
      ),
      byIds: db.prepare<[string], { id: string; doc: string }>(
        'SELECT id, doc FROM docs WHERE id IN (SELECT value FROM json_each(?))',
      ),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM docs'),
      docOf: db.prepare<[number], { doc: string }>('SELECT doc FROM docs WHERE rowid = ?'),
      matchRowids: db.prepare<[string], number>('SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?').pluck(),
    };
    // Written only by writers, which create the table; a read-only index from before it existed
    // (rebuilt by the next indexer run, see generation.ts) must still open.
    this.vocabStmts = db.readonly
      ? undefined
      : {
          add: db.prepare('INSERT INTO vocab (term, df) VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET df = df + 1'),
          remove: db.prepare('UPDATE vocab SET df = df - 1 WHERE term = ?'),
          prune: db.prepare('DELETE FROM vocab WHERE df <= 0'),
        };
  }

  async upsert(docs: StoredProduct[]): Promise<void> {
    this.facetTable = undefined;
    const tx = this.db.transaction((batch: StoredProduct[]) => {
      for (const { product, hash } of batch) {
        const row = {
          id: product.id,
          hash,
          doc: JSON.stringify(product),
          category_key: product.category ? filterKey(product.category) : null,
          brand_key: product.brand ? filterKey(product.brand) : null,
          price: product.price ?? null,
          in_stock: product.in_stock ? 1 : 0,
        };
        const existing = this.stmts.rowidOf.get(product.id);
        let rowid: number;
        if (existing) {
          rowid = existing.rowid;
          this.forgetTerms(rowid);
          this.stmts.updateDoc.run({ ...row, rowid });
          this.stmts.deleteFts.run(rowid);
        } else {
          rowid = Number(this.stmts.insertDoc.run(row).lastInsertRowid);
        }
        const columns = ftsColumns(product);
        this.stmts.insertFts.run(rowid, ...columns);
        for (const term of termsOf(columns)) this.vocabStmts?.add.run(term);
      }
      this.vocabStmts?.prune.run();
    });
    tx(docs);
    this.vocab = undefined;
  }

  /** Takes a stored document's terms out of the vocabulary, before it is replaced or deleted. */
  private forgetTerms(rowid: number): void {
    const old = this.stmts.docOf.get(rowid);
    if (!old) return;
    for (const term of termsOf(ftsColumns(JSON.parse(old.doc) as Product))) this.vocabStmts?.remove.run(term);
  }

  async delete(ids: string[]): Promise<void> {
    this.facetTable = undefined;
    const tx = this.db.transaction((batch: string[]) => {
      for (const id of batch) {
        const existing = this.stmts.rowidOf.get(id);
        if (!existing) continue;
        this.forgetTerms(existing.rowid);
        this.stmts.deleteFts.run(existing.rowid);
        this.stmts.deleteDoc.run(existing.rowid);
      }
      this.vocabStmts?.prune.run();
    });
    tx(ids);
    this.vocab = undefined;
  }

  async search(query: string, k: number, filters?: Filters): Promise<RouteHit[]> {
    const tokens = [...new Set(analyze(query))];
    if (tokens.length === 0 || k <= 0) return [];
    return this.matchGroups(tokens.map(quote), k, filters);
  }

  async lexical(
    query: string,
    k: number,
    filters: Filters | undefined,
    opts: LexicalOptions,
  ): Promise<LexicalResult<RouteHit>> {
    const groups = queryGroups(query, opts);
    // A word the index does not hold finds nothing as typed: search the indexed words within
    // its typo budget instead. Words it holds are never corrected, so a document with the word
    // as typed is never outranked by a correction's.
    const toCorrect = correctableGroups(groups, opts);
    if (toCorrect.length > 0) {
      const vocab = this.vocabulary();
      for (const g of toCorrect) {
        if (vocab.has(g.text)) continue;
        for (const to of corrections(vocab, g.text)) g.alternatives.push({ text: to, kind: 'typo' });
      }
    }
    // The last word as a prefix: the indexed words it starts, the most frequent first (as
    // Elasticsearch's max_expansions), and only when it is not itself an indexed word. FTS5's
    // own `word*` reads every term of the range and scores every document holding one ("mat*"
    // matched all 100,000 products of the search bench: 64 ms); a word the shop's catalog holds
    // is taken as typed in full, and completing it is the suggestions' job (GET /v1/suggest).
    const last = groups.at(-1);
    const prefix = last?.alternatives.find((a) => a.kind === 'prefix');
    const completions = new Map<string, string[]>();
    if (last && prefix) {
      const vocab = this.vocabulary();
      const found = vocab.has(prefix.text) ? [] : vocab.completions(prefix.text, MAX_PREFIX_TERMS);
      if (found.length === 0) last.alternatives = last.alternatives.filter((a) => a !== prefix);
      else completions.set(prefix.text, found);
    }
    const expression = (g: QueryGroup) => groupExpression(g, (p) => completions.get(p) ?? []);
    const hits = groups.length === 0 || k <= 0 ? [] : this.matchGroups(groups.map(expression), k, filters);
    return { hits, match: matchOf(groups, opts) };
  }

  /** term → document frequency, read once per store (a snapshot's is read-only) and after writes. */
  private vocab: Vocabulary | undefined;
  private vocabulary(): Vocabulary {
    if (!this.vocab) {
      const hasTable = this.db
        .prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'vocab'")
        .get()!.n;
      this.vocab = new Vocabulary(
        hasTable ? this.db.prepare<[], { term: string; df: number }>('SELECT term, df FROM vocab').all() : [],
      );
    }
    return this.vocab;
  }

  /** BM25 over FTS5 expressions, one per query group (a quoted word, or an OR of alternatives). */
  private matchGroups(quoted: string[], k: number, filters: Filters | undefined): RouteHit[] {
    const n = quoted.length;
    if (n === 1) return this.run(quoted[0]!, k, filters).map((h) => ({ ...h, coverage: 1 }));
    if (this.matchMode === 'or') return this.run(quoted.join(' OR '), k, filters);
    // FTS5 scores every matching row before it can sort (about 0.6 µs a row), and an OR of
    // common words matches most of a catalog. So relax step by step, as Elasticsearch's
    // minimum_should_match does: documents with all n terms, then with any n−1, ... and stop at
    // the first level that fills k. Each level's cost is its own match count, so the work done
    // is about the size of the smallest answer that fills the page.
    //
    // A level is an OR of AND-groups. FTS5's bm25() counts a term once for every matching group
    // that holds it, so a document with j of the n terms scores C(j−1, m−1) times its plain BM25:
    // documents that match more of the query rank higher (Lucene's classic coordination factor).
    // Scores are divided by C(n−1, m−1), so a document with every term keeps its BM25 score.
    //
    // Every level before the last returned all its documents (fewer than k), so the first level
    // a document appears at is the number of query terms it holds: its term coverage, for free.
    const firstLevel = new Map<string, number>();
    const withCoverage = (hits: RouteHit[], floor: number) =>
      hits.map((h) => ({ ...h, coverage: (firstLevel.get(h.id) ?? floor) / n }));
    for (let m = n; m >= 2; m--) {
      const groups = combinations(quoted, m);
      if (groups.length > MAX_GROUPS) break;
      const match = groups.map((g) => `(${g.join(' AND ')})`).join(' OR ');
      const hits = this.run(match, k, filters, binomial(n - 1, m - 1));
      if (hits.length >= k) return withCoverage(hits, m);
      for (const h of hits) if (!firstLevel.has(h.id)) firstLevel.set(h.id, m);
    }
    // A skipped level (too many groups) leaves only a lower bound: one term.
    return withCoverage(this.run(quoted.join(' OR '), k, filters), 1);
  }

  private run(match: string, k: number, filters: Filters | undefined, multiplicity = 1): RouteHit[] {
    const filter = filterSql(filters);
    const where = ['docs_fts MATCH @match', ...filter.where];
    const params: Record<string, unknown> = { match, k, ...filter.params };
    // Without filters the join to docs happens for the top k only, not for every match.
    const sql =
      where.length === 1
        ? `SELECT d.id AS id, t.s AS s FROM (
             SELECT rowid, bm25(docs_fts, ${this.weights}) AS s FROM docs_fts WHERE docs_fts MATCH @match ORDER BY s LIMIT @k
           ) t JOIN docs d ON d.rowid = t.rowid ORDER BY t.s`
        : `SELECT d.id AS id, bm25(docs_fts, ${this.weights}) AS s
             FROM docs_fts JOIN docs d ON d.rowid = docs_fts.rowid
             WHERE ${where.join(' AND ')}
             ORDER BY s LIMIT @k`;
    // FTS5's bm25() is negated so that ascending order is best first; report the usual sign.
    return this.shaped<{ id: string; s: number }>(sql)
      .all(params)
      .map((r) => ({ id: r.id, score: -r.s / multiplicity }));
  }

  async browse(k: number, filters?: Filters): Promise<RouteHit[]> {
    if (k <= 0) return [];
    const filter = filterSql(filters);
    const sql = `SELECT d.id AS id FROM docs d ${filter.where.length > 0 ? `WHERE ${filter.where.join(' AND ')}` : ''} ORDER BY d.id LIMIT @k`;
    return this.shaped<{ id: string }>(sql)
      .all({ k, ...filter.params })
      .map((r) => ({ id: r.id, score: 0 }));
  }

  async explore(m: MatchQuery, r: ExploreRequest): Promise<Explored> {
    const ft = this.table();
    let matched: number[] | undefined;
    if (m.q !== undefined || m.ids !== undefined) {
      matched = [];
      // The lexical part: every analysed term of the query, in any column (FTS5's implicit AND),
      // read as bare rowids (no row objects) and mapped to table rows through an array.
      const tokens = [...new Set(analyze(m.q ?? ''))];
      if (tokens.length > 0) {
        const match = tokens.map((t) => `"${t.replaceAll('"', '""')}"`).join(' AND ');
        for (const rowid of this.stmts.matchRowids.all(match)) {
          const row = rowid < ft.rowOfRowid.length ? ft.rowOfRowid[rowid]! : -1;
          if (row >= 0) matched.push(row);
        }
      }
      for (const id of m.ids ?? []) {
        const row = ft.table.rowOf(id);
        if (row !== undefined) matched.push(row);
      }
    }
    if (m.only !== undefined) {
      const only: number[] = [];
      for (const id of m.only) {
        const row = ft.table.rowOf(id);
        if (row !== undefined) only.push(row);
      }
      if (matched) {
        const inMatch = new Uint8Array(ft.table.size);
        for (const row of matched) inMatch[row] = 1;
        matched = only.filter((row) => inMatch[row] === 1);
      } else matched = only;
    }
    return ft.table.explore(matched, m.filters, r);
  }

  /** Builds the facet and sort columns now rather than on the first search (the searcher calls it before serving a generation). */
  async warm(): Promise<void> {
    this.table().table.warm();
  }

  private table() {
    if (!this.facetTable) {
      // Only the facet and sort fields, read by SQLite's JSON functions: no parse of whole documents.
      const rows = this.shaped<FacetColumns>(
        `SELECT rowid, id, json_extract(doc, '$.category') AS category, json_extract(doc, '$.brand') AS brand, price,
           in_stock, json_extract(doc, '$.updated_at') AS updated_at, json_extract(doc, '$.attributes') AS attributes
         FROM docs ORDER BY rowid`,
      ).all({});
      // rowid → table row; rowids only grow (AUTOINCREMENT), so an array as long as the largest one.
      const rowOfRowid = new Int32Array((rows.at(-1)?.rowid ?? 0) + 1).fill(-1);
      rows.forEach((r, i) => (rowOfRowid[r.rowid] = i));
      const table = new FacetTable(
        rows.map((r) => ({
          id: r.id,
          in_stock: r.in_stock === 1,
          ...(r.category !== null && { category: r.category }),
          ...(r.brand !== null && { brand: r.brand }),
          ...(r.price !== null && { price: r.price }),
          ...(r.updated_at !== null && { updated_at: r.updated_at }),
          ...(r.attributes !== null && { attributes: JSON.parse(r.attributes) as Record<string, string> }),
        })),
      );
      this.facetTable = { table, rowOfRowid };
    }
    return this.facetTable;
  }

  private shaped<Row>(sql: string): Database.Statement<Record<string, unknown>, Row> {
    let stmt = this.shapedStmts.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<Record<string, unknown>, unknown>(sql);
      this.shapedStmts.set(sql, stmt);
    }
    return stmt as Database.Statement<Record<string, unknown>, Row>;
  }

  async get(ids: string[]): Promise<Map<string, Product>> {
    const out = new Map<string, Product>();
    if (ids.length === 0) return out;
    // One prepared statement for any number of ids: the list travels as a JSON array.
    for (const r of this.stmts.byIds.all(JSON.stringify(ids))) out.set(r.id, JSON.parse(r.doc) as Product);
    return out;
  }

  async hashes(): Promise<Map<string, string>> {
    return new Map(this.stmts.hashes.all().map((r) => [r.id, r.hash]));
  }

  async hashesOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    return new Map(this.stmts.hashesOf.all(JSON.stringify(ids)).map((r) => [r.id, r.hash]));
  }

  async count(): Promise<number> {
    return this.stmts.count.get()!.n;
  }

  async close(): Promise<void> {
    // The connection is shared with the vector store and owned by the snapshot.
  }
}

/** Every token is quoted: user text can never become FTS5 query syntax. */
function quote(token: string): string {
  return `"${token.replaceAll('"', '""')}"`;
}

/** One group as an FTS5 expression: its alternatives ORed, phrases quoted whole, a prefix as the words it completes to. */
function groupExpression(g: QueryGroup, completions: (prefix: string) => string[]): string {
  const alts = g.alternatives.flatMap((a) => (a.kind === 'prefix' ? completions(a.text).map(quote) : [quote(a.text)]));
  return alts.length === 1 ? alts[0]! : `(${alts.join(' OR ')})`;
}

/** At most this many indexed words a last-word prefix stands for (Elasticsearch's max_expansions is 50). */
const MAX_PREFIX_TERMS = 20;

/** At most this many corrections per word, the most frequent first: a short word can be one edit from dozens. */
const MAX_CORRECTIONS = 5;

/** The index's terms by length, so a correction only compares words of a reachable length. */
class Vocabulary {
  private readonly byLength = new Map<number, Array<{ term: string; df: number }>>();
  private readonly terms = new Set<string>();
  /** Every term in code-unit order, for prefix ranges. */
  private readonly sorted: Array<{ term: string; df: number }>;
  constructor(rows: Array<{ term: string; df: number }>) {
    this.sorted = [...rows].sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
    for (const r of rows) {
      this.terms.add(r.term);
      const len = Array.from(r.term).length;
      let list = this.byLength.get(len);
      if (!list) this.byLength.set(len, (list = []));
      list.push(r);
    }
  }
  has(term: string): boolean {
    return this.terms.has(term);
  }
  withLength(len: number): ReadonlyArray<{ term: string; df: number }> {
    return this.byLength.get(len) ?? [];
  }
  /** Up to `max` terms longer than `prefix` that start with it, the most frequent first. */
  completions(prefix: string, max: number): string[] {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]!.term < prefix) lo = mid + 1;
      else hi = mid;
    }
    const found: Array<{ term: string; df: number }> = [];
    for (let i = lo; i < this.sorted.length && this.sorted[i]!.term.startsWith(prefix); i++) {
      if (this.sorted[i]!.term !== prefix) found.push(this.sorted[i]!);
    }
    found.sort((a, b) => b.df - a.df || (a.term < b.term ? -1 : 1));
    return found.slice(0, max).map((f) => f.term);
  }
}

/** Indexed words within the word's typo budget: fewest edits first, then the most frequent. */
function corrections(vocab: Vocabulary, word: string): string[] {
  const len = Array.from(word).length;
  const budget = typoBudget(len);
  const first = word.codePointAt(0);
  const found: Array<{ term: string; df: number; d: number }> = [];
  for (let l = len - budget; l <= len + budget; l++) {
    for (const r of vocab.withLength(l)) {
      // The first letter is rarely the mistyped one (Elasticsearch's prefix_length: 1, the same rule).
      if (r.term.codePointAt(0) !== first) continue;
      const d = editDistance(word, r.term, budget);
      if (d <= budget) found.push({ ...r, d });
    }
  }
  found.sort((a, b) => a.d - b.d || b.df - a.df || (a.term < b.term ? -1 : 1));
  return found.slice(0, MAX_CORRECTIONS).map((f) => f.term);
}

/** The distinct terms of a document's FTS columns. */
function termsOf(columns: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const c of columns) for (const t of c.split(' ')) if (t !== '') out.add(t);
  return out;
}

/** Relaxation levels with more AND-groups than this go straight to the plain OR. */
const MAX_GROUPS = 20;

function combinations<T>(items: readonly T[], m: number): T[][] {
  const out: T[][] = [];
  const pick = (start: number, acc: T[]) => {
    if (acc.length === m) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i <= items.length - (m - acc.length); i++) {
      acc.push(items[i]!);
      pick(i + 1, acc);
      acc.pop();
    }
  };
  pick(0, []);
  return out;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

function ftsColumns(p: Product): [string, string, string, string, string] {
  const body = [
    p.description,
    p.attributes
      ? Object.entries(p.attributes)
          .map(([k, v]) => `${k} ${v}`)
          .join(' ')
      : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  return [
    analyzedText(p.title),
    analyzedText(p.brand),
    analyzedText(p.category?.split('/').join(' ')),
    analyzedText(p.tags?.join(' ')),
    analyzedText(body),
  ];
}

/** The filters as SQL over `docs d`, applied inside the query. */
function filterSql(filters: Filters | undefined): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  // One statement per filter shape: the number of values is part of the shape, as are attribute names.
  const categories = filterValues(filters?.category);
  if (categories.length > 0) {
    const any = categories.map((c, i) => {
      const cat = filterKey(c).replace(/^\/+|\/+$/g, '');
      params[`cat${i}`] = cat;
      params[`catPrefix${i}`] = cat.replace(/[\\%_]/g, (ch) => '\\' + ch) + '/%';
      return `d.category_key = @cat${i} OR d.category_key LIKE @catPrefix${i} ESCAPE '\\'`;
    });
    where.push(`(${any.join(' OR ')})`);
  }
  const brands = filterValues(filters?.brand);
  if (brands.length > 0) {
    where.push('d.brand_key IN (SELECT value FROM json_each(@brands))');
    params.brands = JSON.stringify(brands.map(filterKey));
  }
  Object.entries(filters?.attributes ?? {}).forEach(([name, values], i) => {
    // Attributes are only in the stored document; compared as filterKey() compares (lowercased).
    where.push(
      `(SELECT lower(value) FROM json_each(d.doc, '$.attributes') WHERE lower(key) = @attrName${i}) IN (SELECT value FROM json_each(@attrValues${i}))`,
    );
    params[`attrName${i}`] = filterKey(name);
    params[`attrValues${i}`] = JSON.stringify(filterValues(values).map(filterKey));
  });
  if (filters?.price_min !== undefined) {
    where.push('d.price >= @priceMin');
    params.priceMin = filters.price_min;
  }
  if (filters?.price_max !== undefined) {
    where.push('d.price <= @priceMax');
    params.priceMax = filters.price_max;
  }
  if (filters?.in_stock !== undefined) {
    where.push('d.in_stock = @inStock');
    params.inStock = filters.in_stock ? 1 : 0;
  }
  return { where, params };
}

/** The stored fields the facet table reads (facet-table.ts), as SQLite returns them. */
interface FacetColumns {
  rowid: number;
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  in_stock: number;
  updated_at: string | null;
  attributes: string | null;
}
