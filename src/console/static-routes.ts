import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/**
 * `/console`: the merchandisers' console, a handful of static ES modules (./static/) on Preact +
 * htm, whose own files are served from node_modules by this route: no build step, no CDN, nothing
 * fetched at run time from anywhere but this server. The page holds no data and no secret: it asks
 * for the admin key, keeps it in sessionStorage for the tab's session, and sends it in the
 * Authorization header of the admin API calls it makes (never in a URL).
 */

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');
const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/**
 * The front-end libraries' ES module builds. The pages import them by their package names, which
 * the page's import map points here (and which Node and the layer check resolve the same way).
 */
const VENDOR: Record<string, () => string> = {
  'preact.mjs': () => readFileSync(path.join(packageDir('preact'), 'dist/preact.mjs'), 'utf8'),
  'hooks.mjs': () => readFileSync(path.join(packageDir('preact'), 'hooks/dist/hooks.mjs'), 'utf8'),
  // htm exports no package.json: its main entry's folder holds the ES module build.
  'htm.mjs': () => readFileSync(path.join(path.dirname(require.resolve('htm')), 'htm.mjs'), 'utf8'),
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

const PAGE = readFileSync(path.join(STATIC_DIR, 'index.html'), 'utf8');
/** The page's one inline script is its import map, allowed by its hash (and nothing else inline). */
const IMPORT_MAP = /<script type="importmap">([\s\S]*?)<\/script>/.exec(PAGE)![1]!;
const IMPORT_MAP_HASH = `'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`;

/**
 * Scripts only from this server; the reports the console frames are self-contained HTML with
 * inline styles and SVG, shown in a sandbox without scripts. The console is never framed itself.
 */
const CSP = [
  "default-src 'self'",
  `script-src 'self' ${IMPORT_MAP_HASH}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Only these names under /console/assets/: the folder's files, nothing above it. */
const ASSET = /^(?:pages\/)?[a-z][a-z0-9-]*\.(?:js|css)$/;

export function consoleStaticRoutes() {
  const app = new Hono();
  const cache = new Map<string, string>();
  const cached = (key: string, read: () => string) => {
    let body = cache.get(key);
    if (body === undefined) cache.set(key, (body = read()));
    return body;
  };
  app.get('/', (c) => c.html(PAGE, 200, SECURITY_HEADERS));
  app.get('/vendor/:file', (c) => {
    const file = c.req.param('file');
    const read = VENDOR[file];
    if (!read) return c.notFound();
    return c.body(cached(`vendor/${file}`, read), 200, {
      'Content-Type': TYPES['.mjs']!,
      'Cache-Control': 'public, max-age=3600',
      ...SECURITY_HEADERS,
    });
  });
  app.get('/assets/*', (c) => {
    const rel = c.req.path.slice(c.req.path.indexOf('/assets/') + '/assets/'.length);
    if (!ASSET.test(rel)) return c.notFound();
    let body: string;
    try {
      body = cached(`assets/${rel}`, () => readFileSync(path.join(STATIC_DIR, rel), 'utf8'));
    } catch {
      return c.notFound();
    }
    // no-cache: revalidated on each load, so a new version of the service shows its new pages.
    return c.body(body, 200, {
      'Content-Type': TYPES[path.extname(rel)]!,
      'Cache-Control': 'no-cache',
      ...SECURITY_HEADERS,
    });
  });
  return app;
}
