/**
 * Consistent reads of revision ranges of the base table: what every exact answer rests on.
 * Each range costs the events it holds, filtered by DynamoDB as far as it can and checked again
 * in code, so callers keep ranges as narrow as they can prove sufficient.
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { RawEvent } from '../../core/events.ts';
import type { EventPage } from '../types.ts';
import { projection, queryItems } from './client.ts';
import type { StoreContext } from './context.ts';
import { filterAttributes, filterExpression, itemMatches, type EventFilter } from './filters.ts';
import { num } from './items.ts';
import { A, eventSk } from './keys.ts';

/** Inclusive revision bounds; empty when `from` > `to`. */
export interface RevisionRange {
  from: number;
  to: number;
}

/** What reading an event for a page needs: its JSON and what filters look at. */
const EVENT_ATTRIBUTES = [A.revision, A.json, A.source, A.type, A.subject, A.effectiveTime];

/** A consistent query of the events in [from, to] of the base table, filtered as far as DynamoDB can. */
export function rangeInput(
  ctx: StoreContext,
  dbId: string,
  from: number,
  to: number,
  forward: boolean,
  filter: EventFilter | undefined,
  attributes: readonly string[],
): QueryCommandInput {
  const expression = filter && filterExpression(filter);
  // The extensions the filter names are read too, for the check in code.
  const projected = projection([...new Set([...attributes, ...filterAttributes(filter)])]);
  return {
    TableName: ctx.tableName,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, ...expression?.names, ...projected.ExpressionAttributeNames },
    ExpressionAttributeValues: { ':pk': dbId, ':from': eventSk(from), ':to': eventSk(to), ...expression?.values },
    ...(expression ? { FilterExpression: expression.expression } : {}),
    ProjectionExpression: projected.ProjectionExpression,
    ScanIndexForward: forward,
    ConsistentRead: true,
  };
}

/**
 * Up to `limit` matching events from the ranges, read one after the other in the order given
 * (each in the query's direction), and whether more match beyond the limit.
 */
export async function scanRanges(
  ctx: StoreContext,
  dbId: string,
  ranges: readonly RevisionRange[],
  forward: boolean,
  filter: EventFilter,
  limit: number,
): Promise<EventPage> {
  const events = await scanMatches(ctx, dbId, ranges, forward, filter, limit + 1);
  return { events: events.slice(0, limit), hasMore: events.length > limit };
}

/** The first `count` matching events of the ranges, in the order given, each in the query's direction. */
export async function scanMatches(
  ctx: StoreContext,
  dbId: string,
  ranges: readonly RevisionRange[],
  forward: boolean,
  filter: EventFilter,
  count: number,
): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  for (const { from, to } of ranges) {
    if (from > to || events.length >= count) continue;
    for await (const item of queryItems(ctx, rangeInput(ctx, dbId, from, to, forward, filter, EVENT_ATTRIBUTES), count - events.length)) {
      if (!itemMatches(item, filter)) continue;
      events.push({ revision: num(item[A.revision]), json: item[A.json] as string });
      if (events.length >= count) break;
    }
  }
  return events;
}
