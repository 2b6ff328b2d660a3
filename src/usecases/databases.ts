import { NotFoundError } from '../core/errors.ts';
import { assertDatabaseName } from '../core/names.ts';
import type { DatabaseRecord } from '../storage/types.ts';
import type { FactumContext } from './context.ts';
import { stateChangeNames } from './state-changes.ts';
import { stateViewNames } from './state-views.ts';

export interface DatabaseDetails extends DatabaseRecord {
  state_views: string[];
  state_changes: string[];
}

export function listDatabases(ctx: FactumContext): Promise<DatabaseRecord[]> {
  return ctx.store.listDatabases();
}

export async function createDatabase(ctx: FactumContext, name: unknown): Promise<DatabaseRecord> {
  assertDatabaseName(name);
  return ctx.store.createDatabase(name, ctx.now().toISOString());
}

export async function requireDatabase(ctx: FactumContext, name: string): Promise<DatabaseRecord> {
  assertDatabaseName(name, 'database');
  const record = await ctx.store.getDatabase(name);
  if (!record) throw new NotFoundError(`database "${name}" does not exist`, { database: name });
  return record;
}

export async function describeDatabase(ctx: FactumContext, name: string): Promise<DatabaseDetails> {
  const record = await requireDatabase(ctx, name);
  return { ...record, state_views: await stateViewNames(ctx, name), state_changes: await stateChangeNames(ctx, name) };
}

export async function deleteDatabase(ctx: FactumContext, name: string): Promise<void> {
  assertDatabaseName(name, 'database');
  if (!(await ctx.store.deleteDatabase(name))) {
    throw new NotFoundError(`database "${name}" does not exist`, { database: name });
  }
}
