import { Client, errors } from '@elastic/elasticsearch';
import { EMPTY_SYNONYMS, type SynonymRule, type SynonymSet, type SynonymStore } from '../synonyms.ts';

/**
 * The production synonym set: one document in the `<namespace>-synonyms` index, beside the
 * product indices (a catalog rebuild swaps those, never this), read by every service instance.
 * A replace is a compare-and-set on the document's sequence number, so two admins replacing at
 * once get consecutive versions, never the same one.
 *
 * Rules are applied at query time (retrieval/index/lexical.ts), not by a `synonym` token filter:
 * a filter needs analysis-common (absent on the test node) and a reopen of the index to change.
 */
const DOC_ID = 'current';

interface Doc {
  version: number;
  updated_at: string;
  rules: string;
}

export class ElasticsearchSynonymStore implements SynonymStore {
  readonly kind = 'elasticsearch';

  private constructor(
    private readonly client: Client,
    readonly index: string,
    private readonly ownsClient: boolean,
  ) {}

  static async open(opts: { node: string; namespace: string; client?: Client }): Promise<ElasticsearchSynonymStore> {
    const client = opts.client ?? new Client({ node: opts.node });
    const index = `${opts.namespace}-synonyms`;
    if (!(await client.indices.exists({ index }))) {
      try {
        await client.indices.create({
          index,
          settings: { number_of_shards: 1, number_of_replicas: 0 },
          // Rules are kept as one JSON string: the document is read whole, never searched.
          mappings: {
            dynamic: 'strict',
            properties: {
              version: { type: 'long' },
              updated_at: { type: 'date' },
              rules: { type: 'keyword', index: false, doc_values: false },
            },
          },
        });
      } catch (err) {
        if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception'))
          throw err;
      }
    }
    return new ElasticsearchSynonymStore(client, index, opts.client === undefined);
  }

  private async read(): Promise<{ set: SynonymSet; seq?: { if_seq_no: number; if_primary_term: number } }> {
    try {
      const r = await this.client.get<Doc>({ index: this.index, id: DOC_ID });
      const d = r._source!;
      return {
        set: { version: d.version, updated_at: d.updated_at, synonyms: JSON.parse(d.rules) as SynonymRule[] },
        seq: { if_seq_no: r._seq_no!, if_primary_term: r._primary_term! },
      };
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return { set: EMPTY_SYNONYMS };
      throw err;
    }
  }

  async get(): Promise<SynonymSet> {
    return (await this.read()).set;
  }

  async put(rules: SynonymRule[]): Promise<SynonymSet> {
    for (let attempt = 0; ; attempt++) {
      const { set, seq } = await this.read();
      const doc: Doc = { version: set.version + 1, updated_at: new Date().toISOString(), rules: JSON.stringify(rules) };
      try {
        await this.client.index({
          index: this.index,
          id: DOC_ID,
          document: doc,
          refresh: 'wait_for',
          ...(seq ?? { op_type: 'create' as const }),
        });
        return { version: doc.version, updated_at: doc.updated_at, synonyms: rules };
      } catch (err) {
        // Another instance replaced it in between: read its version and go again.
        if (attempt < 5 && err instanceof errors.ResponseError && err.statusCode === 409) continue;
        throw err;
      }
    }
  }

  async clear(): Promise<SynonymSet> {
    return this.put([]);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
