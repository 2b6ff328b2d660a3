import { OPEN, readableDatabases, type Principal } from '../core/access.ts';
import { NotFoundError } from '../core/errors.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { DatabaseRecord } from '../storage/types.ts';
import { STATE_CHANGES, STATE_VIEWS } from './component-kinds.ts';
import { componentNames } from './component-registry.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

export interface DatabaseDetails extends DatabaseRecord {
  state_views: string[];
  state_changes: string[];
}

/** The databases `principal` may read (every one, for a server without keys). */
export async function listDatabases(ctx: FactumContext, principal: Principal = OPEN): Promise<DatabaseRecord[]> {
  return readableDatabases(principal, await ctx.store.listDatabases());
}

export async function createDatabase(ctx: FactumContext, name: unknown): Promise<DatabaseRecord> {
  assertSchema<string>('DatabaseName', name, 'name');
  return ctx.store.createDatabase(name, ctx.now().toISOString());
}

export async function describeDatabase(ctx: FactumContext, name: string): Promise<DatabaseDetails> {
  const record = await requireDatabase(ctx, name);
  return { ...record, state_views: await componentNames(ctx, name, STATE_VIEWS), state_changes: await componentNames(ctx, name, STATE_CHANGES) };
}

export async function deleteDatabase(ctx: FactumContext, name: string): Promise<void> {
  assertSchema<string>('DatabaseName', name, 'database');
  if (!(await ctx.store.deleteDatabase(name))) {
    throw new NotFoundError(`database "${name}" does not exist`, { database: name });
  }
}
