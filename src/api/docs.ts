import type { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../../core/paths.ts';
import { ADMIN_SECURITY } from './openapi.ts';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export const TAGS = [
  { name: 'search', description: 'Hybrid product search.' },
  { name: 'feed', description: 'Recommendations: the personalised feed and similar items.' },
  { name: 'events', description: 'The behaviour stream the feed and ranking learn from.' },
  { name: 'coupons', description: 'Claiming and redeeming coupons.' },
  { name: 'admin', description: 'Coupon definitions (Bearer SHELF_ADMIN_API_KEY).' },
  { name: 'operations', description: 'Health, readiness and metrics.' },
];

/** Where Scalar's browser bundle is served from; the page loads nothing else from elsewhere. */
export const SCALAR_SCRIPT = '/docs/scalar.js';
/** Scalar's own default, used when the bundle is not installed locally. */
const SCALAR_CDN = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference';

/**
 * The standalone bundle of `@scalar/api-reference` when it is installed (an optional package:
 * `@scalar/hono-api-reference` only renders the HTML page and loads the bundle from a CDN).
 */
function localScalarBundle(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@scalar/api-reference/package.json');
    return readFileSync(path.join(path.dirname(pkg), 'dist/browser/standalone.js'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of every route the app declares.
 * `GET /docs`: the document rendered by Scalar, its script from {@link SCALAR_SCRIPT}.
 */
export function serveDocs(app: OpenAPIHono) {
  app.openAPIRegistry.registerComponent('securitySchemes', ADMIN_SECURITY, {
    type: 'http',
    scheme: 'bearer',
    description: 'SHELF_ADMIN_API_KEY; unset, the admin endpoints answer 403 admin_disabled.',
  });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'Shelf',
      version: VERSION,
      description: 'Open-source e-commerce semantic search and recommendation service.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: new URL(c.req.url).origin, description: 'This server' }],
    tags: TAGS,
  }));

  let bundle: string | undefined | null = null;
  app.get(SCALAR_SCRIPT, (c) => {
    if (bundle === null) bundle = localScalarBundle();
    if (bundle === undefined) return c.redirect(SCALAR_CDN, 302);
    return c.body(bundle, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
    });
  });
  app.get('/docs', Scalar({ url: '/openapi.json', cdn: SCALAR_SCRIPT, pageTitle: 'Shelf API' }));
}
