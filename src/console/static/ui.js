import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

/** htm over Preact (tagged templates instead of JSX: no build step), and the small pieces every page shares. */
export const html = htm.bind(h);

export const fmt = (x, digits = 3) =>
  x === null || x === undefined
    ? '–'
    : typeof x === 'number'
      ? String(Math.round(x * 10 ** digits) / 10 ** digits)
      : String(x);
export const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
export const when = (t) => (t ? new Date(t).toISOString().slice(0, 19).replace('T', ' ') : '–');

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">
    <strong>${error.code ?? 'error'}</strong>:
    ${error.message}${error.field ? html` (<code>${error.field}</code>)` : ''}
  </p>`;
}

/** Runs `load` when `deps` change; `{data, error, loading, reload}`. */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ loading: true });
  const run = () => {
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => setState({ data, loading: false }),
      (error) => setState({ error, loading: false }),
    );
  };
  useEffect(run, deps);
  return { ...state, reload: run };
}

/** A report page (self-contained HTML, no scripts) in a frame that may run none. */
export function ReportFrame({ html: page, title }) {
  return html`<iframe class="report" title=${title} sandbox="" srcdoc=${page}></iframe>`;
}

/** `{a: 1}` as text for a textarea; parses back, or says why not. */
export const jsonText = (v) => JSON.stringify(v, null, 1);
export function parseJson(text, what) {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: { code: 'invalid_json', message: `${what}: ${e.message}` } };
  }
}
