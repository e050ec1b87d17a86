import { errors, type Client } from '@elastic/elasticsearch';

/**
 * Elasticsearch aliases, the text half of a rebuild's switch: searches go to the alias, and
 * one `_aliases` request (remove old + add new) moves it atomically.
 */

/** Concrete indices behind an alias; empty when the alias does not exist. */
export async function aliasIndices(client: Client, alias: string): Promise<string[]> {
  try {
    return Object.keys(await client.indices.getAlias({ name: alias }));
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
    throw err;
  }
}

/** Points `alias` at `index` only, in one atomic request. */
export async function swapAlias(client: Client, alias: string, index: string): Promise<void> {
  const current = await aliasIndices(client, alias);
  if (current.length === 1 && current[0] === index) return;
  await client.indices.updateAliases({
    actions: [
      ...current.filter((i) => i !== index).map((i) => ({ remove: { index: i, alias } })),
      { add: { index, alias, is_write_index: true } },
    ],
  });
}

/** Every index whose name starts with `prefix`. */
export async function indicesWithPrefix(client: Client, prefix: string): Promise<string[]> {
  const rows = await client.cat.indices({ index: `${prefix}*`, format: 'json', h: 'index', expand_wildcards: 'all' });
  return rows.map((r) => r.index).filter((i): i is string => typeof i === 'string' && i.startsWith(prefix));
}

/** The `_meta` object of an index's mapping (undefined when it has none). */
export async function indexMeta(client: Client, index: string): Promise<unknown> {
  const res = await client.indices.getMapping({ index });
  return Object.values(res)[0]?.mappings._meta;
}

export async function deleteIndices(client: Client, indices: string[]): Promise<void> {
  if (indices.length > 0) await client.indices.delete({ index: indices, ignore_unavailable: true });
}
