/**
 * Type-ahead: the distinct streams, event types or subjects a database holds, by prefix. The
 * query builder offers them as suggestions; the JSON API serves them to other clients.
 */
import { InvalidArgumentError } from '../core/errors.ts';
import { SELECTOR_ATTRS, type SelectorAttr } from '../core/selectors.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './databases.ts';

export const DEFAULT_SUGGESTIONS = 20;
export const MAX_SUGGESTIONS = 1000;
/** Longer prefixes are no help in choosing and only cost a scan. */
export const MAX_PREFIX_LENGTH = 1024;

export function isSelectorAttr(value: unknown): value is SelectorAttr {
  return typeof value === 'string' && (SELECTOR_ATTRS as readonly string[]).includes(value);
}

export async function suggestValues(
  ctx: FactumContext,
  database: string,
  attribute: string,
  prefix = '',
  limit = DEFAULT_SUGGESTIONS,
): Promise<string[]> {
  if (!isSelectorAttr(attribute)) {
    throw new InvalidArgumentError(`attribute must be one of ${SELECTOR_ATTRS.join(', ')}`, { field: 'attribute', value: attribute });
  }
  if (prefix.length > MAX_PREFIX_LENGTH) {
    throw new InvalidArgumentError(`prefix is longer than ${MAX_PREFIX_LENGTH} characters`, { field: 'prefix' });
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SUGGESTIONS) {
    throw new InvalidArgumentError(`limit must be a whole number from 1 to ${MAX_SUGGESTIONS}`, { field: 'limit', value: limit });
  }
  await requireDatabase(ctx, database);
  return ctx.store.distinctValues(database, attribute, prefix, limit);
}
