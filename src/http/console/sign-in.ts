/**
 * Signing in to the console with an API key, and out. The key is sent once, in the form's body;
 * what the browser keeps is a session token in an HttpOnly, SameSite=Strict cookie.
 */
import { Router, type Request } from 'express';
import { UnauthenticatedError } from '../../core/errors.ts';
import { endSession, startSession } from '../../usecases/access/sessions.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { clearSessionCookie, sessionToken, setSessionCookie } from '../access/credentials.ts';
import { SIGN_IN_PATH } from './access.ts';
import { smallForm } from './page-router.ts';
import type { SendPage } from './views.ts';

/** Where to go after signing in: a path of this server only, never another site. */
function nextPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) && value.length <= 2000 ? value : '/';
}

export function signInPages(ctx: FactumContext, page: SendPage): Router {
  const router = Router();
  router.get(SIGN_IN_PATH, (req, res) => {
    page(res, 'sign-in.njk', { title: 'Sign in', next: nextPath(req.query.next) });
  });
  router.post(SIGN_IN_PATH, smallForm, async (req: Request, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = nextPath(body.next);
    try {
      const { token, expiresAt } = await startSession(ctx, String(body.key ?? '').trim());
      setSessionCookie(req, res, token, expiresAt);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      return page(res, 'sign-in.njk', { title: 'Sign in', next, error: error.message }, 401);
    }
    // The CSRF token is bound to the session; the next page finds the old one stale and makes anew.
    res.redirect(303, next);
  });
  router.post('/console/sign-out', smallForm, async (req, res) => {
    const token = sessionToken(req);
    if (token !== undefined) await endSession(ctx, token);
    clearSessionCookie(req, res);
    res.redirect(303, SIGN_IN_PATH);
  });
  return router;
}
