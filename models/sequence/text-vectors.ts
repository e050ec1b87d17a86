import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { productText } from '../../core/catalog/product.ts';
import { readCatalog } from '../../core/catalog/read.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';

/**
 * The products' text embeddings the sequence trainer fits its text projection on (train.py
 * --text-vectors): one JSON line `{id, vector}` per catalog product, embedded exactly as the
 * indexer stores them (productText, role `document`), so the map the service applies to the
 * index's stored vectors is the map that was fitted.
 */
export async function writeTextVectors(
  catalogPath: string,
  embedder: TextEmbedder,
  outFile: string,
  batch = 64,
): Promise<{ products: number; embedderId: string; dim: number }> {
  const { products } = await readCatalog(catalogPath);
  if (products.length === 0) throw new Error(`${catalogPath}: no valid product`);
  const out = createWriteStream(outFile);
  for (let i = 0; i < products.length; i += batch) {
    const part = products.slice(i, i + batch);
    const vectors = await embedder.embedTexts(part.map(productText), 'document');
    const text = part.map((p, j) => JSON.stringify({ id: p.id, vector: Array.from(vectors[j]!) })).join('\n') + '\n';
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { products: products.length, embedderId: embedder.id, dim: embedder.dim };
}
