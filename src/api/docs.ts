import type { OpenAPIHono } from '@hono/zod-openapi';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../../core/paths.ts';
import { ADMIN_SECURITY, ErrorSchema } from './openapi.ts';
import { SHOPPER_TOKEN_HEADER } from '../trust/shopper-token.ts';
import { z } from '@hono/zod-openapi';

const SHOPPER_SECURITY = 'shopperToken';
const SERVER_SECURITY = 'serverKey';
/** The operations that act for a shopper: the token (or the server key, or nothing while tokens are off). */
const SHOPPER_TAGS = new Set(['search', 'feed', 'events', 'coupons']);

type Operation = { tags?: string[]; responses?: Record<string, unknown>; security?: unknown[] };

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
};
const errorJson = { 'application/json': { schema: z.toJSONSchema(ErrorSchema, { io: 'output' }) } };

/**
 * Node's HTTP server answers 431 (no body) before the app sees a request whose request line and
 * headers together pass its limit (16 KiB by default), e.g. a GET with a very long query string.
 */
export const HEADERS_TOO_LARGE = {
  description:
    "Request line and headers over the HTTP server's limit (Node's max header size, 16 KiB by default); no body.",
};

/**
 * Every operation can be refused by the HTTP server before the app runs (431). Every /v1
 * operation can also be refused by src/api/limits.ts: 429 over a rate limit, 503 when the service
 * sheds load; one with a path parameter can miss every route (404); shopper-facing ones name their
 * security schemes.
 */
function withLimits<D extends { paths?: Record<string, Record<string, unknown>> }>(doc: D): D {
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(item) as Operation[]) {
      if (typeof op !== 'object' || op === null || !op.responses) continue;
      op.responses['431'] ??= HEADERS_TOO_LARGE;
      if (!p.startsWith('/v1/')) continue;
      // An id path parameter that is empty, "." or ".." (which clients drop from a path) leaves a
      // URL that names no route: 404 not_found, whatever the operation documents of its own.
      if (p.includes('{'))
        op.responses['404'] ??= {
          description:
            'not_found: the URL names no route (an empty id, or "." / "..", which clients drop from a path).',
          content: errorJson,
        };
      op.responses['429'] ??= {
        description: 'rate_limited: over the per-client or per-shopper rate limit; retry after Retry-After.',
        headers: retryAfter,
        content: errorJson,
      };
      const shed = 'overloaded: the service is at capacity (load shedding); retry after Retry-After.';
      const existing = op.responses['503'] as { description?: string; headers?: unknown } | undefined;
      if (existing) {
        existing.description = `${existing.description} Or ${shed}`;
        existing.headers ??= retryAfter;
      } else op.responses['503'] = { description: shed, headers: retryAfter, content: errorJson };
      if (op.tags?.some((t) => SHOPPER_TAGS.has(t)) && op.security === undefined)
        op.security = [{}, { [SHOPPER_SECURITY]: [] }, { [SERVER_SECURITY]: [] }];
    }
  }
  return doc;
}

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export const TAGS = [
  { name: 'search', description: 'Hybrid product search.' },
  { name: 'feed', description: 'Recommendations: the personalised feed and similar items.' },
  { name: 'events', description: 'The behaviour stream the feed and ranking learn from.' },
  { name: 'coupons', description: 'Claiming and redeeming coupons.' },
  { name: 'admin', description: 'Coupon definitions (Bearer SHELF_ADMIN_API_KEY).' },
  { name: 'console', description: "What the merchandisers' console at /console reads (Bearer SHELF_ADMIN_API_KEY)." },
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
  app.openAPIRegistry.registerComponent('securitySchemes', SHOPPER_SECURITY, {
    type: 'apiKey',
    in: 'header',
    name: SHOPPER_TOKEN_HEADER,
    description:
      "A shopper token the shop's back end signed (HS256 JWT: sub = user_id, sid = session_id, exp); " +
      'required to act for a shopper once SHELF_SHOPPER_TOKEN_SECRET is set.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', SERVER_SECURITY, {
    type: 'http',
    scheme: 'bearer',
    description: "SHELF_SERVER_API_KEY: the shop's back end; may act for any shopper and record money events.",
  });
  type DocConfig = Parameters<typeof app.getOpenAPI31Document>[0];
  app.get('/openapi.json', (c) =>
    c.json(
      withLimits(
        app.getOpenAPI31Document({
          openapi: '3.1.0',
          info: {
            title: 'Shelf',
            version: VERSION,
            description: 'Open-source e-commerce semantic search and recommendation service.',
            license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
          },
          servers: [{ url: new URL(c.req.url).origin, description: 'This server' }],
          tags: TAGS,
          // The license's SPDX `identifier` is OpenAPI 3.1; the library's type is 3.0's.
        } as DocConfig) as unknown as { paths?: Record<string, Record<string, unknown>> },
      ),
    ),
  );

  const assets = new Map<string, string>();
  app.get('/docs/:file{swagger-ui\\.css|swagger-ui-bundle\\.js}', (c) => {
    const file = c.req.param('file');
    let body = assets.get(file);
    if (body === undefined) assets.set(file, (body = readFileSync(path.join(SWAGGER_DIR, file), 'utf8')));
    return c.body(body, 200, { 'Content-Type': DOCS_ASSETS[file]!, 'Cache-Control': 'public, max-age=3600' });
  });
  app.get('/docs', (c) => c.html(DOCS_PAGE));
}
