import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, html, useLoad, when } from '../ui.js';

/**
 * Catalog: the index generation served and its counts, the indexer's last runs, what /readyz says
 * of every dependency, and a drift check (vector store against text store, read only: a repair is
 * `npm run index -- --verify`).
 */
/** A deployed model kind (GET /v1/admin/index `models`): the version serving by default, the others an arm may pick. */
const modelText = (m) => {
  if (!m) return '–';
  const others = m.versions.filter((v) => v !== m.version);
  return html`${m.version ? html`<code>${m.version}</code>` : html`<span class="muted">${m.reason}</span>`}
  ${others.length > 0 ? html` <span class="muted">also deployed:</span> ${others.map((v) => html`<code>${v}</code> `)}` : ''}`;
};

export function CatalogPage() {
  const status = useLoad(() => api('/v1/admin/index'), []);
  const ready = useLoad(() => fetch('/readyz').then((r) => r.json()), []);
  const [drift, setDrift] = useState();
  const [error, setError] = useState();
  const check = async () => {
    setError(undefined);
    setDrift({ running: true });
    try {
      setDrift(await api('/v1/admin/index/drift'));
    } catch (err) {
      setDrift(undefined);
      setError(err);
    }
  };
  const s = status.data;
  return html`<div class="columns">
    <section class="card" data-testid="index-status">
      <h2>Index</h2>
      <${ErrorNote} error=${status.error} />
      ${
        s
          ? html`<table>
              <tbody>
                <tr>
                  <th>generation</th>
                  <td><code>${s.generation ?? 'nothing indexed yet'}</code></td>
                </tr>
                <tr>
                  <th>back end</th>
                  <td>${s.backend}</td>
                </tr>
                <tr>
                  <th>products</th>
                  <td class="num">${s.products}</td>
                </tr>
                <tr>
                  <th>vectors</th>
                  <td class="num">${s.vectors ?? '–'}</td>
                </tr>
                ${
                  s.images !== null
                    ? html`<tr>
                        <th>image vectors</th>
                        <td class="num">${s.images}</td>
                      </tr>`
                    : ''
                }
                <tr>
                  <th>text model</th>
                  <td><code>${s.embedder ?? '–'}</code></td>
                </tr>
                ${[
                  ['ranking', 'ranking model'],
                  ['sequence', 'sequence model'],
                ].map(
                  ([kind, label]) =>
                    html`<tr data-testid=${`models-${kind}`}>
                      <th>${label}</th>
                      <td>${modelText(s.models?.[kind])}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : ''
      }
      <h2>Drift check</h2>
      <button onClick=${check} disabled=${drift?.running}>Check drift</button>
      <${ErrorNote} error=${error} />
      ${
        drift && !drift.running
          ? html`<p data-testid="drift" class=${drift.consistent ? 'good' : 'error'}>
              ${
                drift.consistent
                  ? `consistent: ${drift.products} products, ${drift.vectors.count} vectors (${drift.took_ms} ms)`
                  : `drift: ${drift.vectors.missing} missing, ${drift.vectors.extra} extra, ${drift.vectors.mismatched} stale vectors — run npm run index -- --verify`
              }
            </p>`
          : ''
      }
    </section>
    <section class="card">
      <h2>Dependencies <span class="muted">/readyz</span></h2>
      ${
        ready.data
          ? html`<p class=${ready.data.ready ? 'good' : 'error'}>${ready.data.ready ? 'ready' : 'not ready'}</p>
              <table>
                <tbody>
                  ${ready.data.dependencies.map(
                    (d) =>
                      html`<tr>
                        <td>${d.name}</td>
                        <td class=${d.ok ? 'good' : 'error'}>${d.ok ? 'ok' : 'down'}</td>
                        <td class="muted">${d.detail}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
          : ''
      }
      <h2>Last indexer runs</h2>
      ${s && s.runs.length === 0 ? html`<p class="muted">None recorded on this machine.</p>` : ''}
      <table data-testid="index-runs">
        <thead>
          <tr>
            <th>finished</th>
            <th>run</th>
            <th class="num">indexed</th>
            <th class="num">unchanged</th>
            <th class="num">deleted</th>
            <th class="num">skipped</th>
            <th>generation</th>
          </tr>
        </thead>
        <tbody>
          ${(s?.runs ?? []).map(
            (r) =>
              html`<tr>
                <td>${when(r.at)}</td>
                <td>${r.kind} <span class="muted">${r.source}</span></td>
                <td class="num">${r.indexed}</td>
                <td class="num">${r.unchanged}</td>
                <td class="num">${r.deleted}</td>
                <td class="num">${r.skipped}</td>
                <td>
                  <code>${r.generation ?? '–'}</code
                  >${r.write_failures ? html` <span class="error">${r.write_failures} failed writes</span>` : ''}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
  </div>`;
}
