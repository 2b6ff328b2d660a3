/** The console's templates: the nunjucks environment, and answering with a rendered page. */
import { STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import nunjucks from 'nunjucks';
import { componentSchema } from '../../schema/openapi.ts';

const VIEWS_DIR = fileURLToPath(new URL('../../../views', import.meta.url));

/**
 * Pages run only the app's own script and styles: even if some value slipped past escaping, an
 * injected handler or script could not run.
 */
export const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

/** Answers with a template rendered (a whole page or a fragment), with the page headers. */
export type SendPage = (res: Response, template: string, context: object, status?: number) => void;

export function pageSender(version: string): SendPage {
  const env = createEnvironment(version);
  return (res, template, context, status = 200) => {
    // Every page and fragment may use the CSRF token and ask what the caller may do.
    const globals = res.locals.pageGlobals ?? { csrfToken: '', signedIn: undefined, can: () => false };
    res.status(status).set(PAGE_HEADERS).type('html').send(env.render(template, { ...globals, ...context }));
  };
}

/** Renders a fragment as text, for what is not a response of its own (the messages of a live stream). */
export type RenderFragment = (res: Response, template: string, context: object) => string;

export function fragmentRenderer(version: string): RenderFragment {
  const env = createEnvironment(version);
  return (res, template, context) => env.render(template, { ...(res.locals.pageGlobals ?? { csrfToken: '', signedIn: undefined, can: () => false }), ...context });
}

function createEnvironment(version: string): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), {
    autoescape: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addGlobal('version', version);
  // The same rule as the server's, in the syntax of the HTML `pattern` attribute (its `v` flag
  // wants a literal hyphen escaped inside a class).
  env.addGlobal('databaseNamePattern', String(componentSchema('DatabaseName').pattern).slice(1, -1).replace('[a-z0-9-]', '[a-z0-9\\-]'));
  // The query form offers the page sizes the API takes.
  env.addGlobal('queryLimitMax', (componentSchema('QueryRequest').properties as { limit: { maximum: number } }).limit.maximum);
  env.addFilter('count', (n: number) => n.toLocaleString('en-US'));
  env.addFilter('statusText', (status: number) => STATUS_CODES[status] ?? '');
  env.addFilter('bytes', formatBytes);
  // `2024-01-15T10:30:00.000Z` reads better as `2024-01-15 10:30:00.000Z`; other text stays.
  env.addFilter('datetime', (value: string) => (/^\d{4}-\d{2}-\d{2}T/.test(value) ? value.replace('T', ' ') : value));
  return env;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
