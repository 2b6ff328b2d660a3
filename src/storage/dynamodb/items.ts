/**
 * Building items, and the size limits DynamoDB puts on them, checked before any write.
 *
 * Items are plain objects, marshalled by the document client: strings are stored as S, numbers
 * as N and byte arrays as B, the only attribute types the table holds.
 */
import { InvalidArgumentError, PayloadTooLargeError } from '../../core/errors.ts';
import { effectiveTimeMs, storedEventJson, type CloudEvent } from '../../core/events.ts';
import { extensionsOf } from '../../core/selectors.ts';
import { A, eventKeySk, eventSk, extensionIndexSk, extensionItemAttribute, indexKey } from './keys.ts';

export type Item = Record<string, string | number | Uint8Array>;

/** The primary key of an item. */
export function itemKey(pk: string, sk: string): Item {
  return { [A.pk]: pk, [A.sk]: sk };
}

/** DynamoDB's limit on actions in one transaction. */
export const MAX_TRANSACTION_ACTIONS = 100;

/**
 * Events per transaction. Each event costs two actions, its event item and its source + id
 * uniqueness item, plus one per extension attribute it carries (its extension index item),
 * and the head update one: 49 events without extensions make 99 actions, 33 with one
 * extension each 100, 24 with two 97. The latest-value items
 * of the events ride along where actions are left over (several small appends share one
 * transaction that way); a transaction without room for them leaves them to a catch-up right
 * after the commit (latest.ts), so the limit stays at 49.
 */
export const MAX_EVENTS_PER_TRANSACTION = 49;

/** DynamoDB's limit on one item: 400 KB, counting attribute names and values. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** DynamoDB refuses transactions whose items add up to more than 4 MB. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/**
 * What the items of one append may add up to: the head update and small differences in how
 * DynamoDB counts take the rest.
 */
export const TRANSACTION_ITEMS_BUDGET_BYTES = MAX_TRANSACTION_BYTES - 16 * 1024;

/**
 * The size DynamoDB charges for an item (names plus values). Numbers are counted at their
 * maximum of 21 bytes, so the estimate never falls short of DynamoDB's own.
 */
export function itemBytes(item: Item): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += Buffer.byteLength(name) + valueBytes(value);
  return total;
}

function valueBytes(value: Item[string]): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return 21;
  return value.byteLength;
}

/** A number attribute as read, NaN when it is missing (or not a number). */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : NaN;
}

export interface EventItems {
  event: Item;
  key: Item;
  /** One index item per extension attribute, written in the same transaction as the event. */
  extensions: Item[];
}

/** The transaction actions an event's items take. */
export function eventActions(items: EventItems): number {
  return 2 + items.extensions.length;
}

/** The bytes an event's items add to a transaction. */
export function eventItemsBytes(items: EventItems): number {
  return items.extensions.reduce((n, item) => n + itemBytes(item), itemBytes(items.event) + itemBytes(items.key));
}

export function eventItems(
  dbId: string,
  event: CloudEvent,
  revision: number,
  recordedtime: string,
  committedAtMs: number,
): EventItems {
  const subject = typeof event.subject === 'string' ? event.subject : undefined;
  const item: Item = {
    [A.pk]: dbId,
    [A.sk]: eventSk(revision),
    [A.revision]: revision,
    [A.json]: storedEventJson(event, revision, recordedtime),
    [A.source]: event.source,
    [A.type]: event.type,
    [A.committedAt]: committedAtMs,
    [A.streamIndexKey]: indexKey(dbId, event.source),
    [A.typeIndexKey]: indexKey(dbId, event.type),
    [A.subjectIndexKey]: indexKey(dbId, subject ?? null),
  };
  if (subject !== undefined) item[A.subject] = subject;
  const extensions = extensionsOf(event);
  for (const [name, value] of extensions) item[extensionItemAttribute(name)] = value;
  const effective = effectiveTimeMs(event, recordedtime);
  // An unparseable time cannot be a DynamoDB number; leaving it out keeps the event outside every time range, as elsewhere.
  if (Number.isFinite(effective)) item[A.effectiveTime] = effective;
  return {
    event: item,
    key: { [A.pk]: dbId, [A.sk]: eventKeySk(event.source, event.id), [A.revision]: revision },
    extensions: extensions.map(([name, value]) => ({ [A.pk]: dbId, [A.sk]: extensionIndexSk(name, value, revision), [A.revision]: revision, [A.extensionValue]: value })),
  };
}

/**
 * Refuses, before anything is written, a transaction DynamoDB could not take: too many events,
 * an event too large for one item, or items adding up past the transaction limit. Sizes are
 * measured on the items as they would be written (revisions count at their widest).
 */
export function assertWithinLimits(dbId: string, events: readonly CloudEvent[], recordedtime: string, otherActions = 0): void {
  if (events.length > MAX_EVENTS_PER_TRANSACTION) {
    throw new InvalidArgumentError(
      `a transaction may hold at most ${MAX_EVENTS_PER_TRANSACTION} events with DynamoDB storage (each event takes two of the 100 actions a DynamoDB transaction allows); got ${events.length}`,
      { field: 'events', limit: MAX_EVENTS_PER_TRANSACTION, count: events.length },
    );
  }
  let total = 0;
  let actions = 1 + otherActions;
  events.forEach((event, index) => {
    const built = eventItems(dbId, event, Number.MAX_SAFE_INTEGER, recordedtime, Date.now());
    const bytes = itemBytes(built.event);
    if (bytes > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(
        `events[${index}] takes ${bytes} bytes as a DynamoDB item; an item may take at most 400 KB (${MAX_ITEM_BYTES} bytes), including the stored JSON and its indexed attributes`,
        { index, size_bytes: bytes, limit_bytes: MAX_ITEM_BYTES },
      );
    }
    total += eventItemsBytes(built);
    actions += eventActions(built);
  });
  if (actions > MAX_TRANSACTION_ACTIONS) {
    throw new InvalidArgumentError(
      `the transaction takes ${actions} DynamoDB actions; a DynamoDB transaction allows ${MAX_TRANSACTION_ACTIONS} (one for the revision update, two per event, and one per extension attribute of each event, which is indexed in the same transaction): send fewer events per transaction, or fewer extension attributes per event`,
      { field: 'events', limit: MAX_TRANSACTION_ACTIONS, actions, count: events.length },
    );
  }
  const budget = TRANSACTION_ITEMS_BUDGET_BYTES;
  if (total > budget) {
    throw new PayloadTooLargeError(
      `the transaction's events take ${total} bytes as DynamoDB items; a DynamoDB transaction may carry at most 4 MB (${budget} bytes for events after the revision update)`,
      { field: 'events', size_bytes: total, limit_bytes: budget },
    );
  }
}
