/**
 * Self-service onboarding: one call gives an identity (its email) a database of its own and a
 * key for it, with an events quota. Each identity is onboarded once: a server record per
 * identity, created only if absent, makes a second call (on any server) a conflict instead of a
 * second database.
 */
import { randomBytes } from 'node:crypto';
import type { ApiKey } from '../../core/access.ts';
import { AlreadyExistsError } from '../../core/errors.ts';
import type { DatabaseRecord } from '../../storage/types.ts';
import type { FactumContext } from '../context.ts';
import { createKey, hashOf } from './keys.ts';
import { setQuota, type DatabaseUsage } from './quotas.ts';

export interface Onboarded {
  database: DatabaseRecord;
  key: ApiKey;
  secret: string;
  quota: DatabaseUsage;
}

export async function onboard(ctx: FactumContext, request: { name: string; email: string }, eventsQuota: number): Promise<Onboarded> {
  const identity = request.email.trim().toLowerCase();
  const record = `onboarding/${hashOf(identity)}`;
  const claimed = await ctx.store.putRecord(record, new TextEncoder().encode(JSON.stringify({ at: ctx.now().toISOString() })), { ifAbsent: true });
  if (!claimed) throw new AlreadyExistsError('this email is already onboarded: use the key it was given', { field: 'email' });
  try {
    const database = await createOwnDatabase(ctx, request.name);
    const quota = await setQuota(ctx, database.name, eventsQuota);
    const { key, secret } = await createKey(ctx, { name: `onboarded: ${request.name}`.slice(0, 100), databases: [database.name], permissions: ['read', 'write', 'deploy'] });
    await ctx.store.putRecord(record, new TextEncoder().encode(JSON.stringify({ at: ctx.now().toISOString(), database: database.name, key_id: key.id })));
    return { database, key, secret, quota };
  } catch (error) {
    // Nothing half-done stays claimed: the identity may try again.
    await ctx.store.deleteRecord(record).catch(() => undefined);
    throw error;
  }
}

/** A database named after the identity's name, with a random suffix so names never collide. */
async function createOwnDatabase(ctx: FactumContext, name: string): Promise<DatabaseRecord> {
  const stem = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '') || 'db';
  for (;;) {
    const candidate = `${stem}-${randomBytes(4).toString('hex')}`;
    try {
      return await ctx.store.createDatabase(candidate, ctx.now().toISOString());
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
}
