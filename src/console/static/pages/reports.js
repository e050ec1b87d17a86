import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, html, ReportFrame, useLoad, when } from '../ui.js';

/**
 * Reports: the shop report computed now from the shop's logs (what shoppers searched, clicked and
 * bought, zero-result queries, coupons), and the offline report files (npm run eval / report
 * --out) found in the configured folder (console.reports_dir). Each is shown as the self-contained
 * page the report code writes, in a frame that runs no script.
 */
export function ReportsPage() {
  const files = useLoad(() => api('/v1/admin/reports/files'), []);
  const [range, setRange] = useState({ from: '', to: '' });
  const [shown, setShown] = useState();
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const show = async (title, load) => {
    setError(undefined);
    setBusy(true);
    try {
      setShown({ title, html: await load() });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const shop = (e) => {
    e.preventDefault();
    void show('Shop report', async () => (await api(`/v1/admin/reports/shop?${query(range)}`)).html);
  };
  return html`<div>
    <div class="columns">
      <form class="card" onSubmit=${shop}>
        <h2 style="flex-basis:100%">Shop report (live, from the logs)</h2>
        <label
          >From
          <input
            name="from"
            type="date"
            value=${range.from}
            onInput=${(e) => setRange({ ...range, from: e.target.value })}
        /></label>
        <label
          >To
          <input name="to" type="date" value=${range.to} onInput=${(e) => setRange({ ...range, to: e.target.value })}
        /></label>
        <button type="submit" disabled=${busy}>Open shop report</button>
      </form>
      <section class="card">
        <h2>Offline reports${files.data ? html` <span class="muted">in ${files.data.dir}/</span>` : ''}</h2>
        <${ErrorNote} error=${files.error} />
        ${
          files.data?.files.length === 0
            ? html`<p class="muted">
                No HTML reports in the folder yet (settings <code>console.reports_dir</code>; e.g.
                <code>npm run eval -- search --out reports/search</code>).
              </p>`
            : ''
        }
        <ul data-testid="report-files">
          ${(files.data?.files ?? []).map(
            (f) =>
              html`<li>
                <button
                  class="link"
                  onClick=${() => show(f.name, () => api(`/v1/admin/reports/file?${query({ name: f.name })}`, { as: 'text' }))}
                >
                  ${f.name}
                </button>
                <span class="muted">${when(f.modified)}</span>
              </li>`,
          )}
        </ul>
      </section>
    </div>
    <${ErrorNote} error=${error} />
    ${
      shown
        ? html`<h2>${shown.title}</h2>
            <${ReportFrame} title=${shown.title} html=${shown.html} />`
        : ''
    }
  </div>`;
}
