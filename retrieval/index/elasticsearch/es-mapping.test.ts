import { errors, type Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { createIndex, templateBase } from './es-text-store.ts';

type Template = {
  name: string;
  index_patterns: string[];
  template: { mappings: { properties: Record<string, { fields?: unknown }> } };
};
type Create = { index: string; mappings?: { _meta?: unknown } };

/** A client that records templates and index creations, failing like a cluster without analysis-common when told to. */
function recordingClient(hasEnglish: boolean, failsAt: 'template' | 'create' = 'template') {
  const templates: Template[] = [];
  const creates: Create[] = [];
  let current: Template | undefined;
  const englishError = () =>
    new errors.ResponseError({
      body: {
        error: {
          type: 'mapper_parsing_exception',
          reason: 'Failed to parse mapping: analyzer [english] has not been configured in mappings',
        },
        status: 400,
      },
      statusCode: 400,
      headers: {},
      warnings: null,
      meta: {} as never,
    });
  const client = {
    indices: {
      putIndexTemplate: async (req: Template) => {
        templates.push(req);
        if (!hasEnglish && failsAt === 'template' && JSON.stringify(req).includes('"analyzer":"english"'))
          throw englishError();
        current = req;
        return { acknowledged: true };
      },
      create: async (req: Create) => {
        creates.push(req);
        if (!hasEnglish && failsAt === 'create' && JSON.stringify(current).includes('"analyzer":"english"'))
          throw englishError();
        return { acknowledged: true };
      },
      delete: async () => ({ acknowledged: true }),
    },
  } as unknown as Client;
  return { client, templates, creates };
}

describe('Elasticsearch index template', () => {
  it('puts one template for every generation of the alias, with stemmed English sub-fields when the cluster has them', async () => {
    const { client, templates, creates } = recordingClient(true);
    expect(await createIndex(client, 'shelf-products-20261122', { meta: { dim: 3 } })).toEqual({
      english: true,
      smartcn: true,
    });
    expect(templates).toHaveLength(1);
    expect(templates[0]!.name).toBe('shelf-products');
    expect(templates[0]!.index_patterns).toEqual(['shelf-products-*']);
    const props = templates[0]!.template.mappings.properties;
    for (const f of ['title', 'category', 'tags', 'body'])
      expect(props[f]!.fields).toEqual({
        en: { type: 'text', analyzer: 'english' },
        zh: { type: 'text', analyzer: 'smartcn' },
      });
    // Brand names are not stemmed, but Chinese brands are words too.
    expect(props['brand']!.fields).toEqual({ zh: { type: 'text', analyzer: 'smartcn' } });
    // The index itself only adds its own record.
    expect(creates).toEqual([{ index: 'shelf-products-20261122', mappings: { _meta: { dim: 3 } } }]);
  });

  for (const failsAt of ['template', 'create'] as const) {
    it(`falls back to the cjk analyzer alone on a cluster without analysis-common (refused at ${failsAt})`, async () => {
      const { client, templates } = recordingClient(false, failsAt);
      expect(await createIndex(client, 'shelf-products-1')).toEqual({ english: false, smartcn: true });
      expect(templates).toHaveLength(2);
      expect(JSON.stringify(templates[1])).not.toContain('"analyzer":"english"');
    });
  }

  it('names the template after the index without its suffix', () => {
    expect(templateBase('shop-a-products-20261122abcd')).toBe('shop-a-products');
    expect(() => templateBase('plain')).toThrow(/no "-<suffix>"/);
  });
});
