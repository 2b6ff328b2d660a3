/**
 * Other origins: a browser page from another origin may read the API only if the operator
 * allows its origin (CORS), and may never change anything unless allowed, even where CORS
 * would not stop the request being sent (plain form posts, `no-cors` fetches).
 */
import type { RequestHandler } from 'express';
import cors from 'cors';
import { PermissionDeniedError } from '../../core/errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Every header a browser app reading Factum's answers may need to see. */
export const EXPOSED_HEADERS = [
  'Location',
  'ETag',
  'Retry-After',
  'WWW-Authenticate',
  'Factum-Revision',
  'Factum-Evolved-Events',
  'Factum-Attempts',
  'Factum-State-View-Version',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Mcp-Session-Id',
];

/** CORS for the allowed origins only; with none allowed, no CORS headers at all. */
export function corsForAllowedOrigins(allowed: ReadonlySet<string>): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    // Unset, the request's own Access-Control-Request-Headers are allowed: Authorization,
    // X-API-Key, If-None-Match, Last-Event-ID and the CloudEvents `ce-*` headers among them,
    // whose extension names no fixed list could hold. Only allowed origins get this far.
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}

/**
 * Refuses a state-changing request that a browser sent from another origin the operator has not
 * allowed. Browsers name the origin of every POST, PUT and DELETE; `Sec-Fetch-Site` covers the
 * rare one that does not. Requests from programs name no origin and pass.
 */
export function refuseOtherOrigins(allowed: ReadonlySet<string>): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin !== undefined ? isAllowedOrigin(origin, `${req.protocol}://${req.headers.host ?? ''}`, allowed) : req.headers['sec-fetch-site'] !== 'cross-site') {
      return next();
    }
    next(
      new PermissionDeniedError(
        `a request that changes data is not accepted from ${origin === undefined ? 'another site' : `the origin ${origin.slice(0, 200)}`}: allow the origin with --cors-origin`,
        { origin: origin?.slice(0, 200) ?? null },
      ),
    );
  };
}

/** The server's own origin (as the request reached it), or one the operator allows. */
export function isAllowedOrigin(origin: string, own: string, allowed: ReadonlySet<string>): boolean {
  return origin.toLowerCase() === own.toLowerCase() || allowed.has(origin);
}
