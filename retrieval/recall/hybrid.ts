import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import type { RetrievalConfig } from '../index/config.ts';
import type { Candidate, Degraded, Evidence, Highlight } from '../../core/candidate.ts';
import type { Product } from '../../core/catalog/product.ts';
import { unavailableIn } from '../../core/dependency-guard.ts';
import { escapeHtml, highlight, highlightSnippet } from '../../core/text/highlight.ts';
import type { LexicalMatch } from '../index/lexical.ts';
import { toCandidate } from './hydrate.ts';
import { fuseSearch, planFusion, type FusionPlan } from './fusion.ts';
import type { FusedHit } from './rrf.ts';
import { byPopularity, matchQuery, matchSet, tiesByRelevance, type SortOrder } from './match-set.ts';
import type { IndexSnapshot, VectorStore } from '../index/stores.ts';
import type { FacetCounts, FacetField } from '../index/facets.ts';
import type { ItemDebug, RouteHit, RouteName, SearchItem, SearchQuery, SearchResult } from '../index/types.ts';

/**
 * Hybrid search over one index snapshot: run every requested recall route with the filters
 * inside it, fuse (retrieval/recall/fusion.ts), page, hydrate. A route that fails is left out and named in
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
  /** The window's candidates, hydrated, in fusion order (or the requested sort), each with the routes that found it. */
  candidates: Candidate[];
  /** Size of the match set (match-set.ts); the recalled matches when the store could not count it. */
  total: number;
  /** How the routes were fused for this query (debug). */
  fusion?: FusionPlan;
  /** Facet counts over the match set, when asked for. */
  facets?: FacetCounts;
  degraded?: Degraded[];
  /** What the BM25 route matched with (corrections, synonyms, terms), when it ran. */
  lexical?: LexicalMatch;
  /** The text model the vector route searched with, when it ran. */
  textModel?: TextModelUsed;
}

/** Which text model a search's vector route used, and why not the one it asked for. */
export interface TextModelUsed {
  /** The model id: name, version and a hash of its weights. */
  version: string | undefined;
  /** The version the request asked for (embedder.model_version), when it named one. */
  requested?: string | undefined;
  /** Why the requested version was not used. */
  reason?: string | undefined;
}

/** The query encoder and vector set a search uses (chooseTextModel). */
interface TextModelChoice extends TextModelUsed {
  encoder: TextEmbedder | undefined;
  vectors: VectorStore | undefined;
  /** Why there is no encoder, when there is none. */
  error?: string | undefined;
}

/**
 * The pinned generation's text model a request searches with: the version it asks for when the
 * generation holds its vectors and the service its encoder, else the generation's own (saying
 * why). Encoder and vectors come from the one snapshot, so they always belong together.
 */
function chooseTextModel(
  snapshot: IndexSnapshot,
  embedders: Embedders,
  requested: string | undefined,
): TextModelChoice {
  const main = snapshot.embedderId;
  let reason: string | undefined;
  if (requested && requested !== main) {
    const vectors = snapshot.extraVectors?.get(requested);
    const encoder = snapshot.encoders?.get(requested);
    if (vectors && encoder) return { version: requested, requested, encoder, vectors };
    reason = vectors
      ? `text model ${requested} is not loaded here (${snapshot.encoderErrors?.get(requested) ?? 'no encoder'}): searched with ${main}`
      : `index generation ${snapshot.generation} holds no vectors of text model ${requested}: searched with ${main}`;
  }
  const asked = requested ? { requested, ...(reason !== undefined && { reason }) } : {};
  // A snapshot from the searcher carries its encoders; one opened directly is searched by the caller's model.
  if (snapshot.encoders) {
    const encoder = main !== undefined ? snapshot.encoders.get(main) : undefined;
    const error = encoder ? undefined : (snapshot.encoderErrors?.get(main ?? '') ?? `no text model for ${main}`);
    return { version: main, ...asked, encoder, vectors: snapshot.vectors, ...(error !== undefined && { error }) };
  }
  const own = embedders.text;
  if (own && own.id === main) return { version: main, ...asked, encoder: own, vectors: snapshot.vectors };
  return {
    version: main,
    ...asked,
    encoder: undefined,
    vectors: snapshot.vectors,
    error: own
      ? `index was built with embedder ${main}, service runs ${own.id}: re-run the indexer`
      : 'no text embedder is configured',
  };
}

/** What a search page asks beyond the ranked list: facets, and an order for the whole match set. */
export interface Explore {
  facets?: readonly FacetField[] | undefined;
  maxValues?: number | undefined;
  sort?: SortOrder | undefined;
  /** The behaviour stream's most popular products (popularity sort), best first. */
  popular?: ((k: number) => Promise<Array<{ id: string; score: number }>>) | undefined;
}

/** How many best-sellers a popularity sort considers before falling back to relevance. */
const POPULAR_DEPTH = 1000;
/** Sorted pages read this many more products, so relevance can break ties across the page edge. */
const TIE_WINDOW = 50;

/**
 * Hybrid recall over one snapshot: every route with the filters inside it, fused (fusion.ts),
 * the window [from, to) of the fused list hydrated into candidates that carry their evidence.
 */
export async function hybridRecall(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: Pick<SearchQuery, 'q' | 'filters' | 'routes' | 'lexical' | 'highlight' | 'model_version'>,
  cfg: RetrievalConfig,
  window: RecallWindow,
  explore?: Explore,
): Promise<Recalled> {
  if (!snapshot) return { candidates: [], total: 0 };
  const k = Math.max(cfg.recall_k, window.to);
  const browse = query.q.trim() === '';
  const routes: RouteName[] = browse
    ? []
    : (query.routes ?? [
        'bm25',
        ...(snapshot.vectors ? (['vector'] as const) : []),
        ...(snapshot.images && embedders.image ? (['image'] as const) : []),
      ]);
  const degraded: Degraded[] = [];
  const failures: unknown[] = [];
  const scores = new Map<string, Partial<Record<RouteName, RouteHit>>>();
  let lexical: LexicalMatch | undefined;
  const textModel = routes.includes('vector') ? chooseTextModel(snapshot, embedders, query.model_version) : undefined;

  const run = async (route: RouteName): Promise<RouteHit[] | undefined> => {
    try {
      let hits: RouteHit[];
      // The vector route's hits below the similarity threshold stay in fusion's input and are left
      // out of the match set (match-set.ts): one threshold, retrieval.match.min_similarity.
      if (route === 'bm25') {
        const r = await snapshot.text.lexical(query.q, k, query.filters, query.lexical ?? {});
        hits = r.hits;
        lexical = r.match;
      } else hits = await recall(route, snapshot, embedders, query, k, textModel);
      for (const h of hits) {
        const s = scores.get(h.id) ?? {};
        s[route] = h;
        scores.set(h.id, s);
      }
      return hits;
    } catch (err) {
      degraded.push({ route, reason: (err as Error).message });
      failures.push(err);
      return undefined;
    }
  };
  // Routes run concurrently: the query embedding runs on onnxruntime's threads while SQLite works.
  const results = await Promise.all(routes.map(run));
  // No route answered and a server is out of its budget: there is nothing to degrade to, and an
  // empty page would read as "no such products". The caller answers 503 with Retry-After.
  const down = failures.map(unavailableIn).find((u) => u !== undefined);
  if (failures.length === routes.length && down) throw down;
  const byRoute: Partial<Record<RouteName, RouteHit[]>> = {};
  routes.forEach((route, i) => {
    if (results[i]) byRoute[route] = results[i];
  });

  const fusion = planFusion(cfg, byRoute.bm25);
  // The threshold is the searching model's own (each model is calibrated on its own scale).
  const minSimilarity =
    cfg.match.min_similarity ?? (textModel ? textModel.encoder : embedders.text)?.similarityThreshold ?? -1;
  const matching = matchSet(byRoute, minSimilarity);
  // Only matches are shown and counted: a nearest neighbour below the threshold is no answer.
  const fused = fuseSearch(byRoute, fusion, cfg).filter((h) => matching.has(h.id));
  const fusedIds = fused.map((h) => h.id);
  const sort = explore?.sort ?? 'relevance';
  const facets = explore?.facets ?? [];
  // The match set: counted for `total` on every search, faceted and sorted when asked.
  const match = matchQuery(query.q, fusedIds, query.filters);
  let total = fused.length;
  let facetCounts: FacetCounts | undefined;
  let order: readonly string[] = fusedIds;
  // A plain relevance search reads the store only to count its match set; when the text store
  // already failed its route, the recalled matches are the count (its failure is named once, bm25).
  const asked = facets.length > 0 || sort !== 'relevance' || browse;
  const textDown = routes.includes('bm25') && !byRoute.bm25;
  if (asked || !textDown) {
    try {
      const storeSort = sort === 'price:asc' || sort === 'price:desc' || sort === 'newest' ? sort : undefined;
      // A relevance-ordered search reads no sorted list; everything else reads past the page.
      const depth = sort === 'relevance' && !browse ? 0 : window.to + TIE_WINDOW;
      const explored = await snapshot.text.explore(match, {
        facets,
        maxValues: explore?.maxValues ?? 20,
        sort: storeSort,
        k: depth,
      });
      total = explored.total;
      if (facets.length > 0) facetCounts = explored.facets;
      const fusionRank = new Map(fusedIds.map((id, i) => [id, i]));
      if (storeSort) order = tiesByRelevance(explored.sorted, fusionRank);
      else if (sort === 'popularity') {
        const popular = explore?.popular ? await explore.popular(POPULAR_DEPTH) : [];
        const members =
          popular.length > 0
            ? await snapshot.text.explore(
                { ...match, only: popular.map((p) => p.id) },
                { facets: [], maxValues: 0, k: popular.length },
              )
            : { sorted: [] };
        const matching = new Set(members.sorted.map((h) => h.id));
        order = byPopularity(
          popular,
          matching,
          fusedIds,
          explored.sorted.map((h) => h.id),
          fusionRank,
        );
      } else if (browse) order = explored.sorted.map((h) => h.id);
    } catch (err) {
      if (asked) degraded.push({ route: 'facets', reason: (err as Error).message });
    }
  }

  const byId = new Map<string, FusedHit>(fused.map((h) => [h.id, h]));
  const windowIds = order.slice(window.from, window.to);
  const products = await snapshot.text.get([...windowIds]);
  const candidates: Candidate[] = [];
  windowIds.forEach((id, i) => {
    const p = products.get(id);
    if (!p) return;
    const hit = byId.get(id);
    const s = scores.get(id) ?? {};
    const evidence: Record<string, Evidence> = {};
    for (const route of ['bm25', 'vector', 'image'] as const) {
      const rank = hit?.ranks[route];
      const h = s[route];
      if (rank !== undefined && h) {
        evidence[route] = { rank, score: h.score, ...(h.coverage !== undefined && { coverage: h.coverage }) };
      }
    }
    const c = toCandidate(p, hit?.score ?? 0, window.from + i, evidence);
    if (fusion.mode === 'score') c.fused_rrf = 2 / (61 + c.fusion_position);
    if (query.highlight) c.highlight = highlightOf(p, lexical);
    candidates.push(c);
  });
  return {
    candidates,
    total,
    fusion,
    ...(facetCounts && { facets: facetCounts }),
    ...(degraded.length > 0 && { degraded }),
    ...(lexical && { lexical }),
    ...(textModel && {
      textModel: {
        version: textModel.version,
        ...(textModel.requested !== undefined && { requested: textModel.requested }),
        ...(textModel.reason !== undefined && { reason: textModel.reason }),
      },
    }),
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
    ...(r.textModel?.version !== undefined && { text_model: r.textModel.version }),
  };
}

/** A search candidate's evidence in the flat shape search responses show under `debug`. */
export function routeDebug(c: Pick<Candidate, 'routes' | 'fused_score'>): ItemDebug {
  const { bm25, vector, image } = c.routes;
  return {
    fused_score: c.fused_score,
    ...(bm25 && {
      bm25_rank: bm25.rank,
      bm25_score: bm25.score,
      ...(bm25.coverage !== undefined && { bm25_coverage: bm25.coverage }),
    }),
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
  model: TextModelChoice | undefined,
): Promise<RouteHit[]> {
  switch (route) {
    case 'bm25':
      return snapshot.text.search(query.q, k, query.filters);
    case 'vector': {
      const m = model ?? chooseTextModel(snapshot, embedders, undefined);
      if (!m.vectors) throw new Error('the index has no vectors');
      if (!m.encoder) throw new Error(m.error ?? 'no text embedder is configured');
      const [vec] = await m.encoder.embedTexts([query.q], 'query');
      // A query with no features (punctuation only) embeds to zero: it has no neighbours.
      return isZero(vec!) ? [] : m.vectors.search(vec!, k, query.filters);
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
