/**
 * Console sessions: signing in with a key gives the browser a random session token (kept in an
 * HttpOnly cookie); the server keeps only the token's hash and the hash of the key it stands
 * for. Every request through a session looks the key up again, so revoking a key ends its
 * sessions at once.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../core/access.ts';
import { UnauthenticatedError } from '../../core/errors.ts';
import type { FactumContext } from '../context.ts';
import { authenticateHash, authenticateSecret, hashOf } from './keys.ts';

const SESSIONS = 'sessions/';
export const SESSION_HOURS = 12;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

interface StoredSession {
  /** The API key's secret is not kept; the session proves itself with its own token. */
  key_id: string;
  key_secret_hash: string;
  expires_at: string;
}

const recordOf = (token: string) => `${SESSIONS}${hashOf(token)}`;

export interface StartedSession {
  token: string;
  expiresAt: Date;
}

/** Signs in with a key's secret; UnauthenticatedError when the key is not valid. */
export async function startSession(ctx: FactumContext, secret: string): Promise<StartedSession> {
  const key = await authenticateSecret(ctx, secret);
  const token = randomBytes(32).toString('base64url');
  const hours = SESSION_HOURS * 3600_000;
  const keyExpiry = key.expires_at === null ? Infinity : Date.parse(key.expires_at);
  const expiresAt = new Date(Math.min(ctx.now().getTime() + hours, keyExpiry));
  const session: StoredSession = { key_id: key.id, key_secret_hash: hashOf(secret), expires_at: expiresAt.toISOString() };
  await ctx.store.putRecord(recordOf(token), new TextEncoder().encode(JSON.stringify(session)));
  return { token, expiresAt };
}

/** The principal of a session token, or undefined when the session (or its key) is over. */
export async function sessionPrincipal(ctx: FactumContext, token: string): Promise<Principal | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const bytes = await ctx.store.getRecord(recordOf(token));
  if (!bytes) return undefined;
  const session = JSON.parse(new TextDecoder().decode(bytes)) as StoredSession;
  if (Date.parse(session.expires_at) <= ctx.now().getTime()) return undefined;
  try {
    return { kind: 'key', key: await authenticateHash(ctx, session.key_secret_hash) };
  } catch (error) {
    if (error instanceof UnauthenticatedError) return undefined;
    throw error;
  }
}

export async function endSession(ctx: FactumContext, token: string): Promise<void> {
  if (TOKEN.test(token)) await ctx.store.deleteRecord(recordOf(token));
}
