/**
 * Type-ahead: the distinct streams, event types or subjects a database holds, by prefix. The
 * query builder offers them as suggestions; the JSON API serves them to other clients. The
 * request's rules and defaults are openapi.yaml's AttributeValuesRequest.
 */
import type { SelectorAttr } from '../core/selectors.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

export interface SuggestRequest {
  attribute: SelectorAttr;
  prefix?: string;
  limit?: number;
}

export async function suggestValues(ctx: FactumContext, database: string, input: SuggestRequest): Promise<string[]> {
  const request = { ...input };
  assertSchema<Required<SuggestRequest>>('AttributeValuesRequest', request);
  await requireDatabase(ctx, database);
  return ctx.store.distinctValues(database, request.attribute, request.prefix, request.limit);
}
