import { z } from '@hono/zod-openapi';
import { adminSecurity, errorResponses, type ErrorStatus } from '../api/openapi.ts';

/** What the console's admin read endpoints share: their error responses and the rendered-report body. */

export const consoleErrors = <S extends ErrorStatus>(statuses: readonly S[], descriptions = {}) =>
  errorResponses([401, 403, ...statuses], {
    403: 'admin_disabled: no admin key (coupons.admin_api_key) is configured.',
    ...descriptions,
  });

export const consoleRoute = { tags: ['console'], security: adminSecurity };

export const RenderedReportSchema = z
  .object({
    report: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The report JSON, as `npm run report` writes it.' }),
    html: z.string().openapi({ description: 'The same report as a self-contained HTML page (no scripts).' }),
  })
  .strict()
  .openapi('RenderedReport');
