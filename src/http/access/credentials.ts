/**
 * How a request says who it is: an API key in `Authorization: Bearer …` or `X-API-Key`, or a
 * console session cookie. Keys never travel in URLs, so they never land in logs or histories.
 */
import type { Request, Response } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';

export const SESSION_COOKIE = 'factum_session';

/** The key a request presents in its headers, if any. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.authorization;
  const header = req.headers['x-api-key'];
  const apiKey = Array.isArray(header) ? header[0] : header;
  let bearer: string | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      throw new InvalidArgumentError('Authorization must be "Bearer <API key>"', { field: 'authorization' });
    }
    bearer = match[1];
  }
  if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey.trim()) {
    throw new InvalidArgumentError('Authorization and X-API-Key name different keys: send one', { field: 'x-api-key' });
  }
  return bearer ?? apiKey?.trim();
}

export function sessionToken(req: Request): string | undefined {
  const cookies = (req as Request & { cookies?: Record<string, unknown> }).cookies;
  const token = cookies?.[SESSION_COOKIE];
  return typeof token === 'string' ? token : undefined;
}

export function setSessionCookie(req: Request, res: Response, token: string, expiresAt: Date): void {
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', expires: expiresAt });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
}
