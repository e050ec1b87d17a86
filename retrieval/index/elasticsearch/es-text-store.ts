import { Client, errors } from '@elastic/elasticsearch';
import type { Product } from '../../../core/catalog/product.ts';
import { filterKey, type StoredProduct, type TextStore } from '../stores.ts';
import type { Filters, RouteHit } from '../types.ts';

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
 * Filters are `filter` clauses of the same bool query as the match, so top-k is taken after
 * filtering, with the semantics of compileFilter() in retrieval/index/stores.ts.
 */
export const FIELD_BOOSTS = { title: 4, brand: 2.5, category: 1.5, tags: 1.5, body: 1 } as const;

/** Fields of running English text (not brand names) that get a stemmed `.en` sub-field. */
const STEMMED_FIELDS = ['title', 'category', 'tags', 'body'] as const;

const SEARCH_FIELDS = [
  ...Object.entries(FIELD_BOOSTS).map(([f, b]) => `${f}^${b}`),
  ...STEMMED_FIELDS.map((f) => `${f}.en^${FIELD_BOOSTS[f]}`),
];

const SETTINGS = { number_of_shards: 1, number_of_replicas: 0 };

function indexMappings(english: boolean) {
  const text = (field: keyof typeof FIELD_BOOSTS) => ({
    type: 'text' as const,
    analyzer: 'cjk',
    ...(english &&
      (STEMMED_FIELDS as readonly string[]).includes(field) && {
        fields: { en: { type: 'text' as const, analyzer: 'english' } },
      }),
  });
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
    if (k <= 0 || query.trim() === '') return [];
    const res = await this.client.search<{ id: string }>({
      index: this.alias,
      size: k,
      _source: ['id'],
      track_total_hits: false,
      query: {
        bool: {
          must: {
            multi_match: {
              query,
              type: 'most_fields',
              operator: 'or',
              fields: SEARCH_FIELDS,
            },
          },
          filter: filterClauses(filters),
        },
      },
      // Equal scores break by id, so the order is stable across shards and restarts.
      sort: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
    });
    return res.hits.hits.map((h) => ({ id: h._source!.id, score: h._score ?? 0 }));
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
): Promise<{ english: boolean }> {
  const base = templateBase(index);
  const create = async (english: boolean) => {
    await client.indices.putIndexTemplate({
      name: base,
      index_patterns: [`${base}-*`],
      // Above the built-in templates (priority 0-100), so a stray match never wins.
      priority: 200,
      template: { settings: SETTINGS, mappings: indexMappings(english) },
      _meta: { managed_by: 'shelf', english_subfields: english },
    });
    await client.indices.create({
      index,
      ...(opts.meta && { mappings: { _meta: opts.meta } }),
      ...(opts.aliases && { aliases: opts.aliases }),
    });
  };
  try {
    await create(true);
    return { english: true };
  } catch (err) {
    // A cluster without analysis-common (the test runner) has no `english` analyzer; it may
    // refuse the template or, failing that, the index created from it.
    if (!(
      err instanceof errors.ResponseError &&
      /analyzer \[english\] has not been configured/.test(JSON.stringify(err.body ?? ''))
    ))
      throw err;
    await client.indices.delete({ index, ignore_unavailable: true }).catch(() => {});
    await create(false);
    return { english: false };
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
    title: p.title,
    brand: p.brand ?? null,
    category: p.category ? p.category.split('/').join(' ') : null,
    tags: p.tags?.join(' ') ?? null,
    body:
      [
        p.description,
        p.attributes
          ? Object.entries(p.attributes)
              .map(([k, v]) => `${k} ${v}`)
              .join(' ')
          : undefined,
      ]
        .filter(Boolean)
        .join(' ') || null,
    brand_key: p.brand ? filterKey(p.brand) : null,
    // Every prefix of the path, so "category starts with X" is one exact term lookup.
    category_prefixes: cat.map((_, i) => cat.slice(0, i + 1).join('/')),
    price: p.price ?? null,
    in_stock: p.in_stock,
  };
}

export function filterClauses(f: Filters | undefined): object[] {
  if (!f) return [];
  const out: object[] = [];
  if (f.category !== undefined)
    out.push({ term: { category_prefixes: filterKey(f.category).replace(/^\/+|\/+$/g, '') } });
  if (f.brand !== undefined) out.push({ term: { brand_key: filterKey(f.brand) } });
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
