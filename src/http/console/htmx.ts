/** What an htmx request says about itself, in its headers. */
import type { Request } from 'express';

/** htmx asks for fragments; a history restore after a cache miss wants the whole page. */
export function isHtmx(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-History-Restore-Request') !== 'true';
}

/** Whether an htmx request came from a database page, which shows the numbers a change moves. */
export function fromDatabasePage(req: Request): boolean {
  const current = req.get('HX-Current-URL');
  if (!isHtmx(req) || !current) return false;
  try {
    return /^\/databases\/[^/]+\/console$/.test(new URL(current).pathname);
  } catch {
    return false;
  }
}
