import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, fmt, html, jsonText, parseJson } from '../ui.js';

/**
 * Search playground: a query with filters (and sort and facets when this service's search has
 * them: read from its own OpenAPI document), run as POST /v1/admin/playground/search with debug on,
 * so every result shows where it came from (BM25 and vector ranks, the fused score, the ranker's
 * pCTR/pCVR, MMR) and its coupon. Two settings side by side: each column its own per-request
 * overrides of request-scoped settings, the same map an experiment arm takes.
 */

const FACETS = ['category', 'brand', 'price', 'in_stock'];

/** What this service's search takes beyond the basics (facets, sort), from /openapi.json. */
function useSearchCapabilities() {
  const [caps, setCaps] = useState({ sorts: [], facets: false });
  useEffect(() => {
    fetch('/openapi.json')
      .then((r) => r.json())
      .then((doc) => {
        const props = doc.components?.schemas?.SearchRequest?.properties ?? {};
        setCaps({ sorts: props.sort?.enum ?? [], facets: props.facets !== undefined });
      })
      .catch(() => {});
  }, []);
  return caps;
}

function Provenance({ item }) {
  const d = item.debug ?? {};
  const parts = [
    d.bm25_rank !== undefined && d.bm25_rank !== null && `BM25 #${d.bm25_rank}`,
    d.vector_rank !== undefined && d.vector_rank !== null && `vector #${d.vector_rank}`,
    d.fused_score !== undefined && `fused ${fmt(d.fused_score)}`,
    d.fusion_position !== undefined && `fusion pos ${d.fusion_position}`,
    d.p_ctr !== undefined && `pCTR ${fmt(d.p_ctr)}`,
    d.p_cvr !== undefined && `pCVR ${fmt(d.p_cvr)}`,
    d.mmr?.position_before !== undefined && `MMR ${d.mmr.position_before}→${d.mmr.position_after}`,
  ].filter(Boolean);
  return html`<div class="meta provenance">${parts.map((p) => html`<span class="badge">${p}</span>`)}</div>`;
}

function Results({ response, other }) {
  if (!response) return null;
  const before = new Map((other?.items ?? []).map((it, i) => [it.id, i]));
  const debug = response.debug ?? {};
  return html`<div>
    <p class="meta">
      ${response.total} matching · ${fmt(response.took_ms, 1)} ms · fusion ${debug.fusion?.mode ?? '–'}
      (${debug.fusion?.lexical_evidence ?? '–'}) · ranking ${debug.ranking?.mode ?? '–'}
      ${debug.ranking?.model_version ? ` ${debug.ranking.model_version}` : ''} · MMR
      ${debug.mmr?.enabled ? `λ ${debug.mmr.lambda}` : 'off'}
      ${response.degraded ? html` · <span class="error">degraded: ${response.degraded.map((d) => d.route).join(', ')}</span>` : ''}
    </p>
    ${response.notice ? html`<p class="muted">${response.notice.message}</p>` : ''}
    <ol class="results" data-testid="results">
      ${response.items.map((it, i) => {
        const was = before.get(it.id);
        const move =
          other === undefined
            ? ''
            : was === undefined
              ? html`<span class="badge up">new</span>`
              : was > i
                ? html`<span class="badge up">▲${was - i}</span>`
                : was < i
                  ? html`<span class="badge down">▼${i - was}</span>`
                  : '';
        return html`<li data-id=${it.id}>
          <div>
            <span class="muted">${i + 1}.</span> <span class="title">${it.title}</span> ${move}
            ${
              it.coupon
                ? html`<span class="badge coupon" title=${`expected value ${fmt(it.coupon.expected_value, 2)}`}
                    >coupon ${it.coupon.name} −${fmt(it.coupon.discount, 2)}</span
                  >`
                : ''
            }
          </div>
          <div class="meta">
            ${it.id} · ${it.brand ?? '–'} · ${it.category ?? '–'} ·
            ${it.price !== undefined ? `${fmt(it.price, 2)} ${it.currency ?? ''}` : '–'}
            ${it.in_stock ? '' : ' · out of stock'} · score ${fmt(it.score, 4)}
          </div>
          <${Provenance} item=${it} />
        </li>`;
      })}
    </ol>
  </div>`;
}

function Facets({ facets, onPick }) {
  if (!facets) return null;
  const lists = Object.entries(facets).filter(([, v]) => Array.isArray(v) && v.length > 0);
  return html`<div class="facets" data-testid="facets">
    ${lists.map(
      ([name, values]) =>
        html`<div>
          <strong>${name}</strong>
          <ul>
            ${values.slice(0, 10).map(
              (v) =>
                html`<li>
                  <button type="button" onClick=${() => onPick(name, v.value)}>${String(v.value)}</button>
                  <span class="muted">${v.count}</span>
                </li>`,
            )}
          </ul>
        </div>`,
    )}
    ${
      facets.price?.buckets?.length
        ? html`<div>
            <strong>price</strong>
            <ul>
              ${facets.price.buckets.map((b) => html`<li>${fmt(b.from, 0)}–${fmt(b.to, 0)} <span class="muted">${b.count}</span></li>`)}
            </ul>
          </div>`
        : ''
    }
  </div>`;
}

export function SearchPage() {
  const caps = useSearchCapabilities();
  const [form, setForm] = useState({
    q: 'running shoes',
    category: '',
    brand: '',
    price_min: '',
    price_max: '',
    in_stock: false,
    sort: '',
    user_id: '',
    size: 10,
  });
  const [compare, setCompare] = useState(false);
  const [overrides, setOverrides] = useState(['{}', jsonText({ 'retrieval.weights.vector': 0.5 })]);
  const [results, setResults] = useState([]);
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  const body = (f) => {
    const filters = {};
    if (f.category) filters.category = f.category;
    if (f.brand) filters.brand = f.brand;
    if (f.price_min !== '') filters.price_min = Number(f.price_min);
    if (f.price_max !== '') filters.price_max = Number(f.price_max);
    if (f.in_stock) filters.in_stock = true;
    return {
      q: f.q,
      size: Number(f.size) || 10,
      ...(Object.keys(filters).length > 0 && { filters }),
      ...(f.sort && { sort: f.sort }),
      ...(caps.facets && { facets: FACETS }),
      ...(f.user_id && { user_id: f.user_id }),
    };
  };

  const run = async (f = form) => {
    setError(undefined);
    const columns = compare ? [0, 1] : [0];
    const parsed = columns.map((i) => parseJson(overrides[i], `settings ${'AB'[i]}`));
    const bad = parsed.find((p) => p.error);
    if (bad) return setError(bad.error);
    setBusy(true);
    try {
      const search = body(f);
      setResults(
        await Promise.all(
          parsed.map((p) =>
            api('/v1/admin/playground/search', { method: 'POST', body: { search, overrides: p.value } }),
          ),
        ),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const pick = (name, value) => {
    if (name !== 'category' && name !== 'brand') return;
    const f = { ...form, [name]: String(value) };
    setForm(f);
    void run(f);
  };

  return html`<div>
    <form
      class="card"
      onSubmit=${(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <label>Query <input name="q" value=${form.q} onInput=${set('q')} size="28" /></label>
      <label
        >Category <input name="category" value=${form.category} onInput=${set('category')} placeholder="Sports"
      /></label>
      <label>Brand <input name="brand" value=${form.brand} onInput=${set('brand')} size="10" /></label>
      <label
        >Price from
        <input
          name="price_min"
          type="number"
          min="0"
          value=${form.price_min}
          onInput=${set('price_min')}
          style="width:6em"
      /></label>
      <label
        >to
        <input
          name="price_max"
          type="number"
          min="0"
          value=${form.price_max}
          onInput=${set('price_max')}
          style="width:6em"
      /></label>
      <label
        >In stock <input name="in_stock" type="checkbox" checked=${form.in_stock} onChange=${set('in_stock')}
      /></label>
      ${
        caps.sorts.length > 0
          ? html`<label
              >Sort
              <select name="sort" value=${form.sort} onChange=${set('sort')}>
                <option value="">relevance</option>
                ${caps.sorts.filter((s) => s !== 'relevance').map((s) => html`<option value=${s}>${s}</option>`)}
              </select></label
            >`
          : ''
      }
      <label
        >As shopper
        <input
          name="user_id"
          value=${form.user_id}
          onInput=${set('user_id')}
          placeholder="user id (optional)"
          size="12"
      /></label>
      <label
        >Size
        <input name="size" type="number" min="1" max="100" value=${form.size} onInput=${set('size')} style="width:4em"
      /></label>
      <label
        >Side by side
        <input name="compare" type="checkbox" checked=${compare} onChange=${(e) => setCompare(e.target.checked)}
      /></label>
      <button type="submit" disabled=${busy}>Search</button>
    </form>
    <${ErrorNote} error=${error} />
    <div class="columns">
      ${(compare ? [0, 1] : [0]).map(
        (i) =>
          html`<section class="card" data-testid=${`column-${'ab'[i]}`}>
            <h2>${compare ? `Settings ${'AB'[i]}` : 'Settings'}</h2>
            <label
              >Overrides (request-scoped setting paths, as an experiment arm takes them)
              <textarea
                name=${`overrides-${'ab'[i]}`}
                value=${overrides[i]}
                onInput=${(e) => setOverrides(overrides.map((o, j) => (j === i ? e.target.value : o)))}
              ></textarea>
            </label>
            ${results[i] ? html`<${Facets} facets=${results[i].response.facets} onPick=${pick} />` : ''}
            <${Results}
              response=${results[i]?.response}
              other=${compare && i === 1 ? results[0]?.response : undefined}
            />
          </section>`,
      )}
    </div>
  </div>`;
}
