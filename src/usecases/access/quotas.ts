/**
 * Events quotas: a database may hold at most so many events. The quota is a blob of the
 * database (deleted with it); the append that would pass it is refused by the store inside its
 * own transaction (`maxRevision`), so concurrent appends can never pass it together.
 *
 * Appends read the quota through a short-lived cache: a quota set on another server sharing the
 * storage applies within a second.
 */
import { InvalidArgumentError } from '../../core/errors.ts';
import { readableDatabases, type Principal } from '../../core/access.ts';
import type { EventStore } from '../../storage/types.ts';
import type { FactumContext } from '../context.ts';
import { requireDatabase } from '../require-database.ts';

const QUOTA_BLOB = 'settings/quota.json';
const CACHE_MS = 1000;

export interface DatabaseUsage {
  database: string;
  events_used: number;
  events_quota: number | null;
}

const cached = new WeakMap<EventStore, Map<string, { quota: number | null; readAt: number }>>();

export async function setQuota(ctx: FactumContext, database: string, events: number | null): Promise<DatabaseUsage> {
  if (events !== null && (!Number.isSafeInteger(events) || events < 0)) {
    throw new InvalidArgumentError('events must be a whole number of events, or null for no quota', { field: 'events', value: events });
  }
  await requireDatabase(ctx, database);
  await ctx.store.putBlob(database, QUOTA_BLOB, new TextEncoder().encode(JSON.stringify({ events })));
  cacheOf(ctx.store).set(database, { quota: events, readAt: Date.now() });
  return usageOf(ctx, database);
}

/** The database's quota, or null; cached for a second. */
export async function eventsQuota(ctx: FactumContext, database: string): Promise<number | null> {
  const cache = cacheOf(ctx.store);
  const hit = cache.get(database);
  if (hit && Date.now() - hit.readAt < CACHE_MS) return hit.quota;
  const bytes = await ctx.store.getBlob(database, QUOTA_BLOB);
  const quota = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as { events: number | null }).events : null;
  cache.set(database, { quota, readAt: Date.now() });
  return quota;
}

export async function usageOf(ctx: FactumContext, database: string): Promise<DatabaseUsage> {
  const record = await requireDatabase(ctx, database);
  return { database, events_used: record.event_count, events_quota: await eventsQuota(ctx, database) };
}

/** Use and quota of every database the caller may read. */
export async function usageFor(ctx: FactumContext, principal: Principal): Promise<DatabaseUsage[]> {
  const databases = readableDatabases(principal, await ctx.store.listDatabases());
  return Promise.all(databases.map(async (db) => ({ database: db.name, events_used: db.event_count, events_quota: await eventsQuota(ctx, db.name) })));
}

function cacheOf(store: EventStore): Map<string, { quota: number | null; readAt: number }> {
  let cache = cached.get(store);
  if (!cache) cached.set(store, (cache = new Map()));
  return cache;
}
