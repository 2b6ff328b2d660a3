/**
 * Reads of events. Revision ranges read the base table consistently. Selective queries (equals
 * on stream, type or subject) read GSIs, which DynamoDB updates shortly after a write; events
 * committed within the last `indexSettleMs` are therefore read from the base table instead, so a
 * query sees every event committed before it started unless an index lags by more than that.
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { CloudEvent, RawEvent } from '../../core/events.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import type { EventPage, EventQuery } from '../types.ts';
import { batchGet, getItem, prefixQuery, projection, queryItems } from './client.ts';
import { live, notFound } from './catalog.ts';
import type { Incarnation, StoreContext } from './context.ts';
import { filterExpression, indexPlan, itemMatches, type EventFilter, type IndexLookup } from './filters.ts';
import { itemKey, num } from './items.ts';
import { A, eventKeySk, eventSk, indexKey, INDEXES, valueSkPrefix } from './keys.ts';

export async function query(ctx: StoreContext, name: string, query: EventQuery): Promise<EventPage> {
  const { inc, head } = await live(ctx, name);
  const from = Math.max(1, Math.ceil(query.fromRevision ?? 1));
  const to = Math.min(head, Math.floor(query.toRevision ?? head));
  const limit = Math.max(0, Math.floor(query.limit));
  if (!(from <= to)) return { events: [], hasMore: false };
  const filter: EventFilter = { selector: query.selector, fromTimeMs: query.fromTimeMs, toTimeMs: query.toTimeMs };
  const forward = query.direction !== 'backward';
  const { indexSettleMs, directScanMaxRevisions } = ctx.settings;
  const plan = query.selector && to - from + 1 > directScanMaxRevisions && indexSettleMs !== Infinity ? indexPlan(query.selector) : undefined;
  if (!plan) return scanEvents(ctx, inc.dbId, from, to, forward, filter, limit);
  const revisions = await indexedRevisions(ctx, inc.dbId, plan, { from, to, forward, filter }, limit + 1);
  const page = revisions.slice(0, limit);
  return { events: await readEvents(ctx, inc, page), hasMore: revisions.length > limit };
}

export async function findByKeys(ctx: StoreContext, name: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
  const { inc } = await live(ctx, name);
  return lookupKeys(ctx, inc.dbId, keys);
}

export async function readEvent(ctx: StoreContext, name: string, revision: number): Promise<RawEvent | undefined> {
  const { inc, head } = await live(ctx, name);
  if (!Number.isSafeInteger(revision) || revision < 1 || revision > head) return undefined;
  const item = await getItem(ctx, inc.dbId, eventSk(revision), [A.json]);
  return item && { revision, json: item[A.json] as string };
}

export async function distinctValues(ctx: StoreContext, name: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
  const { inc } = await live(ctx, name);
  const wanted = Math.max(0, Math.floor(limit));
  if (wanted === 0) return [];
  const skPrefix = valueSkPrefix(attr);
  // Sort keys come back in UTF-8 byte order, which is code point order.
  const values: string[] = [];
  for await (const item of queryItems(ctx, prefixQuery(ctx, inc.dbId, skPrefix + prefix, [A.sk]), wanted)) {
    values.push((item[A.sk] as string).slice(skPrefix.length));
    if (values.length === wanted) break;
  }
  return values;
}

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
  const projected = projection(attributes);
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

async function scanEvents(ctx: StoreContext, dbId: string, from: number, to: number, forward: boolean, filter: EventFilter, limit: number): Promise<EventPage> {
  const events: RawEvent[] = [];
  let hasMore = false;
  const input = rangeInput(ctx, dbId, from, to, forward, filter, [A.revision, A.json, A.source, A.type, A.subject, A.effectiveTime]);
  for await (const item of queryItems(ctx, input, limit + 1)) {
    if (!itemMatches(item, filter)) continue;
    if (events.length === limit) {
      hasMore = true;
      break;
    }
    events.push({ revision: num(item[A.revision]), json: item[A.json] as string });
  }
  return { events, hasMore };
}

/** Where a selective query looks: a revision range, a direction and what must match. */
interface Range {
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
  const streams = plan.map((lookup) => indexStream(ctx, dbId, lookup, range, want));
  const before = (a: number, b: number) => (range.forward ? a < b : a > b);
  try {
    const heads = await Promise.all(streams.map((s) => s.next()));
    let last: number | undefined;
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (h.done) continue;
        if (best < 0 || before(h.value, heads[best]!.value as number)) best = i;
      }
      if (best < 0) return;
      const revision = heads[best]!.value as number;
      heads[best] = await streams[best]!.next();
      if (revision !== last) {
        last = revision;
        yield revision;
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
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

/** Stored events by source + id, via their uniqueness items. */
export async function lookupKeys(ctx: StoreContext, dbId: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
  if (keys.length === 0) return [];
  const sks = keys.map((k) => eventKeySk(k.source, k.id));
  const keyItems = await batchGet(ctx, [...new Set(sks)].map((sk) => itemKey(dbId, sk)), [A.sk, A.revision]);
  const revisionOf = new Map(keyItems.map((item) => [item[A.sk] as string, num(item[A.revision])]));
  const revisions = [...new Set(revisionOf.values())];
  const eventItemsFound = await batchGet(ctx, revisions.map((r) => itemKey(dbId, eventSk(r))), [A.revision, A.json]);
  const jsonOf = new Map(eventItemsFound.map((item) => [num(item[A.revision]), item[A.json] as string]));
  return keys.map((k, i) => {
    const revision = revisionOf.get(sks[i]!);
    const json = revision === undefined ? undefined : jsonOf.get(revision);
    if (revision === undefined || json === undefined) return undefined;
    const stored = JSON.parse(json) as CloudEvent;
    return stored.source === k.source && stored.id === k.id ? { revision, json } : undefined;
  });
}
