/** The console's static files: htmx and its SSE extension from their installed packages, and the stylesheet. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';

const STYLESHEET_PATH = fileURLToPath(new URL('../../../views/assets/factum.css', import.meta.url));
const HTMX_PATH = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
/** htmx's SSE extension, for the console's live mode: served from its package as htmx is. */
const HTMX_SSE_PATH = createRequire(import.meta.url).resolve('htmx-ext-sse/dist/sse.min.js');

export function assetsRouter(): Router {
  const router = Router();
  router.get('/assets/htmx.min.js', (_req, res, next) => {
    // The file is pinned by the installed package version, so it may be cached for a day.
    res.set('X-Content-Type-Options', 'nosniff');
    res.sendFile(HTMX_PATH, { maxAge: '1d', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (error) => error && next(error));
  });
  router.get('/assets/htmx-ext-sse.min.js', (_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.sendFile(HTMX_SSE_PATH, { maxAge: '1d', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (error) => error && next(error));
  });
  router.get('/assets/factum.css', (_req, res, next) => {
    // Revalidated on every use (cheap, by ETag), so a changed stylesheet shows at once.
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    res.sendFile(STYLESHEET_PATH, { cacheControl: false, headers: { 'Content-Type': 'text/css; charset=utf-8' } }, (error) => error && next(error));
  });
  return router;
}
