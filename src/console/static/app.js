import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session } from './api.js';
import { ErrorNote, html } from './ui.js';
import { SearchPage } from './pages/search.js';
import { ShopperPage } from './pages/shopper.js';
import { ExperimentsPage } from './pages/experiments.js';
import { ReportsPage } from './pages/reports.js';
import { CatalogPage } from './pages/catalog.js';

/** The shell: the login form until the admin key is accepted, then the pages, routed by the URL hash. */

const PAGES = [
  { id: 'search', title: 'Search playground', Page: SearchPage },
  { id: 'shopper', title: 'Shopper', Page: ShopperPage },
  { id: 'experiments', title: 'Experiments', Page: ExperimentsPage },
  { id: 'reports', title: 'Reports', Page: ReportsPage },
  { id: 'catalog', title: 'Catalog', Page: CatalogPage },
];

const current = () => location.hash.replace(/^#\/?/, '').split('?')[0] || 'search';

function Login({ onLogin }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // Any admin read proves the key; the index status is the cheapest.
      await api('/v1/admin/index', { key });
      session.login(key);
      onLogin();
    } catch (err) {
      setError(
        err.status === 401
          ? { code: 'unauthorized', message: 'that is not the admin key' }
          : err.status === 403
            ? {
                code: 'admin_disabled',
                message: 'this service has no admin key: start it with SHELF_ADMIN_API_KEY set',
              }
            : err,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <h1>Shelf console</h1>
    <form onSubmit=${submit}>
      <label
        >Admin key
        <input
          type="password"
          name="admin-key"
          autocomplete="current-password"
          value=${key}
          onInput=${(e) => setKey(e.target.value)}
          required
          autofocus
      /></label>
      <button type="submit" disabled=${busy}>Sign in</button>
      <p class="muted">Kept for this tab's session only (SHELF_ADMIN_API_KEY).</p>
      <${ErrorNote} error=${error} />
    </form>
  </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(session.key() !== null);
  const [page, setPage] = useState(current());
  useEffect(() => {
    const onHash = () => setPage(current());
    const onLogout = () => setSignedIn(false);
    window.addEventListener('hashchange', onHash);
    window.addEventListener('shelf:logout', onLogout);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('shelf:logout', onLogout);
    };
  }, []);
  if (!signedIn) return html`<${Login} onLogin=${() => setSignedIn(true)} />`;
  const active = PAGES.find((p) => p.id === page) ?? PAGES[0];
  return html`<div class="shell">
    <nav>
      <strong class="brand">Shelf</strong>
      ${PAGES.map(
        (p) =>
          html`<a
            href="#/${p.id}"
            class=${p.id === active.id ? 'active' : ''}
            aria-current=${p.id === active.id ? 'page' : undefined}
            >${p.title}</a
          >`,
      )}
      <button class="link" onClick=${() => session.logout()}>Sign out</button>
    </nav>
    <main>
      <h1>${active.title}</h1>
      <${active.Page} />
    </main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "loading" line: Preact renders beside what it did not create
render(html`<${App} />`, root);
