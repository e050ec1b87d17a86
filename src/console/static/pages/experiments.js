import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, fmt, html, jsonText, parseJson, pct, useLoad, when } from '../ui.js';

/**
 * Experiments: the definitions with their live state (GET /v1/admin/experiments), a form to create
 * one, start and stop, and each experiment's live per-arm metrics: experiment.json as the report
 * code computes it from the shop's logs now (GET /v1/admin/reports/experiments/:id).
 */

const EXAMPLE_ARMS = [
  { name: 'control', weight: 50 },
  { name: 'b', weight: 50, overrides: { 'retrieval.weights.vector': 0.5 } },
];
const METRICS = [
  ['ctr', 'CTR', pct],
  ['add_to_cart', 'add to cart', pct],
  ['conversion', 'conversion', pct],
  ['revenue_per_shopper', 'revenue / shopper', (x) => fmt(x, 2)],
  ['coupon_cost_per_shopper', 'coupon cost / shopper', (x) => fmt(x, 2)],
];

const interval = (e, show) =>
  e ? html`${show(e.value)} <span class="muted">[${show(e.ci?.[0])}, ${show(e.ci?.[1])}]</span>` : '–';
const liftText = (l) =>
  !l || l.relative === null || Number.isNaN(l.relative)
    ? '–'
    : html`<span class=${l.p_value < 0.05 ? (l.relative > 0 ? 'good' : 'error') : ''}
          >${l.relative > 0 ? '+' : ''}${pct(l.relative)}</span
        >
        <span class="muted">p ${fmt(l.p_value, 3)}</span>`;

function Metrics({ id }) {
  const { data, error, loading, reload } = useLoad(
    () => api(`/v1/admin/reports/experiments/${encodeURIComponent(id)}`),
    [id],
  );
  if (loading && !data) return html`<p class="muted">Computing from the logs…</p>`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  const r = data.report;
  return html`<div data-testid="arm-metrics">
    <p class=${`verdict tone-${r.verdict.tone}`}>${r.verdict.text}</p>
    ${r.srm.mismatch ? html`<p class="error">Sample ratio mismatch (p ${fmt(r.srm.p_value, 4)}): the split is not what the weights say.</p>` : ''}
    <table>
      <thead>
        <tr>
          <th>arm</th>
          <th>surface</th>
          <th class="num">requests</th>
          <th class="num">shoppers</th>
          ${METRICS.map(([, label]) => html`<th>${label}</th>`)}
          <th>conversion lift</th>
        </tr>
      </thead>
      <tbody>
        ${r.rows.map(
          (row) =>
            html`<tr>
              <td>${row.arm}</td>
              <td>${row.surface}</td>
              <td class="num">${row.requests}</td>
              <td class="num">${row.shoppers}</td>
              ${METRICS.map(([k, , show]) => html`<td>${interval(row.metrics[k], show)}</td>`)}
              <td>${row.lift ? liftText(row.lift.conversion) : html`<span class="muted">control</span>`}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p class="meta">
      95% intervals over shoppers · purchases attributed by request id ${r.attribution.by_request_id}, by a click within
      the window ${r.attribution.by_click_window} · <button class="secondary" onClick=${reload}>Refresh</button>
    </p>
  </div>`;
}

/** The model versions an arm may name (GET /v1/admin/index `models`): a version not listed is refused with a 400. */
function DeployedVersions() {
  const { data } = useLoad(() => api('/v1/admin/index'), []);
  if (!data?.models) return '';
  const kinds = Object.entries(data.models).filter(([, m]) => m);
  return html`<p class="meta" data-testid="deployed-versions">
    Model versions an arm may pick:
    ${kinds.map(
      ([kind, m], i) =>
        html`${i > 0 ? ' · ' : ''}<code>${kind}.model_version</code>
          ${m.versions.length > 0 ? m.versions.map((v) => html`<code>${v}</code> `) : html`<span class="muted">none</span>`}`,
    )}
  </p>`;
}

function CreateForm({ onCreated }) {
  const [form, setForm] = useState({ id: '', surface: 'search', status: 'draft', arms: jsonText(EXAMPLE_ARMS) });
  const [error, setError] = useState();
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(undefined);
    const arms = parseJson(form.arms, 'arms');
    if (arms.error) return setError(arms.error);
    try {
      await api('/v1/admin/experiments', {
        method: 'POST',
        body: { id: form.id, surface: form.surface, status: form.status, arms: arms.value },
      });
      setForm({ ...form, id: '' });
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card" onSubmit=${submit} data-testid="create-experiment">
    <label>Id <input name="id" value=${form.id} onInput=${set('id')} required pattern="[A-Za-z0-9_.\\-]+" /></label>
    <label
      >Surface
      <select name="surface" value=${form.surface} onChange=${set('surface')}>
        ${['search', 'feed', 'similar', 'all'].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label
    >
    <label
      >Status
      <select name="status" value=${form.status} onChange=${set('status')}>
        <option value="draft">draft (start it below)</option>
        <option value="running">running now</option>
      </select></label
    >
    <label style="flex-basis:100%"
      >Arms (name, weight = traffic share, overrides of request-scoped settings)
      <textarea name="arms" rows="6" value=${form.arms} onInput=${set('arms')}></textarea>
    </label>
    <${DeployedVersions} />
    <button type="submit">Create</button>
    <${ErrorNote} error=${error} />
  </form>`;
}

export function ExperimentsPage() {
  const list = useLoad(() => api('/v1/admin/experiments'), []);
  const [open, setOpen] = useState();
  const [error, setError] = useState();
  const act = async (id, action) => {
    setError(undefined);
    try {
      await api(`/v1/admin/experiments/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const experiments = list.data?.experiments ?? [];
  return html`<div>
    <section class="card">
      <h2>Experiments</h2>
      <${ErrorNote} error=${list.error ?? error} />
      ${experiments.length === 0 && !list.loading ? html`<p class="muted">None yet: create one below.</p>` : ''}
      <table data-testid="experiments">
        <thead>
          <tr>
            <th>id</th>
            <th>surface</th>
            <th>state</th>
            <th>arms</th>
            <th>created</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${experiments.map(
            (e) =>
              html`<tr data-id=${e.id}>
                <td><strong>${e.id}</strong></td>
                <td>${e.surface}</td>
                <td class="state">${e.live.state}${e.live.serving ? ' (serving)' : ''}</td>
                <td>
                  ${e.arms.map((a) => html`<div>${a.name} <span class="muted">${a.weight}</span> ${Object.keys(a.overrides).length ? html`<code>${JSON.stringify(a.overrides)}</code>` : ''}</div>`)}
                </td>
                <td>${when(e.created_at)}</td>
                <td>
                  ${e.status === 'draft' ? html`<button onClick=${() => act(e.id, 'start')}>Start</button> ` : ''}
                  ${e.status !== 'stopped' ? html`<button class="secondary" onClick=${() => act(e.id, 'stop')}>Stop</button> ` : ''}
                  <button class="secondary" onClick=${() => setOpen(open === e.id ? undefined : e.id)}>Metrics</button>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${
      open
        ? html`<section class="card">
            <h2>${open}: per-arm metrics</h2>
            <${Metrics} id=${open} />
          </section>`
        : ''
    }
    <h2>New experiment</h2>
    <${CreateForm} onCreated=${list.reload} />
  </div>`;
}
