import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import type { RetrievalConfig } from '../index/config.ts';
import type { Candidate, Degraded, Evidence, Highlight } from '../../core/candidate.ts';
import type { Product } from '../../core/catalog/product.ts';
import { escapeHtml, highlight, highlightSnippet } from '../../core/text/highlight.ts';
import type { LexicalMatch } from '../index/lexical.ts';
import { toCandidate } from './hydrate.ts';
import { reciprocalRankFusion, type RankedList } from './rrf.ts';
import type { IndexSnapshot } from '../index/stores.ts';
import type { ItemDebug, RouteHit, RouteName, SearchItem, SearchQuery, SearchResult } from '../index/types.ts';

/**
 * Hybrid search over one index snapshot: run every requested recall route with the filters
 * inside it, fuse by weighted RRF, page, hydrate. A route that fails is left out and named in
 * `degraded`, so a broken vector store costs relevance, not availability.
 */
export interface Embedders {
  text: TextEmbedder | undefined;
  /** CLIP-style model whose text side queries the image vectors. */
  image?: ImageEmbedder | undefined;
}

/** Which slice of the fused list to hydrate: [from, to), 0-based. */
export interface RecallWindow {
  from: number;
  to: number;
}

export interface Recalled {
  /** The window's candidates, hydrated, in fusion order, each with the routes that found it. */
  candidates: Candidate[];
  /** Distinct fused candidates before the window was cut. */
  total: number;
  degraded?: Degraded[];
  /** What the BM25 route matched with (corrections, synonyms, terms), when it ran. */
  lexical?: LexicalMatch;
}

/**
 * Hybrid recall over one snapshot: every route with the filters inside it, fused by weighted RRF,
 * the window [from, to) of the fused list hydrated into candidates that carry their evidence.
 */
export async function hybridRecall(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: Pick<SearchQuery, 'q' | 'filters' | 'routes' | 'lexical' | 'highlight'>,
  cfg: RetrievalConfig,
  window: RecallWindow,
): Promise<Recalled> {
  if (!snapshot) return { candidates: [], total: 0 };
  const k = Math.max(cfg.recall_k, window.to);
  const routes: RouteName[] = query.routes ?? [
    'bm25',
    ...(snapshot.vectors ? (['vector'] as const) : []),
    ...(snapshot.images && embedders.image ? (['image'] as const) : []),
  ];
  const degraded: Degraded[] = [];
  const scores = new Map<string, Partial<Record<RouteName, number>>>();
  let lexical: LexicalMatch | undefined;

  const run = async (route: RouteName): Promise<RouteHit[] | undefined> => {
    try {
      let hits: RouteHit[];
      if (route === 'bm25') {
        const r = await snapshot.text.lexical(query.q, k, query.filters, query.lexical ?? {});
        hits = r.hits;
        lexical = r.match;
      } else hits = await recall(route, snapshot, embedders, query, k);
      if (route === 'vector') {
        const floor = cfg.vector_min_score ?? embedders.text?.minRelevantSimilarity;
        if (floor !== undefined) hits = hits.filter((h) => h.score >= floor);
      }
      for (const h of hits) {
        const s = scores.get(h.id) ?? {};
        s[route] = h.score;
        scores.set(h.id, s);
      }
      return hits;
    } catch (err) {
      degraded.push({ route, reason: (err as Error).message });
      return undefined;
    }
  };
  // Routes run concurrently: the query embedding runs on onnxruntime's threads while SQLite works.
  const results = await Promise.all(routes.map(run));
  const lists: RankedList[] = [];
  routes.forEach((route, i) => {
    const hits = results[i];
    if (hits) lists.push({ route, ids: hits.map((h) => h.id), weight: cfg.weights[route] });
  });

  const fused = reciprocalRankFusion(lists, cfg.rrf_k);
  const windowHits = fused.slice(window.from, window.to);
  const products = await snapshot.text.get(windowHits.map((h) => h.id));
  const candidates: Candidate[] = [];
  windowHits.forEach((hit, i) => {
    const p = products.get(hit.id);
    if (!p) return;
    const s = scores.get(hit.id) ?? {};
    const evidence: Record<string, Evidence> = {};
    for (const route of ['bm25', 'vector', 'image'] as const) {
      const rank = hit.ranks[route];
      if (rank !== undefined) evidence[route] = { rank, score: s[route]! };
    }
    const c = toCandidate(p, hit.score, window.from + i, evidence);
    if (query.highlight) c.highlight = highlightOf(p, lexical);
    candidates.push(c);
  });
  return {
    candidates,
    total: fused.length,
    ...(degraded.length > 0 && { degraded }),
    ...(lexical && { lexical }),
  };
}

/** The product's title (always, escaped even without a match) and description (only with one), marked. */
function highlightOf(p: Product, match: LexicalMatch | undefined): Highlight {
  const m = match ?? { terms: [], prefixes: [] };
  const description = p.description ? highlightSnippet(p.description, m) : undefined;
  return { title: highlight(p.title, m) ?? escapeHtml(p.title), ...(description && { description }) };
}

/**
 * Hybrid search as one call (the index's own API: tests, the indexer's checks, offline tools):
 * the page of `query` as result items, with each route's rank and score under `debug`.
 */
export async function hybridSearch(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: SearchQuery,
  cfg: RetrievalConfig,
): Promise<SearchResult> {
  const page = query.page ?? 1;
  const r = await hybridRecall(snapshot, embedders, query, cfg, {
    from: (page - 1) * query.size,
    to: page * query.size,
  });
  const items = r.candidates.map((c): SearchItem => {
    const item: SearchItem = { ...c.product, score: c.fused_score };
    if (query.debug) item.debug = routeDebug(c);
    return item;
  });
  return {
    items,
    total_candidates: r.total,
    ...(r.degraded && { degraded: r.degraded as NonNullable<SearchResult['degraded']> }),
  };
}

/** A search candidate's evidence in the flat shape search responses show under `debug`. */
export function routeDebug(c: Pick<Candidate, 'routes' | 'fused_score'>): ItemDebug {
  const { bm25, vector, image } = c.routes;
  return {
    fused_score: c.fused_score,
    ...(bm25 && { bm25_rank: bm25.rank, bm25_score: bm25.score }),
    ...(vector && { vector_rank: vector.rank, vector_score: vector.score }),
    ...(image && { image_rank: image.rank, image_score: image.score }),
  };
}

async function recall(
  route: RouteName,
  snapshot: IndexSnapshot,
  embedders: Embedders,
  query: Pick<SearchQuery, 'q' | 'filters'>,
  k: number,
): Promise<RouteHit[]> {
  switch (route) {
    case 'bm25':
      return snapshot.text.search(query.q, k, query.filters);
    case 'vector': {
      const embedder = embedders.text;
      if (!snapshot.vectors) throw new Error('the index has no vectors');
      if (!embedder) throw new Error('no text embedder is configured');
      if (snapshot.embedderId !== embedder.id) {
        throw new Error(
          `index was built with embedder ${snapshot.embedderId}, service runs ${embedder.id}: re-run the indexer`,
        );
      }
      const [vec] = await embedder.embedTexts([query.q], 'query');
      // A query with no features (punctuation only) embeds to zero: it has no neighbours.
      return isZero(vec!) ? [] : snapshot.vectors.search(vec!, k, query.filters);
    }
    case 'image': {
      const model = embedders.image;
      if (!snapshot.images) throw new Error('the index has no image vectors');
      if (!model) throw new Error('no image model is configured');
      if (snapshot.imageEmbedderId !== model.id) {
        throw new Error(
          `images were indexed with ${snapshot.imageEmbedderId}, service runs ${model.id}: re-run the indexer`,
        );
      }
      const [vec] = await model.embedTexts([query.q], 'query');
      return isZero(vec!) ? [] : snapshot.images.search(vec!, k, query.filters);
    }
  }
}

function isZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}
