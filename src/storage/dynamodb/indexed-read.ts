/**
 * Queries that accept index lag (`allowIndexLag`): selective queries over long ranges read the
 * GSIs, which DynamoDB updates shortly after a write. Events committed within the last
 * `indexSettleMs` (by this server's clock against the writer's) are read from the base table
 * instead, so such a query usually sees recent events too. Usually: the GSIs may lag by more,
 * and clocks disagree, which is why no decision is ever taken from these reads (exact-read.ts).
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { RawEvent } from '../../core/events.ts';
import type { EventPage } from '../types.ts';
import { notFound } from './catalog.ts';
import { batchGet, queryItems } from './client.ts';
import type { Incarnation, StoreContext } from './context.ts';
import { filterExpression, itemMatches, type EventFilter, type IndexLookup } from './filters.ts';
import { itemKey, num } from './items.ts';
import { mergeRevisions } from './merge-revisions.ts';
import { A, eventSk, indexKey, INDEXES } from './keys.ts';
import { rangeInput } from './scan.ts';

/** Up to `limit` matching events of the range, read through the GSIs of `plan`. */
export async function indexedQuery(ctx: StoreContext, inc: Incarnation, plan: IndexLookup[], range: Range, limit: number): Promise<EventPage> {
  const revisions = await indexedRevisions(ctx, inc.dbId, plan, range, limit + 1);
  return { events: await readEvents(ctx, inc, revisions.slice(0, limit)), hasMore: revisions.length > limit };
}

/** Where a selective query looks: a revision range, a direction and what must match. */
export interface Range {
  from: number;
  to: number;
  forward: boolean;
  filter: EventFilter;
}

/**
 * Up to `want` matching revisions in query order: the settled part of the range from the GSIs,
 * the recent tail from the base table.
 */
async function indexedRevisions(ctx: StoreContext, dbId: string, plan: IndexLookup[], range: Range, want: number): Promise<number[]> {
  const { from, to, forward, filter } = range;
  // Walk back from the end of the range until an event old enough to be in the GSIs; every
  // event before it committed earlier still. Matches on the way are kept, newest first.
  let settledThrough = to;
  const tail: number[] = [];
  if (ctx.settings.indexSettleMs > 0) {
    const settledBefore = Date.now() - ctx.settings.indexSettleMs;
    settledThrough = from - 1;
    const input = rangeInput(ctx, dbId, from, to, false, undefined, [A.revision, A.committedAt, A.source, A.type, A.subject, A.effectiveTime]);
    for await (const item of queryItems(ctx, input, 16)) {
      const revision = num(item[A.revision]);
      if (num(item[A.committedAt]) < settledBefore) {
        settledThrough = revision;
        break;
      }
      if (itemMatches(item, filter)) tail.push(revision);
      // Backward, the newest matches come first: enough of them answers the query alone.
      if (!forward && tail.length === want) return tail;
    }
  }

  const revisions: number[] = [];
  const take = (revision: number): boolean => revisions.push(revision) === want;
  const settled = { ...range, to: settledThrough };
  if (forward) {
    if (settledThrough >= from) {
      for await (const revision of indexRevisions(ctx, dbId, plan, settled, want)) if (take(revision)) return revisions;
    }
    for (let i = tail.length - 1; i >= 0; i--) if (take(tail[i]!)) return revisions;
  } else {
    for (const revision of tail) if (take(revision)) return revisions;
    if (settledThrough >= from) {
      for await (const revision of indexRevisions(ctx, dbId, plan, settled, want)) if (take(revision)) return revisions;
    }
  }
  return revisions;
}

/** Matching revisions within the range from the GSIs, merged in order without repeats. */
async function* indexRevisions(ctx: StoreContext, dbId: string, plan: IndexLookup[], range: Range, want: number): AsyncGenerator<number> {
  yield* mergeRevisions(plan.map((lookup) => indexStream(ctx, dbId, lookup, range, want)), range.forward);
}

async function* indexStream(ctx: StoreContext, dbId: string, lookup: IndexLookup, range: Range, want: number): AsyncGenerator<number> {
  const index = INDEXES[lookup.attr];
  const expression = filterExpression(range.filter);
  const input: QueryCommandInput = {
    TableName: ctx.tableName,
    IndexName: index.indexName,
    KeyConditionExpression: '#xk = :xk AND #rev BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#xk': index.keyAttribute, '#rev': A.revision, ...expression?.names },
    ExpressionAttributeValues: { ':xk': indexKey(dbId, lookup.value), ':from': range.from, ':to': range.to, ...expression?.values },
    ...(expression ? { FilterExpression: expression.expression } : {}),
    ScanIndexForward: range.forward,
  };
  for await (const item of queryItems(ctx, input, want)) {
    // The key of another incarnation could only match by a hash collision; the check is free.
    if (item[A.pk] !== dbId || !itemMatches(item, range.filter)) continue;
    yield num(item[A.revision]);
  }
}

/** The events at the given revisions, in that order, read consistently. */
async function readEvents(ctx: StoreContext, inc: Incarnation, revisions: number[]): Promise<RawEvent[]> {
  if (revisions.length === 0) return [];
  const items = await batchGet(ctx, revisions.map((r) => itemKey(inc.dbId, eventSk(r))), [A.revision, A.json]);
  const byRevision = new Map(items.map((item) => [num(item[A.revision]), item[A.json] as string]));
  return revisions.map((revision) => {
    const json = byRevision.get(revision);
    if (json === undefined) {
      // Indexed but gone: the database was deleted while this query ran.
      throw notFound(inc.name);
    }
    return { revision, json };
  });
}

