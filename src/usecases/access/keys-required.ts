/**
 * Whether the server answers without a key. It does until the first key is made; from then on
 * every request needs one, for good: revoking every key does not open the server again (the
 * operator starts it with an admin key to get back in).
 *
 * The answer is remembered per store. Once keys are required that never changes; until then a
 * server looks again at most once a second, so a key made on another server sharing the storage
 * closes this one within a second.
 */
import { randomBytes } from 'node:crypto';
import type { EventStore } from '../../storage/types.ts';
import type { FactumContext } from '../context.ts';

const RECORD = 'access/keys-required';
const RECHECK_MS = 1000;

const known = new WeakMap<EventStore, { required: boolean; checkedAt: number }>();

export async function keysRequired(ctx: FactumContext): Promise<boolean> {
  const cached = known.get(ctx.store);
  const now = Date.now();
  if (cached && (cached.required || now - cached.checkedAt < RECHECK_MS)) return cached.required;
  const required = (await ctx.store.getRecord(RECORD)) !== undefined;
  known.set(ctx.store, { required, checkedAt: now });
  return required;
}

export async function markKeysRequired(ctx: FactumContext): Promise<void> {
  await ctx.store.putRecord(RECORD, new TextEncoder().encode(ctx.now().toISOString()), { ifAbsent: true });
  known.set(ctx.store, { required: true, checkedAt: Date.now() });
}

/**
 * A random secret every server on the same storage shares (the first to start makes it), for
 * signing what one server hands out and another may check, such as the console's CSRF tokens.
 */
export async function sharedSecret(ctx: FactumContext, record: string): Promise<string> {
  await ctx.store.putRecord(record, new TextEncoder().encode(randomBytes(32).toString('hex')), { ifAbsent: true });
  const bytes = await ctx.store.getRecord(record);
  if (!bytes) throw new Error(`the shared secret ${record} could not be read back`);
  return new TextDecoder().decode(bytes);
}
