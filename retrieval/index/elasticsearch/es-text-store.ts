import { Client, errors } from '@elastic/elasticsearch';
import type { Product } from '../../../core/catalog/product.ts';
import {
  byCount,
  categoryLevels,
  filtersExcept,
  pathPrefixes,
  priceRanges,
  type ExploreRequest,
  type Explored,
  type FacetCounts,
  type FacetField,
  type MatchQuery,
  type StoreSort,
} from '../facets.ts';
import { segmentedText } from '../../../core/text/analyze.ts';
import { ES_FUZZINESS, editDistance, typoBudget } from '../../../core/text/typos.ts';
import {
  correctableGroups,
  matchOf,
  queryGroups,
  type Alternative,
  type LexicalOptions,
  type LexicalResult,
  type QueryGroup,
} from '../lexical.ts';
import { attributeKeysOf, filterKey, type StoredProduct, type TextStore } from '../stores.ts';
import { filterValues, type Filters, type RouteHit } from '../types.ts';

/**
 * Production BM25: Elasticsearch 8. One alias per catalog pointing at a concrete index, so a
 * rebuild can build a new index and swap the alias atomically. Text fields use the built-in
 * `cjk` analyzer: Latin words are lowercased standard tokens and CJK runs become bigrams, the
 * same split core/text/analyze.ts makes for the embedded engine. Fields of running English text
 * also get a stemmed `.en` sub-field (the `english` analyzer: "running" finds "runs", as Porter
 * stemming does in the embedded engine) when the cluster has it: it lives in the
 * analysis-common module, which a stock Elasticsearch ships and the test runner
 * (scripts/servers/es-runner) does not. Queries name the `.en` fields either way; a field an
 * index does not map matches nothing.
 *
 * Chinese: text is indexed with jieba's words separated by spaces (core/text/analyze.ts
 * segmentedText), so the `cjk` analyzer's bigrams never span two words, and the query is sent
 * analysed the same way. Where the cluster has the `smartcn` analyzer (the analysis-smartcn
 * plugin, installed by the production image in docker-compose.yml) the text fields also get a
 * `.zh` sub-field analysed by it; the test node has no plugins, so there the fields are left out.
 *
 * Typos: `fuzziness: "AUTO:5,9"` (1 edit from 5 characters, 2 from 9, core/text/typos.ts), in a
 * clause of its own beside the exact one, so exact matches score above corrected ones.
 *
 * Filters are `filter` clauses of the same bool query as the match, so top-k is taken after
 * filtering, with the semantics of compileFilter() in retrieval/index/stores.ts.
 */
export const FIELD_BOOSTS = { title: 4, brand: 2.5, category: 1.5, tags: 1.5, body: 1 } as const;

/** Fields of running English text (not brand names) that get a stemmed `.en` sub-field. */
const STEMMED_FIELDS = ['title', 'category', 'tags', 'body'] as const;

/** Text fields that get a `.zh` sub-field when the cluster has the smartcn analyzer. */
const CHINESE_FIELDS = ['title', 'brand', 'category', 'tags', 'body'] as const;

const SEARCH_FIELDS = [
  ...Object.entries(FIELD_BOOSTS).map(([f, b]) => `${f}^${b}`),
  ...STEMMED_FIELDS.map((f) => `${f}.en^${FIELD_BOOSTS[f]}`),
  ...CHINESE_FIELDS.map((f) => `${f}.zh^${FIELD_BOOSTS[f]}`),
];

/** Fields the fuzzy clause searches: the plain ones (a stemmed or smartcn term is no word to correct). */
const FUZZY_FIELDS = Object.entries(FIELD_BOOSTS).map(([f, b]) => `${f}^${b}`);

/** Weight of each kind of alternative inside its group: what the shopper typed first. */
const ALTERNATIVE_BOOST: Record<Alternative['kind'], number> = { exact: 1, synonym: 0.9, prefix: 0.5, typo: 0.4 };

/** Highlight markers that cannot occur in product text: the fuzzy-matched words are read from them. */
const MARK = ['\u0001', '\u0002'] as const;

/** Analyzers a cluster may lack, each with the mapping that uses it left out. */
export interface AnalyzerSupport {
  english: boolean;
  smartcn: boolean;
}

const SETTINGS = { number_of_shards: 1, number_of_replicas: 0 };

function indexMappings({ english, smartcn }: AnalyzerSupport) {
  const text = (field: keyof typeof FIELD_BOOSTS) => {
    const en = english && (STEMMED_FIELDS as readonly string[]).includes(field);
    const zh = smartcn && (CHINESE_FIELDS as readonly string[]).includes(field);
    return {
      type: 'text' as const,
      analyzer: 'cjk',
      ...((en || zh) && {
        fields: {
          ...(en && { en: { type: 'text' as const, analyzer: 'english' } }),
          ...(zh && { zh: { type: 'text' as const, analyzer: 'smartcn' } }),
        },
      }),
    };
  };
  return {
    dynamic: 'strict' as const,
    properties: {
      id: { type: 'keyword' as const },
      hash: { type: 'keyword' as const },
      doc: { type: 'object' as const, enabled: false },
      title: text('title'),
      brand: text('brand'),
      category: text('category'),
      tags: text('tags'),
      body: text('body'),
      brand_key: { type: 'keyword' as const },
      category_prefixes: { type: 'keyword' as const },
      price: { type: 'double' as const },
      in_stock: { type: 'boolean' as const },
      // Facets and sorts (explore()): display values as shown, filter keys as compared.
      brand_facet: { type: 'keyword' as const },
      category_facet: { type: 'keyword' as const },
      attribute_keys: { type: 'keyword' as const },
      attribute_facets: { type: 'keyword' as const },
      updated_at: { type: 'keyword' as const },
    },
  };
}

export class BulkError extends Error {
  constructor(readonly failures: Array<{ id: string; reason: string }>) {
    super(
      `${failures.length} document(s) failed: ${failures
        .slice(0, 3)
        .map((f) => `${f.id}: ${f.reason}`)
        .join('; ')}`,
    );
  }
}

/** Ids per mget when reading the hashes of named products. */
const HASHES_PER_MGET = 1000;

/** How a store makes its writes visible: at once (service writes), or at an explicit refresh (a bulk build). */
export type RefreshMode = 'wait_for' | 'deferred';

export class ElasticsearchTextStore implements TextStore {
  readonly kind = 'elasticsearch';

  private constructor(
    private readonly client: Client,
    /** An alias or a concrete index name: every request below works with either. */
    readonly alias: string,
    private readonly ownsClient: boolean,
    private readonly refresh: RefreshMode,
  ) {}

  /** Opens the alias, creating its first index when it does not exist yet. */
  static async open(opts: { node: string; alias: string; client?: Client }): Promise<ElasticsearchTextStore> {
    const client = opts.client ?? new Client({ node: opts.node });
    if (!(await client.indices.existsAlias({ name: opts.alias }))) {
      const index = `${opts.alias}-${Date.now()}`;
      try {
        await createIndex(client, index, { aliases: { [opts.alias]: { is_write_index: true } } });
      } catch (err) {
        // Another process created it first: fine, the alias exists now.
        if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception'))
          throw err;
      }
    }
    return new ElasticsearchTextStore(client, opts.alias, opts.client === undefined, 'wait_for');
  }

  /**
   * A store over an existing index or alias on a client the caller owns (close() leaves it
   * open). `deferred` skips the per-bulk refresh: a fresh build refreshes once, before it is
   * swapped in, which is several times faster than waiting for a refresh per batch.
   */
  static attach(client: Client, indexOrAlias: string, refresh: RefreshMode = 'wait_for'): ElasticsearchTextStore {
    return new ElasticsearchTextStore(client, indexOrAlias, false, refresh);
  }

  private get refreshParam(): 'wait_for' | false {
    return this.refresh === 'wait_for' ? 'wait_for' : false;
  }

  async upsert(input: StoredProduct[]): Promise<void> {
    if (input.length === 0) return;
    // Rewriting an unchanged document is not free in Lucene: the old copy lingers as a deleted
    // doc and shifts BM25 statistics until a merge. Skip what is already stored with this hash.
    const stored = await this.client.mget<{ hash: string }>({
      index: this.alias,
      ids: input.map((d) => d.product.id),
      _source: ['hash'],
    });
    const have = new Map<string, string>();
    for (const d of stored.docs) if ('found' in d && d.found && d._source) have.set(d._id, d._source.hash);
    const docs = input.filter((d) => have.get(d.product.id) !== d.hash);
    if (docs.length === 0) return;
    const operations = docs.flatMap(({ product, hash }) => [
      { index: { _index: this.alias, _id: product.id } },
      toSource(product, hash),
    ]);
    const res = await this.client.bulk({ operations, refresh: this.refreshParam });
    if (res.errors) {
      const failures = res.items
        .map((item, i) => ({ id: docs[i]!.product.id, error: item.index?.error }))
        .filter((f) => f.error)
        .map((f) => ({ id: f.id, reason: `${f.error!.type}: ${f.error!.reason ?? ''}` }));
      throw new BulkError(failures);
    }
  }

  async delete(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const res = await this.client.bulk({
      operations: ids.map((id) => ({ delete: { _index: this.alias, _id: id } })),
      refresh: this.refreshParam,
    });
    if (res.errors) {
      // Deleting what is not there is a no-op, as in every store.
      const failures = res.items
        .map((item, i) => ({ id: ids[i]!, item: item.delete }))
        .filter((f) => f.item?.error && f.item.status !== 404)
        .map((f) => ({ id: f.id, reason: `${f.item!.error!.type}: ${f.item!.error!.reason ?? ''}` }));
      if (failures.length > 0) throw new BulkError(failures);
    }
  }

  async search(query: string, k: number, filters?: Filters): Promise<RouteHit[]> {
    return (await this.lexical(query, k, filters, { typos: false, prefix: false })).hits;
  }

  async lexical(
    query: string,
    k: number,
    filters: Filters | undefined,
    opts: LexicalOptions,
  ): Promise<LexicalResult<RouteHit>> {
    const groups = queryGroups(query, opts);
    if (k <= 0 || groups.length === 0) return { hits: [], match: matchOf(groups, opts) };
    const fuzzy = new Set(correctableGroups(groups, opts));
    const res = await this.client.search<{ id: string }>({
      index: this.alias,
      size: k,
      _source: ['id'],
      track_total_hits: false,
      query: {
        bool: {
          // A group matches through any of its alternatives; more groups matched, higher score.
          should: groups.map((g) => ({
            bool: {
              should: [...g.alternatives.map(alternativeClause), ...(fuzzy.has(g) ? [fuzzyClause(g.text)] : [])],
            },
          })),
          minimum_should_match: 1,
          filter: filterClauses(filters),
        },
      },
      // The words the fuzzy clauses matched, to say what was corrected.
      ...(fuzzy.size > 0 && {
        highlight: {
          pre_tags: [MARK[0]],
          post_tags: [MARK[1]],
          number_of_fragments: 0,
          fields: Object.fromEntries(Object.keys(FIELD_BOOSTS).map((f) => [f, {}])),
        },
      }),
      // Equal scores break by id, so the order is stable across shards and restarts.
      sort: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
    });
    const hits = res.hits.hits.map((h) => ({ id: h._source!.id, score: h._score ?? 0 }));
    if (fuzzy.size > 0) {
      const marked = new Set<string>();
      for (const h of res.hits.hits)
        for (const fragments of Object.values(h.highlight ?? {}))
          for (const f of fragments)
            for (const m of f.matchAll(/\u0001([^\u0002]*)\u0002/g)) marked.add(m[1]!.normalize('NFKC').toLowerCase());
      for (const g of fuzzy) addCorrections(g, marked);
    }
    return { hits, match: matchOf(groups, opts) };
  }

  async browse(k: number, filters?: Filters): Promise<RouteHit[]> {
    if (k <= 0) return [];
    const res = await this.client.search<{ id: string }>({
      index: this.alias,
      size: k,
      _source: ['id'],
      track_total_hits: false,
      query: { bool: { filter: filterClauses(filters) } },
      sort: [{ id: { order: 'asc' } }],
    });
    return res.hits.hits.map((h) => ({ id: h._source!.id, score: 0 }));
  }

  async explore(m: MatchQuery, r: ExploreRequest): Promise<Explored> {
    const query = matchQuery(m);
    const aggs = (field: FacetField, inner: object) => ({
      filter: { bool: { filter: filterClauses(filtersExcept(m.filters, field)) } },
      aggs: { v: inner },
    });
    const res = await this.client.search<{ id: string; price?: number | null; updated_at?: string | null }>({
      index: this.alias,
      size: r.k,
      _source: ['id', 'price', 'updated_at'],
      track_total_hits: true,
      query,
      post_filter: { bool: { filter: filterClauses(m.filters) } },
      sort: ES_SORT[r.sort ?? 'id'],
      aggs: Object.fromEntries(r.facets.map((f, i) => [`f${i}`, aggs(f, facetAgg(f, r.maxValues))])),
    } as Parameters<Client['search']>[0]);
    const out = (i: number) => (res.aggregations as Record<string, { v: unknown }> | undefined)?.[`f${i}`]?.v;
    const facets: FacetCounts = {};
    for (const [i, field] of r.facets.entries()) {
      if (field === 'price') {
        const stats = out(i) as { min: number | null; max: number | null };
        if (stats.min === null || stats.max === null) {
          facets.price = { buckets: [] };
          continue;
        }
        const ranges = priceRanges(stats.min, stats.max);
        // The buckets need the range first: one more request, for the price facet only.
        const b = await this.client.search({
          index: this.alias,
          size: 0,
          track_total_hits: false,
          query,
          aggs: {
            p: aggs('price', {
              range: {
                field: 'price',
                ranges: ranges.map((x, j) => (j === ranges.length - 1 ? { from: x.from } : { from: x.from, to: x.to })),
              },
            }),
          },
        } as Parameters<Client['search']>[0]);
        const buckets = (b.aggregations as { p: { v: { buckets: Array<{ doc_count: number }> } } }).p.v.buckets;
        facets.price = {
          min: stats.min,
          max: stats.max,
          buckets: ranges.map((x, j) => ({ ...x, count: buckets[j]?.doc_count ?? 0 })),
        };
        continue;
      }
      const buckets = (out(i) as TermsAgg).buckets.filter((bk) => bk.doc_count > 0);
      if (field === 'category') {
        facets.category = categoryLevels(new Map(buckets.map((bk) => [String(bk.key), bk.doc_count])), r.maxValues);
      } else if (field === 'in_stock') {
        facets.in_stock = buckets
          .map((bk) => ({
            value: bk.key === 1 || bk.key === 'true' || bk.key_as_string === 'true',
            count: bk.doc_count,
          }))
          .sort(byCount);
      } else if (field === 'brand') {
        facets.brand = buckets.map((bk) => ({ value: String(bk.key), count: bk.doc_count }));
      } else {
        facets[field] = buckets.map((bk) => ({
          value: String(bk.key).slice(String(bk.key).indexOf('=') + 1),
          count: bk.doc_count,
        }));
      }
    }
    const total = res.hits.total;
    return {
      total: typeof total === 'number' ? total : (total?.value ?? 0),
      facets,
      sorted: res.hits.hits.map((h) => ({
        id: h._source!.id,
        key:
          r.sort === undefined
            ? null
            : r.sort === 'newest'
              ? (h._source!.updated_at ?? null)
              : (h._source!.price ?? null),
      })),
    };
  }

  async get(ids: string[]): Promise<Map<string, Product>> {
    const out = new Map<string, Product>();
    if (ids.length === 0) return out;
    const res = await this.client.mget<{ doc: Product }>({ index: this.alias, ids, _source: ['doc'] });
    for (const d of res.docs) {
      // A shard that is not available (a node still recovering after a restart) answers the doc
      // with an error, not "not found": a product that exists must never read as missing (a 404).
      if ('error' in d && d.error) throw new Error(`Elasticsearch could not read ${d._id}: ${d.error.type}`);
      if ('found' in d && d.found && d._source) out.set(d._id, d._source.doc);
    }
    return out;
  }

  async hashes(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let after: Array<string | number> | undefined;
    for (;;) {
      const res = await this.client.search<{ id: string; hash: string }>({
        index: this.alias,
        size: 5000,
        _source: ['id', 'hash'],
        sort: [{ id: { order: 'asc' } }],
        ...(after && { search_after: after }),
        query: { match_all: {} },
      });
      const hits = res.hits.hits;
      for (const h of hits) out.set(h._source!.id, h._source!.hash);
      if (hits.length < 5000) return out;
      after = hits[hits.length - 1]!.sort as Array<string | number>;
    }
  }

  async hashesOf(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += HASHES_PER_MGET) {
      const res = await this.client.mget<{ hash: string }>({
        index: this.alias,
        ids: ids.slice(i, i + HASHES_PER_MGET),
        _source: ['hash'],
      });
      for (const d of res.docs) {
        // As in get(): an unavailable shard must not make a stored product look absent (the
        // indexer would then count a delete as done, or an unchanged product as new).
        if ('error' in d && d.error) throw new Error(`Elasticsearch could not read ${d._id}: ${d.error.type}`);
        if ('found' in d && d.found && d._source) out.set(d._id, d._source.hash);
      }
    }
    return out;
  }

  async count(): Promise<number> {
    return (await this.client.count({ index: this.alias })).count;
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

/**
 * Creates a concrete index `<base>-<suffix>` through the index template `<base>` (pattern
 * `<base>-*`), which carries the analyzers, field boosts' fields and settings: every index a
 * rebuild creates gets the same mapping from one place, and an operator can read or adjust it
 * with the template API. `meta` lands in the index's own mapping `_meta`, which lives and dies
 * with the index: the production backend records there how the index's vectors were made, so
 * the record can never outlive or disagree with the index it describes.
 */
export async function createIndex(
  client: Client,
  index: string,
  opts: { meta?: Record<string, unknown>; aliases?: Record<string, { is_write_index?: boolean }> } = {},
): Promise<AnalyzerSupport> {
  const base = templateBase(index);
  const create = async (support: AnalyzerSupport) => {
    await client.indices.putIndexTemplate({
      name: base,
      index_patterns: [`${base}-*`],
      // Above the built-in templates (priority 0-100), so a stray match never wins.
      priority: 200,
      template: { settings: SETTINGS, mappings: indexMappings(support) },
      _meta: { managed_by: 'shelf', english_subfields: support.english, smartcn_subfields: support.smartcn },
    });
    await client.indices.create({
      index,
      ...(opts.meta && { mappings: { _meta: opts.meta } }),
      ...(opts.aliases && { aliases: opts.aliases }),
    });
  };
  // A cluster without analysis-common (the test runner) has no `english` analyzer, one without
  // the analysis-smartcn plugin no `smartcn`; it may refuse the template or, failing that, the
  // index created from it. Each missing analyzer is left out in turn.
  const support: AnalyzerSupport = { english: true, smartcn: true };
  for (;;) {
    try {
      await create(support);
      return { ...support };
    } catch (err) {
      const missing =
        err instanceof errors.ResponseError &&
        /analyzer \[(english|smartcn)\] has not been configured/.exec(JSON.stringify(err.body ?? ''))?.[1];
      if (!missing || !support[missing as keyof AnalyzerSupport]) throw err;
      support[missing as keyof AnalyzerSupport] = false;
      await client.indices.delete({ index, ignore_unavailable: true }).catch(() => {});
    }
  }
}

/** "shelf-products-20261122…" → "shelf-products": the template that every generation shares. */
export function templateBase(index: string): string {
  const i = index.lastIndexOf('-');
  if (i <= 0) throw new Error(`index name "${index}" has no "-<suffix>": cannot name its template`);
  return index.slice(0, i);
}

function toSource(p: Product, hash: string) {
  const cat = p.category ? filterKey(p.category).split('/') : [];
  return {
    id: p.id,
    hash,
    doc: p,
    // Chinese words separated by spaces: see the class comment.
    title: segmentedText(p.title),
    brand: p.brand ? segmentedText(p.brand) : null,
    category: p.category ? segmentedText(p.category.split('/').join(' ')) : null,
    tags: p.tags ? segmentedText(p.tags.join(' ')) : null,
    body:
      segmentedText(
        [
          p.description,
          p.attributes
            ? Object.entries(p.attributes)
                .map(([k, v]) => `${k} ${v}`)
                .join(' ')
            : undefined,
        ]
          .filter(Boolean)
          .join(' '),
      ) || null,
    brand_key: p.brand ? filterKey(p.brand) : null,
    // Every prefix of the path, so "category starts with X" is one exact term lookup.
    category_prefixes: cat.map((_, i) => cat.slice(0, i + 1).join('/')),
    price: p.price ?? null,
    in_stock: p.in_stock,
    brand_facet: p.brand ?? null,
    category_facet: p.category ? pathPrefixes(p.category) : null,
    attribute_keys: p.attributes ? Object.entries(attributeKeysOf(p.attributes)).map(([k, v]) => `${k}=${v}`) : null,
    attribute_facets: p.attributes ? Object.entries(p.attributes).map(([k, v]) => `${k.toLowerCase()}=${v}`) : null,
    updated_at: p.updated_at ?? null,
  };
}

const ES_SORT: Record<StoreSort | 'id', object[]> = {
  'price:asc': [{ price: { order: 'asc', missing: '_last' } }, { id: { order: 'asc' } }],
  'price:desc': [{ price: { order: 'desc', missing: '_last' } }, { id: { order: 'asc' } }],
  newest: [{ updated_at: { order: 'desc', missing: '_last' } }, { id: { order: 'asc' } }],
  id: [{ id: { order: 'asc' } }],
};

/** The match set of a MatchQuery as an Elasticsearch query (filters excluded: they are post_filter and per-facet). */
function matchQuery(m: MatchQuery): object {
  const should: object[] = [];
  if (m.q !== undefined && m.q.trim() !== '')
    // Every term in some field, as the embedded engine's FTS5 AND; no query syntax from user text.
    should.push({
      simple_query_string: { query: m.q, fields: SEARCH_FIELDS, default_operator: 'and', flags: 'WHITESPACE' },
    });
  if (m.ids !== undefined && m.ids.length > 0) should.push({ ids: { values: [...m.ids] } });
  const anything = m.q === undefined && m.ids === undefined;
  const filter = m.only !== undefined ? [{ ids: { values: [...m.only] } }] : [];
  return {
    bool: {
      ...(anything ? { must: { match_all: {} } } : { should, minimum_should_match: 1 }),
      filter,
    },
  };
}

const escapeRegex = (s: string) => s.replace(/[.?+*|{}[\]()"\\#@&<>~]/g, (c) => '\\' + c);

function facetAgg(field: FacetField, max: number): object {
  const order = [{ _count: 'desc' }, { _key: 'asc' }];
  if (field === 'brand') return { terms: { field: 'brand_facet', size: max, order } };
  // Every level's top values: ask for all prefixes (a catalog's tree is small), cut per level here.
  if (field === 'category') return { terms: { field: 'category_facet', size: 10_000, order } };
  if (field === 'in_stock') return { terms: { field: 'in_stock', size: 2, order } };
  if (field === 'price') return { stats: { field: 'price' } };
  const name = field.slice('attributes.'.length).toLowerCase();
  return { terms: { field: 'attribute_facets', size: max, order, include: `${escapeRegex(name)}=.*` } };
}

interface TermsAgg {
  buckets: Array<{ key: string | number; key_as_string?: string; doc_count: number }>;
}

export function filterClauses(f: Filters | undefined): object[] {
  if (!f) return [];
  const out: object[] = [];
  // Several values of one field: any of them (`terms`); fields combine as filter clauses (AND).
  const categories = filterValues(f.category).map((c) => filterKey(c).replace(/^\/+|\/+$/g, ''));
  if (categories.length > 0) out.push({ terms: { category_prefixes: categories } });
  const brands = filterValues(f.brand).map(filterKey);
  if (brands.length > 0) out.push({ terms: { brand_key: brands } });
  for (const [name, values] of Object.entries(f.attributes ?? {})) {
    const key = filterKey(name);
    out.push({ terms: { attribute_keys: filterValues(values).map((v) => `${key}=${filterKey(v)}`) } });
  }
  if (f.price_min !== undefined || f.price_max !== undefined) {
    out.push({
      range: {
        price: {
          ...(f.price_min !== undefined && { gte: f.price_min }),
          ...(f.price_max !== undefined && { lte: f.price_max }),
        },
      },
    });
  }
  if (f.in_stock !== undefined) out.push({ term: { in_stock: f.in_stock } });
  return out;
}

/** An alternative as a clause: a word matches in any field, a phrase (synonym) as a phrase. */
function alternativeClause(a: Alternative): object {
  const boost = ALTERNATIVE_BOOST[a.kind];
  if (a.kind === 'prefix')
    return { multi_match: { query: a.text, type: 'phrase_prefix', fields: FUZZY_FIELDS, max_expansions: 50, boost } };
  return {
    multi_match: {
      query: a.text,
      // A Chinese word is several bigrams to the cjk analyzer: all of them, or it is another word.
      ...(a.text.includes(' ') ? { type: 'phrase' } : { type: 'most_fields', operator: 'and' }),
      fields: SEARCH_FIELDS,
      boost,
    },
  };
}

function fuzzyClause(word: string): object {
  return {
    multi_match: {
      query: word,
      type: 'most_fields',
      fields: FUZZY_FIELDS,
      fuzziness: ES_FUZZINESS,
      // The first letter is rarely the mistyped one, and it keeps the term expansion small.
      prefix_length: 1,
      boost: ALTERNATIVE_BOOST.typo,
    },
  };
}

/** The words Elasticsearch highlighted that are a correction of the group's word (not the word itself). */
function addCorrections(g: QueryGroup, marked: ReadonlySet<string>): void {
  if (marked.has(g.text)) return;
  const budget = typoBudget(Array.from(g.text).length);
  const found = [...marked].filter((w) => w !== g.text && editDistance(g.text, w, budget) <= budget).sort();
  for (const to of found) g.alternatives.push({ text: to, kind: 'typo' });
}
