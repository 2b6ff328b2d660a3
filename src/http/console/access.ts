/**
 * Who may use which console page, by the API's rules (core/access.ts): a page needs `read` on
 * its database; a form that changes something needs the permission of the API operation it
 * stands for. Without a valid session on a server that has keys, pages send the browser to the
 * sign-in page.
 *
 * Every state-changing form carries a CSRF token (csrf-csrf's signed double-submit cookie, bound
 * to the session), sent as the `X-CSRF-Token` header by htmx and as the `_csrf` field by plain
 * form posts, and is refused without it, on top of the app's refusal of other origins.
 */
import type { Request, RequestHandler, Response } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import { refusalOf, type Permission } from '../../core/access.ts';
import { InvalidArgumentError, PermissionDeniedError } from '../../core/errors.ts';
import { requireAccess } from '../access/authorize.ts';
import { sessionToken } from '../access/credentials.ts';
import { isHtmx } from './htmx.ts';
import { COMMAND_FORM_PATH, formParserFor } from './page-router.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD']);
export const SIGN_IN_PATH = '/console/sign-in';
/** Pages anyone may see: the sign-in page and the assets it needs. */
const OPEN_PATHS = /^\/(?:assets\/|console\/sign-in\/?$)/i;

/** What each state-changing console route needs; anything else that changes data needs admin. */
const WRITE_ROUTES: Array<[RegExp, Permission]> = [
  [COMMAND_FORM_PATH, 'write'],
  [/^\/console\/sign-out\/?$/i, 'read'],
  [/^\/console\/databases\/?$/i, 'admin'],
  [/^\/databases\/[^/]+\/console\/delete\/?$/i, 'admin'],
  [/^\/databases\/[^/]+\/console\/(?:state-views|state-changes)\/?$/i, 'deploy'],
  [/^\/databases\/[^/]+\/console\/(?:state-views|state-changes)\/[^/]+\/delete\/?$/i, 'deploy'],
];

declare module 'express-serve-static-core' {
  interface Locals {
    /** What every console template may use: the CSRF token, who is signed in, what they may do. */
    pageGlobals?: PageGlobals;
    /** A multipart form's CSRF token is checked once its fields are read. */
    csrfAfterBody?: boolean;
  }
}

export interface PageGlobals {
  csrfToken: string;
  /** The signed-in key's name, or undefined on a server without keys. */
  signedIn: string | undefined;
  can(permission: Permission, database?: string): boolean;
}

export interface ConsoleAccess {
  /** Runs first on every console path. */
  guard: RequestHandler;
  /** For multipart routes, after the upload is read. */
  checkCsrfAfterBody: RequestHandler;
}

export function consoleAccess(csrfSecret: string): ConsoleAccess {
  const csrf = doubleCsrf({
    getSecret: () => csrfSecret,
    getSessionIdentifier: (req) => sessionToken(req) ?? '',
    cookieName: 'factum_csrf',
    cookieOptions: { sameSite: 'strict', httpOnly: true, secure: false, path: '/' },
    getCsrfTokenFromRequest: (req) => {
      const header = req.headers['x-csrf-token'];
      if (typeof header === 'string') return header;
      const field = (req.body as Record<string, unknown> | undefined)?._csrf;
      return typeof field === 'string' ? field : undefined;
    },
  });
  const refused = () => new PermissionDeniedError('the form is missing its CSRF token or it is stale: reload the page and send it again', { field: '_csrf' });
  const tokenFor = (req: Request, res: Response) =>
    csrf.generateCsrfToken(req, res, { cookieOptions: { sameSite: 'strict', httpOnly: true, secure: req.secure, path: '/' } });

  const guard: RequestHandler = (req, res, next) => {
    // A path that does not decode is refused as the routes would refuse it, before anything else.
    assertDecodablePath(req.path);
    const principal = res.locals.principal;
    res.locals.pageGlobals = {
      csrfToken: tokenFor(req, res),
      signedIn: principal?.kind === 'key' ? principal.key.name : undefined,
      can: (permission, database) => principal !== undefined && refusalOf(principal, permission, database) === undefined,
    };
    if (OPEN_PATHS.test(req.path)) return checkCsrf(req, res, next);
    if (principal === undefined) return toSignIn(req, res);
    requireAccess(res, permissionOf(req), databaseOf(req.path));
    checkCsrf(req, res, next);
  };

  function checkCsrf(req: Request, res: Response, next: (error?: unknown) => void): void {
    if (SAFE_METHODS.has(req.method)) return next();
    if (typeof req.headers['x-csrf-token'] === 'string') return next(csrf.validateRequest(req) ? undefined : refused());
    if (req.is('multipart/form-data')) {
      res.locals.csrfAfterBody = true;
      return next();
    }
    // A plain form post: its fields are read here (the route's own parser then finds them read).
    formParserFor(req.path)(req, res, (error?: unknown) => next(error ?? (csrf.validateRequest(req) ? undefined : refused())));
  }

  return {
    guard,
    checkCsrfAfterBody: (req, res, next) => next(!res.locals.csrfAfterBody || csrf.validateRequest(req) ? undefined : refused()),
  };
}

function permissionOf(req: Request): Permission {
  if (SAFE_METHODS.has(req.method)) return 'read';
  return WRITE_ROUTES.find(([pattern]) => pattern.test(req.path))?.[1] ?? 'admin';
}

function databaseOf(path: string): string | undefined {
  const segment = /^\/databases\/([^/]+)/i.exec(path)?.[1];
  return segment === undefined ? undefined : decodeURIComponent(segment);
}

function assertDecodablePath(path: string): void {
  try {
    decodeURIComponent(path);
  } catch {
    throw new InvalidArgumentError('the path is not valid percent-encoding', { field: 'path' });
  }
}

/** Pages go to the sign-in page and come back after; htmx requests are told to go there. */
function toSignIn(req: Request, res: Response): void {
  const next = SAFE_METHODS.has(req.method) && !isHtmx(req) ? req.originalUrl : '/';
  const location = `${SIGN_IN_PATH}?next=${encodeURIComponent(next)}`;
  if (isHtmx(req)) {
    res.status(401).set('HX-Redirect', location).end();
    return;
  }
  res.redirect(303, location);
}
