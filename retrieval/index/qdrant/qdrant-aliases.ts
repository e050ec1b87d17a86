import type { QdrantClient } from '@qdrant/js-client-rest';

/**
 * Qdrant collection aliases, the vector half of a rebuild's switch: a searcher queries the
 * alias, and moving it is one atomic `POST /collections/aliases` (delete + create in one list
 * of actions, so no request ever finds the alias missing).
 */

/** The collection an alias points at, or undefined when the alias does not exist. */
export async function aliasTarget(client: QdrantClient, alias: string): Promise<string | undefined> {
  const { aliases } = await client.getAliases();
  return aliases.find((a) => a.alias_name === alias)?.collection_name;
}

/** Points `alias` at `collection`, atomically replacing whatever it pointed at. */
export async function swapAlias(client: QdrantClient, alias: string, collection: string): Promise<void> {
  const current = await aliasTarget(client, alias);
  if (current === collection) return;
  await client.updateCollectionAliases({
    actions: [
      ...(current !== undefined ? [{ delete_alias: { alias_name: alias } }] : []),
      { create_alias: { collection_name: collection, alias_name: alias } },
    ],
  });
}

/** Names of every collection whose name starts with `prefix`. */
export async function collectionsWithPrefix(client: QdrantClient, prefix: string): Promise<string[]> {
  const { collections } = await client.getCollections();
  return collections.map((c) => c.name).filter((n) => n.startsWith(prefix));
}

export async function dropCollection(client: QdrantClient, name: string): Promise<void> {
  if ((await client.collectionExists(name)).exists) await client.deleteCollection(name);
}
