/**
 * Appends: one TransactWriteItems per transaction, updating the database's head item on the
 * condition that it still holds the head the events were numbered after, putting the events, and
 * putting one uniqueness item per source + id on the condition that it does not exist. The head
 * item is the single point every writer of a database passes, so revisions stay dense and unique
 * across servers. Guards are checked by a consistent read of the base table over (basis, head]
 * before the commit; the commit's head condition makes that check still true at write time.
 */
import { InternalError } from '../../core/errors.ts';
import type { CloudEvent } from '../../core/events.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../../core/retry.ts';
import { anyOf, attrValue, SELECTOR_ATTRS, type Selector } from '../../core/selectors.ts';
import type { AppendGuard, AppendOutcome, AppendRequest } from '../types.ts';
import { BATCH_WRITE_ITEMS, batchWrite, cancellationReasons, describeReasons, isRetryable, queryItems, transact, type TransactAction } from './client.ts';
import { live, lookup, notFound } from './catalog.ts';
import type { Incarnation, StoreContext } from './context.ts';
import { itemMatches, type EventFilter } from './filters.ts';
import { assertWithinLimits, eventItems, itemBytes, itemKey, MAX_TRANSACTION_ACTIONS, TRANSACTION_ITEMS_BUDGET_BYTES, type Item } from './items.ts';
import { A, HEAD_SK, MAX_LISTED_VALUE_BYTES, valueSkPrefix } from './keys.ts';
import { lookupKeys, rangeInput } from './read.ts';

/**
 * Attempts at a commit that other appends keep beating: 100 losses in a row give up. Each loss
 * means another append succeeded and the next attempt starts from the head that beat it, so the
 * first retry goes at once (a 1 ms ceiling rounds down to no wait); writers that keep losing
 * spread out over up to 50 ms.
 */
const LOST_RACES: RetryPolicy = { maxAttempts: 101, baseDelayMs: 1, maxDelayMs: 50 };
/** Bounds the memory of the value cache per database; forgetting only costs rewrites. */
const MAX_CACHED_VALUES = 50_000;

/** Appends one transaction; the caller keeps appends to one database from this server in order. */
export async function append(ctx: StoreContext, name: string, request: AppendRequest): Promise<AppendOutcome> {
  const known = ctx.known.get(name) ?? (await lookup(ctx, name));
  if (!known) throw notFound(name);
  let inc: Incarnation = known;
  assertWithinLimits(inc.dbId, request.events, request.recordedtime);
  let head: number;
  if (inc.head === undefined || request.events.length === 0) ({ inc, head } = await live(ctx, name));
  else head = inc.head;

  const { guard, events } = request;
  // The guard has been verified for revisions (basis, checkedThrough].
  let checkedThrough = guard?.basis ?? 0;
  const exhausted = { what: `append to "${name}"`, why: 'it lost to concurrent appends every time', details: { database: name } };
  return withRetries<AppendOutcome>(LOST_RACES, exhausted, async () => {
    if (guard && head > checkedThrough) {
      if (await guardHit(ctx, inc.dbId, guard, checkedThrough + 1, head)) return done({ kind: 'guard_failed', head });
      checkedThrough = head;
    }
    if (events.length === 0) return done({ kind: 'appended', firstRevision: head + 1, lastRevision: head });

    const committedAt = Date.now();
    const built = events.map((event, i) => eventItems(inc.dbId, event, head + 1 + i, request.recordedtime, committedAt));
    const { listed, deferred } = newValues(inc, events, built);
    const actions: TransactAction[] = [
      {
        Update: {
          TableName: ctx.tableName,
          Key: itemKey(inc.dbId, HEAD_SK),
          UpdateExpression: 'SET #head = :next',
          ConditionExpression: '#head = :head',
          ExpressionAttributeNames: { '#head': A.head },
          ExpressionAttributeValues: { ':head': head, ':next': head + events.length },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      // The head condition already rules out existing events; their own condition guards against bugs only.
      ...built.map(({ event }): TransactAction => ({
        Put: { TableName: ctx.tableName, Item: event, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } },
      })),
      ...built.map(({ key }): TransactAction => ({
        Put: {
          TableName: ctx.tableName,
          Item: key,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': A.pk },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      })),
      ...listed.map((sk): TransactAction => ({ Put: { TableName: ctx.tableName, Item: itemKey(inc.dbId, sk) } })),
    ];
    try {
      // Cancellations for conflicts or throttling alone are sent again in there, with backoff.
      await transact(ctx, actions, exhausted.what, exhausted.details);
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;

      if (reasons.slice(1 + events.length, 1 + 2 * events.length).some((r) => r.Code === 'ConditionalCheckFailed')) {
        const existing = await lookupKeys(ctx, inc.dbId, events);
        if (existing.some((e) => e !== undefined)) return done({ kind: 'duplicates', existing });
      }

      const headReason = reasons[0];
      if (headReason?.Code === 'ConditionalCheckFailed') {
        const actual = Number(headReason.Item?.[A.head]?.N ?? NaN);
        if (Number.isNaN(actual)) {
          // The head is gone: the database was deleted, and perhaps created again.
          const previous = inc.dbId;
          ({ inc, head } = await live(ctx, name));
          if (inc.dbId === previous) throw new InternalError(`database "${name}" lost its head item`, { name });
          checkedThrough = guard?.basis ?? 0;
          return tryAgain;
        }
        head = actual;
        inc.head = actual;
        return tryAgain;
      }
      // A conflict beside a condition that failed harmlessly: worth another attempt too.
      if (isRetryable(reasons)) return tryAgain;
      throw new InternalError(`DynamoDB cancelled the append to "${name}": ${describeReasons(reasons)}`, { database: name });
    }
    inc.head = head + events.length;
    await listValues(ctx, inc, listed, deferred);
    return done({ kind: 'appended', firstRevision: head + 1, lastRevision: head + events.length });
  });
}

/** Whether an event in one of the guard's scopes lies within [from, to], read consistently. */
async function guardHit(ctx: StoreContext, dbId: string, guard: AppendGuard, from: number, to: number): Promise<boolean> {
  if (from > to) return false;
  if (guard.scopes.some((scope) => scope === undefined)) return true; // revisions are dense: something is there
  if (guard.scopes.length === 0) return false;
  const filter: EventFilter = { selector: anyOf(guard.scopes as Selector[]) };
  const input = rangeInput(ctx, dbId, from, to, true, filter, [A.source, A.type, A.subject]);
  for await (const item of queryItems(ctx, input, 100)) {
    if (itemMatches(item, filter)) return true;
  }
  return false;
}

/**
 * Value items for the stream, type and subject values of these events not yet known to be
 * listed. They ride in the append's transaction while actions and bytes are spare, so a
 * committed event's values are listed with it; what does not fit is written right after.
 */
function newValues(inc: Incarnation, events: readonly CloudEvent[], built: ReadonlyArray<{ event: Item; key: Item }>): { listed: string[]; deferred: string[] } {
  const fresh = new Set<string>();
  for (const event of events) {
    for (const attr of SELECTOR_ATTRS) {
      const value = attrValue(event, attr);
      if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_LISTED_VALUE_BYTES) continue;
      const sk = valueSkPrefix(attr) + value;
      if (!inc.listedValues.has(sk)) fresh.add(sk);
    }
  }
  if (fresh.size === 0) return { listed: [], deferred: [] };
  let actionsLeft = MAX_TRANSACTION_ACTIONS - 1 - 2 * events.length;
  let bytesLeft = TRANSACTION_ITEMS_BUDGET_BYTES - built.reduce((n, b) => n + itemBytes(b.event) + itemBytes(b.key), 0);
  const listed: string[] = [];
  const deferred: string[] = [];
  for (const sk of fresh) {
    const bytes = itemBytes(itemKey(inc.dbId, sk));
    if (actionsLeft > 0 && bytesLeft >= bytes) {
      listed.push(sk);
      actionsLeft--;
      bytesLeft -= bytes;
    } else {
      deferred.push(sk);
    }
  }
  return { listed, deferred };
}

/** Records values as listed, writing first those that did not fit the append's transaction. */
async function listValues(ctx: StoreContext, inc: Incarnation, listed: string[], deferred: string[]): Promise<void> {
  try {
    for (let i = 0; i < deferred.length; i += BATCH_WRITE_ITEMS) {
      await batchWrite(ctx, deferred.slice(i, i + BATCH_WRITE_ITEMS).map((sk) => ({ PutRequest: { Item: itemKey(inc.dbId, sk) } })));
    }
  } catch (error) {
    // The events are committed; a value missing from type-ahead is not worth failing the append.
    process.emitWarning(`DynamoDB: could not list new values of database "${inc.name}" for type-ahead: ${(error as Error).message}`);
    deferred = [];
  }
  if (inc.listedValues.size > MAX_CACHED_VALUES) inc.listedValues.clear();
  for (const sk of listed) inc.listedValues.add(sk);
  for (const sk of deferred) inc.listedValues.add(sk);
}
