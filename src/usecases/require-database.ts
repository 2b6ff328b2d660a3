/**
 * The lookup every use case starts with. A leaf module: it imports nothing of the other use
 * cases, so any of them can use it without an import cycle.
 */
import { NotFoundError } from '../core/errors.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { DatabaseRecord } from '../storage/types.ts';
import type { FactumContext } from './context.ts';

/** The database's record; NotFoundError when there is no database of that name. */
export async function requireDatabase(ctx: FactumContext, name: string): Promise<DatabaseRecord> {
  assertSchema<string>('DatabaseName', name, 'database');
  const record = await ctx.store.getDatabase(name);
  if (!record) throw new NotFoundError(`database "${name}" does not exist`, { database: name });
  return record;
}
