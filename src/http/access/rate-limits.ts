/**
 * Requests per window, counted per API key (per client address on a server without keys), with
 * express-rate-limit's in-memory store: each server counts what it serves, so N servers behind a
 * balancer admit up to N times the limit (README: Security).
 */
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { ResourceExhaustedError } from '../../core/errors.ts';

export interface RateLimitSettings {
  /** Requests per window; 0: no limit. */
  requests: number;
  windowMs: number;
}

/** Counts each caller's requests; past the limit, 429 RESOURCE_EXHAUSTED with Retry-After. */
export function rateLimitPerCaller(settings: RateLimitSettings, what = 'requests'): RequestHandler {
  if (settings.requests === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: settings.windowMs,
    limit: settings.requests,
    legacyHeaders: true,
    standardHeaders: false,
    keyGenerator: (req, res) => {
      const principal = res.locals.principal;
      return principal?.kind === 'key' ? `key:${principal.key.id}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (req, _res, next) => {
      const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + settings.windowMs) - Date.now()) / 1000));
      next(
        new ResourceExhaustedError(`too many ${what}: at most ${settings.requests} in ${settings.windowMs / 1000} s; try again in ${retryAfter} s`, {
          limit: settings.requests,
          window_ms: settings.windowMs,
          retry_after_seconds: retryAfter,
        }),
      );
    },
  });
}
