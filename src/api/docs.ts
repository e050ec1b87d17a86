import type { OpenAPIHono } from '@hono/zod-openapi';
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

/** Swagger UI's files, served by this app from the `swagger-ui-dist` package: /docs needs no CDN. */
const DOCS_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};
const SWAGGER_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The page: Swagger UI over /openapi.json, every asset from /docs/ on this server. */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shelf API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, tryItOutEnabled: true });
</script>
</body>
</html>
`;

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of every route the app declares.
 * `GET /docs`: the document rendered by Swagger UI, its script and styles served from `/docs/`.
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

  const assets = new Map<string, string>();
  app.get('/docs/:file{swagger-ui\\.css|swagger-ui-bundle\\.js}', (c) => {
    const file = c.req.param('file');
    let body = assets.get(file);
    if (body === undefined) assets.set(file, (body = readFileSync(path.join(SWAGGER_DIR, file), 'utf8')));
    return c.body(body, 200, { 'Content-Type': DOCS_ASSETS[file]!, 'Cache-Control': 'public, max-age=3600' });
  });
  app.get('/docs', (c) => c.html(DOCS_PAGE));
}
