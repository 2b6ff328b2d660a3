/**
 * API keys: created with a secret shown once, kept as a SHA-256 hash in the server records (so
 * every server on the same storage shares them), looked up by that hash on every request, and
 * revoked by deleting the record, which every server sees on its next lookup.
 *
 * A secret is `factum_` and 43 characters of base64url: 256 random bits, so a plain hash is
 * enough to keep it (there is nothing to guess), and the prefix lets secret scanners and people
 * recognise one. A key's id is the first 16 hex digits of its hash: stable, public, and never
 * enough to find the secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ALL_DATABASES, isExpired, type ApiKey, type Permission } from '../../core/access.ts';
import { InvalidArgumentError, NotFoundError, UnauthenticatedError } from '../../core/errors.ts';
import type { FactumContext } from '../context.ts';
import { markKeysRequired } from './keys-required.ts';

export const SECRET_PREFIX = 'factum_';
const KEYS = 'keys/';
/** Longer than any secret this server makes or accepts: not worth hashing. */
const MAX_SECRET_LENGTH = 512;
/** A key the operator supplies must still be hard to guess. */
export const MIN_SUPPLIED_SECRET_LENGTH = 24;
const KEY_ID = /^[0-9a-f]{16}$/;

interface StoredKey extends ApiKey {
  /** SHA-256 of the secret, hex. */
  hash: string;
}

export interface NewKey {
  name: string;
  databases: string[];
  permissions: Permission[];
  expires_at?: string | null;
}

/** A key just made: the only answer that carries its secret. */
export interface CreatedKey {
  key: ApiKey;
  secret: string;
}

export const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
const recordKey = (hash: string) => `${KEYS}${hash}`;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

export async function createKey(ctx: FactumContext, request: NewKey, suppliedSecret?: string): Promise<CreatedKey> {
  const expiresAt = request.expires_at ?? null;
  if (expiresAt !== null && Date.parse(expiresAt) <= ctx.now().getTime()) {
    throw new InvalidArgumentError('expires_at must be in the future', { field: 'expires_at', value: expiresAt });
  }
  const secret = suppliedSecret ?? `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
  const hash = hashOf(secret);
  const key: ApiKey = {
    id: hash.slice(0, 16),
    name: request.name,
    databases: [...new Set(request.databases)],
    permissions: [...new Set(request.permissions)],
    created_at: ctx.now().toISOString(),
    expires_at: expiresAt,
  };
  // Required first: no key may exist while the server still answers without one.
  await markKeysRequired(ctx);
  await ctx.store.putRecord(recordKey(hash), encode({ ...key, hash } satisfies StoredKey));
  return { key, secret };
}

/**
 * The admin key the operator supplies at start (FACTUM_ADMIN_KEY or --admin-key-file): created
 * if it is not there yet, left as it is if it is (a restart changes nothing).
 */
export async function bootstrapAdminKey(ctx: FactumContext, secret: string): Promise<ApiKey> {
  if (secret.length < MIN_SUPPLIED_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH || /\s/.test(secret)) {
    throw new InvalidArgumentError(`the admin key must be ${MIN_SUPPLIED_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters without spaces`);
  }
  const existing = await storedKey(ctx, hashOf(secret));
  if (existing) {
    await markKeysRequired(ctx);
    return publicKey(existing);
  }
  return (await createKey(ctx, { name: 'admin', databases: [ALL_DATABASES], permissions: ['admin'] }, secret)).key;
}

/** The key a secret belongs to; UnauthenticatedError when it is unknown, revoked or expired. */
export async function authenticateSecret(ctx: FactumContext, secret: string): Promise<ApiKey> {
  if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) throw new UnauthenticatedError('the API key is not valid');
  return authenticateHash(ctx, hashOf(secret));
}

/** As authenticateSecret, for a caller that keeps the hash of a secret (a console session). */
export async function authenticateHash(ctx: FactumContext, hash: string): Promise<ApiKey> {
  const stored = await storedKey(ctx, hash);
  // The lookup found the record by its hash; comparing in constant time keeps that the only
  // thing a timing could tell.
  if (!stored || !timingSafeEqual(Buffer.from(stored.hash, 'hex'), Buffer.from(hash, 'hex'))) {
    throw new UnauthenticatedError('the API key is not valid: unknown or revoked');
  }
  if (isExpired(stored, ctx.now())) throw new UnauthenticatedError('the API key has expired', { key_id: stored.id, expired_at: stored.expires_at });
  return publicKey(stored);
}

export async function listKeys(ctx: FactumContext): Promise<ApiKey[]> {
  const records = await ctx.store.listRecords(KEYS);
  const keys = await Promise.all(records.map((record) => readKey(ctx, record)));
  return keys.filter((key): key is StoredKey => key !== undefined).map(publicKey).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

export async function getKey(ctx: FactumContext, id: string): Promise<ApiKey> {
  return publicKey((await findById(ctx, id)).stored);
}

export async function revokeKey(ctx: FactumContext, id: string): Promise<void> {
  const { record } = await findById(ctx, id);
  await ctx.store.deleteRecord(record);
}

async function findById(ctx: FactumContext, id: string): Promise<{ record: string; stored: StoredKey }> {
  if (KEY_ID.test(id)) {
    for (const record of await ctx.store.listRecords(`${KEYS}${id}`)) {
      const stored = await readKey(ctx, record);
      if (stored) return { record, stored };
    }
  }
  throw new NotFoundError(`API key "${id}" does not exist`, { key_id: id });
}

function storedKey(ctx: FactumContext, hash: string): Promise<StoredKey | undefined> {
  return readKey(ctx, recordKey(hash));
}

async function readKey(ctx: FactumContext, record: string): Promise<StoredKey | undefined> {
  const bytes = await ctx.store.getRecord(record);
  return bytes && (JSON.parse(new TextDecoder().decode(bytes)) as StoredKey);
}

function publicKey({ hash: _hash, ...key }: StoredKey): ApiKey {
  return key;
}
