import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, fmt, html, when } from '../ui.js';

/**
 * Shopper: one shopper's state as the consumer folded it from their events (recent items and their
 * weights, affinities, price band, counts) and the feed they get now, each item with the routes
 * that found it (GET /v1/admin/shopper: not logged as a response they were shown).
 */

const Weighted = ({ rows }) =>
  rows.length === 0
    ? html`<span class="muted">none</span>`
    : html`<ul>
        ${rows.map((r) => html`<li>${r.key} <span class="muted">${fmt(r.weight, 2)}</span></li>`)}
      </ul>`;

function State({ state }) {
  if (!state)
    return html`<p class="muted">
      No events of theirs applied yet: a cold start (the feed shows what a new shopper sees).
    </p>`;
  return html`<div>
    <p class="meta">
      state of <code>${state.subject}</code>${state.linked ? ' (a session linked to this user)' : ''} · version
      ${state.version} · last event ${when(state.updated_at)} · interest vector ${state.interest_vector ? 'yes' : 'no'}
      · price band ${fmt(state.price_band, 2)}
    </p>
    <p class="meta">
      ${Object.entries(state.counts).map(([k, v]) => html`<span class="badge">${k} ${v}</span>`)}
      ${Object.entries(state.coupons).map(([k, v]) => html`<span class="badge coupon">coupons ${k} ${v}</span>`)}
    </p>
    <h2>Recent items</h2>
    <table data-testid="recent">
      <thead>
        <tr>
          <th>when</th>
          <th>product</th>
          <th class="num">weight</th>
        </tr>
      </thead>
      <tbody>
        ${state.recent.map(
          (r) =>
            html`<tr>
              <td>${when(r.ts)}</td>
              <td>${r.title ?? r.id} <span class="muted">${r.id}</span></td>
              <td class="num">${fmt(r.weight, 2)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <div class="columns">
      <div>
        <h2>Categories</h2>
        <${Weighted} rows=${state.categories} />
      </div>
      <div>
        <h2>Brands</h2>
        <${Weighted} rows=${state.brands} />
      </div>
    </div>
  </div>`;
}

function Feed({ feed }) {
  const d = feed.debug ?? {};
  return html`<div>
    <p class="meta">
      ${feed.cold_start ? 'cold start · ' : ''}${fmt(feed.took_ms, 1)} ms · weights
      ${Object.entries(d.weights ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}
      ${feed.experiment ? html` · experiment <strong>${feed.experiment.id}</strong> arm <strong>${feed.experiment.arm}</strong>` : ''}
      ${feed.degraded ? html` · <span class="error">degraded: ${feed.degraded.map((x) => x.route).join(', ')}</span>` : ''}
    </p>
    <ol class="results" data-testid="feed">
      ${feed.items.map(
        (it, i) =>
          html`<li data-id=${it.id}>
            <div>
              <span class="muted">${i + 1}.</span>
              <span class="title">${it.title}</span>
              ${it.coupon ? html`<span class="badge coupon">coupon ${it.coupon.name} −${fmt(it.coupon.discount, 2)}</span>` : ''}
            </div>
            <div class="meta">
              ${it.id} · ${it.brand ?? '–'} · ${it.category ?? '–'} · ${fmt(it.price, 2)} · score ${fmt(it.score, 4)}
            </div>
            <div class="meta">
              ${Object.entries(it.routes ?? {}).map(([route, hit]) => html`<span class="badge">${route} #${hit.rank}</span>`)}
            </div>
          </li>`,
      )}
    </ol>
  </div>`;
}

export function ShopperPage() {
  const initial = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const [who, setWho] = useState({
    kind: initial.has('session_id') ? 'session_id' : 'user_id',
    id: initial.get('user_id') ?? initial.get('session_id') ?? '',
  });
  const [view, setView] = useState();
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const open = async (e) => {
    e?.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      // The shopper id goes in the hash (shareable between merchandisers); the key never does.
      history.replaceState(null, '', `#/shopper?${query({ [who.kind]: who.id })}`);
      setView(await api(`/v1/admin/shopper?${query({ [who.kind]: who.id, size: 10 })}`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<div>
    <form class="card" onSubmit=${open}>
      <label
        >Shopper
        <select name="kind" value=${who.kind} onChange=${(e) => setWho({ ...who, kind: e.target.value })}>
          <option value="user_id">user id</option>
          <option value="session_id">session id</option>
        </select></label
      >
      <label
        >Id <input name="shopper" value=${who.id} onInput=${(e) => setWho({ ...who, id: e.target.value })} required
      /></label>
      <button type="submit" disabled=${busy}>Open</button>
    </form>
    <${ErrorNote} error=${error} />
    ${
      view
        ? html`<div class="columns">
            <section class="card">
              <h2>State</h2>
              <${State} state=${view.state} />
            </section>
            <section class="card">
              <h2>Feed</h2>
              <${Feed} feed=${view.feed} />
            </section>
          </div>`
        : ''
    }
  </div>`;
}
