/**
 * Type-ahead: the distinct streams, event types, subjects or values of an extension attribute a
 * database holds, by prefix. The query builder offers them as suggestions; the JSON API serves
 * them to other clients. The request's rules and defaults are openapi.yaml's
 * AttributeValuesRequest: it names a built-in `attribute` or an `extension`.
 */
import { extensionAttr, type BuiltInAttr } from '../core/selectors.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

export interface SuggestRequest {
  attribute?: BuiltInAttr;
  extension?: string;
  prefix?: string;
  limit?: number;
}

export async function suggestValues(ctx: FactumContext, database: string, input: SuggestRequest): Promise<string[]> {
  const request = { ...input };
  assertSchema<SuggestRequest & Required<Pick<SuggestRequest, 'prefix' | 'limit'>>>('AttributeValuesRequest', request);
  await requireDatabase(ctx, database);
  const attr = request.extension !== undefined ? extensionAttr(request.extension) : request.attribute!;
  return ctx.store.distinctValues(database, attr, request.prefix, request.limit);
}
