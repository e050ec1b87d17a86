import { errors, type Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { createIndex } from './es-text-store.ts';

/** A client that records index creations, failing like a cluster without analysis-common when told to. */
function recordingClient(hasEnglish: boolean) {
  const bodies: Array<{ mappings: { properties: Record<string, { fields?: unknown }>; _meta?: unknown } }> = [];
  const client = {
    indices: {
      create: async (req: (typeof bodies)[number]) => {
        bodies.push(req);
        if (!hasEnglish && JSON.stringify(req).includes('"english"')) {
          const reason = 'Failed to parse mapping: analyzer [english] has not been configured in mappings';
          throw new errors.ResponseError({
            body: { error: { type: 'mapper_parsing_exception', reason }, status: 400 },
            statusCode: 400,
            headers: {},
            warnings: null,
            meta: {} as never,
          });
        }
        return { acknowledged: true };
      },
    },
  } as unknown as Client;
  return { client, bodies };
}

describe('Elasticsearch index mapping', () => {
  it('adds stemmed English sub-fields to running-text fields when the cluster has the english analyzer', async () => {
    const { client, bodies } = recordingClient(true);
    expect(await createIndex(client, 'i', { meta: { dim: 3 } })).toEqual({ english: true });
    expect(bodies).toHaveLength(1);
    const props = bodies[0]!.mappings.properties;
    for (const f of ['title', 'category', 'tags', 'body']) expect(props[f]!.fields).toEqual({ en: { type: 'text', analyzer: 'english' } });
    expect(props['brand']!.fields).toBeUndefined();
    expect(bodies[0]!.mappings._meta).toEqual({ dim: 3 });
  });

  it('falls back to the cjk analyzer alone on a cluster without analysis-common', async () => {
    const { client, bodies } = recordingClient(false);
    expect(await createIndex(client, 'i')).toEqual({ english: false });
    expect(bodies).toHaveLength(2);
    expect(JSON.stringify(bodies[1])).not.toContain('english');
  });
});
