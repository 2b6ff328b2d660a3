/**
 * The one check every request goes through before any router: who is calling (a key, a console
 * session, or anyone while the server has no keys), which operation of openapi.yaml the request
 * is, and whether the caller may call it on that database. A route of openapi.yaml cannot skip
 * it, because the operation is found from the document itself; and `validate` (which every API
 * route runs) refuses to serve an operation this check did not pass.
 *
 * Console pages are not in openapi.yaml: they get the caller here and check their own needs
 * with the same rules (console/access.ts).
 */
import type { IncomingMessage } from 'node:http';
import cookieParser from 'cookie-parser';
import type { Request, RequestHandler, Response } from 'express';
import { OPEN, refusalOf, type Permission, type Principal } from '../../core/access.ts';
import { PermissionDeniedError, UnauthenticatedError } from '../../core/errors.ts';
import { operations, type OperationValidators } from '../../schema/openapi.ts';
import { authenticateSecret } from '../../usecases/access/keys.ts';
import { keysRequired } from '../../usecases/access/keys-required.ts';
import { sessionPrincipal } from '../../usecases/access/sessions.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { presentedKey, sessionToken } from './credentials.ts';
import { isAllowedOrigin } from './origins.ts';
import { matchOperation } from './operation-match.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** Who is calling; undefined: nobody known, on a server that needs a key. */
    principal: Principal | undefined;
    /** The operation this request was authorized as, when it is one of openapi.yaml's. */
    authorizedOperation?: string;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function authorizeRequests(ctx: FactumContext): RequestHandler {
  return async (req, res, next) => {
    const matched = matchOperation(req.method, req.path);
    // A public operation (health, the API's description, onboarding) does not look at keys, so a
    // stale key in a health check's configuration does not turn it into a failure.
    const isPublic = matched?.op.requirement === 'public';
    res.locals.principal = isPublic ? undefined : await identify(ctx, req, Boolean(matched) && !SAFE_METHODS.has(req.method));
    if (matched) {
      const database = matched.op.database === '*' ? '*' : matched.op.database === 'parameter' ? matched.params.database : undefined;
      requireAccess(res, matched.op.requirement, database);
      res.locals.authorizedOperation = matched.op.operationId;
    }
    next();
  };
}

/**
 * The caller. A key in the headers must be valid whenever keys are required; a session cookie
 * counts for console pages and for the API's reads only: a cookie is sent by the browser on its
 * own, so it must never be enough to change data through the API.
 */
async function identify(ctx: FactumContext, req: Request, apiWrite: boolean): Promise<Principal | undefined> {
  const key = presentedKey(req);
  if (!(await keysRequired(ctx))) return OPEN;
  if (key !== undefined) return { kind: 'key', key: await authenticateSecret(ctx, key) };
  const token = sessionToken(req);
  if (token === undefined || apiWrite) return undefined;
  return sessionPrincipal(ctx, token);
}

/**
 * Throws unless the caller may exercise `requirement` (on `database`, `*` for the server as a
 * whole). Routes whose database is in the body (creating one) call it again with that name.
 */
export function requireAccess(res: Response, requirement: Permission | 'public', database?: string): void {
  assertAccess(res.locals.principal, requirement, database);
}

/** requireAccess for a caller known otherwise than by a response (a tool call of MCP). */
export function assertAccess(principal: Principal | undefined, requirement: Permission | 'public', database?: string): void {
  if (requirement === 'public') return;
  if (principal === undefined) {
    throw new UnauthenticatedError('this server needs an API key: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"');
  }
  const refusal = refusalOf(principal, requirement, database);
  if (!refusal) return;
  const keyId = principal.kind === 'key' ? principal.key.id : undefined;
  if (refusal.reason === 'permission') {
    throw new PermissionDeniedError(`the API key has no ${refusal.permission} permission`, { key_id: keyId, permission: refusal.permission });
  }
  throw new PermissionDeniedError(
    refusal.database === '*' ? 'this needs a key for every database' : `the API key does not reach the database "${refusal.database}"`,
    { key_id: keyId, database: refusal.database },
  );
}

/** Refuses to serve an operation the access check did not authorize (a route whose path and openapi.yaml's disagree). */
export function assertAuthorized(res: Response, op: OperationValidators): void {
  if (res.locals.authorizedOperation !== op.operationId) {
    throw new Error(`operation ${op.operationId} was routed to ${res.req.method} ${res.req.path}, which openapi.yaml does not give it: it was not authorized`);
  }
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal;
}

const readCookies = cookieParser();

/**
 * The same check for a WebSocket upgrade, which no router sees: the caller, by key or session;
 * and, since browsers let any page open a WebSocket anywhere, the page's origin, which must be
 * this server's own or an allowed one (else another site could read a signed-in user's events).
 */
export async function authorizeUpgrade(
  ctx: FactumContext,
  req: IncomingMessage,
  operationId: string,
  database: string,
  allowedOrigins: ReadonlySet<string>,
): Promise<Principal | undefined> {
  const op = operations.get(operationId)!;
  const origin = req.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, `http://${req.headers.host ?? ''}`, allowedOrigins)) {
    throw new PermissionDeniedError(`a WebSocket is not accepted from the origin ${origin.slice(0, 200)}: allow it with --cors-origin`, { origin: origin.slice(0, 200) });
  }
  const request = req as Request;
  await new Promise<void>((resolve, reject) => readCookies(request, {} as Response, (error?: unknown) => (error ? reject(error) : resolve())));
  const principal = await identify(ctx, request, false);
  assertAccess(principal, op.requirement, database);
  return principal;
}
