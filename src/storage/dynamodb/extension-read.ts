/**
 * Reads through the extension index items (keys.ts: "x#<name>=<value>#<revision>"). They are
 * written in the transaction of their event, so a consistent query of them misses nothing
 * committed before it started: these reads are exact, and cost the events of the values read,
 * not the size of the database or of the revision range. The constraint check "latest event
 * with course c1" is one query of one item and one read of the event.
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { RawEvent } from '../../core/events.ts';
import type { EventPage } from '../types.ts';
import { notFound } from './catalog.ts';
import { batchGet, queryItems } from './client.ts';
import type { Incarnation, StoreContext } from './context.ts';
import { filterAttributes, itemMatches, type EventFilter, type ExtensionLookup } from './filters.ts';
import { itemKey, num, type Item } from './items.ts';
import { mergeRevisions } from './merge-revisions.ts';
import { A, afterExtensionValueSk, eventSk, extensionIndexSk, extensionPrefixSk, extensionValueSkPrefix, hashedExtensionSkPrefix, MAX_LISTED_VALUE_BYTES } from './keys.ts';

export interface ExtensionRange {
  from: number;
  to: number;
  forward: boolean;
  filter: EventFilter;
  limit: number;
}

/** Events read per batch at most (one BatchGetItem). */
const MAX_BATCH_EVENTS = 100;

/** Up to `limit` matching events of the range, from the candidates the plan's index items name. */
export async function extensionQuery(ctx: StoreContext, inc: Incarnation, plan: ExtensionLookup[], range: ExtensionRange): Promise<EventPage> {
  const { forward, filter, limit } = range;
  const candidates = mergeRevisions(plan.map((lookup) => lookupRevisions(ctx, inc.dbId, lookup, range, limit + 1)), forward);
  const attributes = [...new Set([A.revision, A.json, A.source, A.type, A.subject, A.effectiveTime, ...filterAttributes(filter)])];
  const events: RawEvent[] = [];
  try {
    for (let done = false; !done && events.length <= limit; ) {
      const batch: number[] = [];
      const size = Math.min(MAX_BATCH_EVENTS, limit + 1 - events.length);
      while (batch.length < size) {
        const next = await candidates.next();
        if (next.done) {
          done = true;
          break;
        }
        batch.push(next.value);
      }
      if (batch.length === 0) break;
      const items = await batchGet(ctx, batch.map((r) => itemKey(inc.dbId, eventSk(r))), attributes);
      const byRevision = new Map(items.map((item) => [num(item[A.revision]), item]));
      for (const revision of batch) {
        const item = byRevision.get(revision);
        // Indexed but gone: the database was deleted while this query ran.
        if (!item) throw notFound(inc.name);
        if (itemMatches(item, filter)) events.push({ revision, json: item[A.json] as string });
      }
    }
  } finally {
    await candidates.return(undefined);
  }
  return { events: events.slice(0, limit), hasMore: events.length > limit };
}

/** The revisions of one lookup within the range, in the query's direction. */
async function* lookupRevisions(ctx: StoreContext, dbId: string, lookup: ExtensionLookup, range: ExtensionRange, want: number): AsyncGenerator<number> {
  const { from, to, forward } = range;
  if (!lookup.prefix) {
    const input: QueryCommandInput = {
      TableName: ctx.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, '#rev': A.revision },
      ExpressionAttributeValues: { ':pk': dbId, ':lo': extensionIndexSk(lookup.name, lookup.value, from), ':hi': extensionIndexSk(lookup.name, lookup.value, to) },
      ProjectionExpression: '#rev',
      ScanIndexForward: forward,
      ConsistentRead: true,
    };
    for await (const item of queryItems(ctx, input, want)) yield num(item[A.revision]);
    return;
  }
  // Values with a prefix are in value order: every item of the range is read, then sorted.
  const revisions: number[] = [];
  for (const input of prefixInputs(ctx, dbId, lookup.name, lookup.value, { from, to })) {
    for await (const item of queryItems(ctx, input, 1000)) revisions.push(num(item[A.revision]));
  }
  revisions.sort((a, b) => (forward ? a - b : b - a));
  yield* revisions;
}

/** The queries of the index items of the values with a prefix: those kept in full, and the long ones by hash, filtered on `v`. */
function prefixInputs(ctx: StoreContext, dbId: string, name: string, prefix: string, revisions?: { from: number; to: number }): QueryCommandInput[] {
  const inRange = revisions ? '#rev BETWEEN :from AND :to' : undefined;
  const rangeValues = revisions ? { ':from': revisions.from, ':to': revisions.to } : {};
  const base = (skPrefix: string, filter: string | undefined, values: Record<string, unknown>): QueryCommandInput => ({
    TableName: ctx.tableName,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, '#rev': A.revision, ...(filter?.includes('#v') ? { '#v': A.extensionValue } : {}) },
    ExpressionAttributeValues: { ':pk': dbId, ':prefix': skPrefix, ...values },
    ...(filter ? { FilterExpression: filter } : {}),
    ProjectionExpression: '#rev',
    ConsistentRead: true,
  });
  const long = [prefix === '' ? undefined : 'begins_with(#v, :value)', inRange].filter((f) => f !== undefined).join(' AND ') || undefined;
  return [
    base(extensionPrefixSk(name, prefix), inRange, rangeValues),
    base(hashedExtensionSkPrefix(name), long, { ...rangeValues, ...(prefix === '' ? {} : { ':value': prefix }) }),
  ];
}

/**
 * Distinct values of an extension by prefix, in sort-key order, from its index items: one item
 * per value is read, each query starting after the items of the value before. Values long
 * enough to be keyed by their hash are not offered (nobody types them).
 */
export async function extensionValues(ctx: StoreContext, dbId: string, name: string, prefix: string, limit: number): Promise<string[]> {
  const values: string[] = [];
  const skPrefix = extensionPrefixSk(name, prefix);
  let lo = skPrefix;
  while (values.length < limit) {
    const input: QueryCommandInput = {
      TableName: ctx.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, '#v': A.extensionValue },
      // U+10FFFF sorts after every character a value can hold.
      ExpressionAttributeValues: { ':pk': dbId, ':lo': lo, ':hi': `${skPrefix}\u{10FFFF}` },
      ProjectionExpression: '#sk, #v',
      ConsistentRead: true,
      Limit: 1,
    };
    const { value: item } = await queryItems(ctx, input, 1).next();
    if (!item) break;
    const value = (item as Item)[A.extensionValue] as string;
    if (Buffer.byteLength(value) <= MAX_LISTED_VALUE_BYTES) values.push(value);
    lo = afterExtensionValueSk(extensionValueSkPrefix(name, value));
  }
  return values;
}
