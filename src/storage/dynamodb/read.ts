/**
 * Reads of events. Every query is exact unless it says it accepts index lag: it then sees every
 * event committed before it started (exact-read.ts). Queries that accept lag may be answered
 * from the GSIs (indexed-read.ts). Selectors an extension bounds are answered from the
 * extension index items, exactly (extension-read.ts). Type-ahead values come from the
 * latest-value items, and for extensions from their index items.
 */
import type { CloudEvent, RawEvent } from '../../core/events.ts';
import { extensionName, type BuiltInAttr, type SelectorAttr } from '../../core/selectors.ts';
import type { EventPage, EventQuery } from '../types.ts';
import { live } from './catalog.ts';
import { startCatchUp } from './catch-up.ts';
import { batchGet, getItem, prefixQuery, queryItems } from './client.ts';
import type { StoreContext } from './context.ts';
import { exactQuery } from './exact-read.ts';
import { extensionQuery, extensionValues } from './extension-read.ts';
import { extensionPlan, indexPlan, type EventFilter } from './filters.ts';
import { indexedQuery } from './indexed-read.ts';
import { itemKey, num } from './items.ts';
import { A, eventKeySk, eventSk, latestSkPrefix, MAX_LISTED_VALUE_BYTES } from './keys.ts';
import { rangeInput } from './scan.ts';

/** Type-ahead reads at most this many revisions not yet covered by latest-value items. */
const UNCOVERED_VALUES_REVISIONS = 1000;

export async function query(ctx: StoreContext, name: string, query: EventQuery): Promise<EventPage> {
  const found = await live(ctx, name);
  const from = Math.max(1, Math.ceil(query.fromRevision ?? 1));
  const to = Math.min(found.head, Math.floor(query.toRevision ?? found.head));
  const limit = Math.max(0, Math.floor(query.limit));
  if (!(from <= to)) return { events: [], hasMore: false };
  const filter: EventFilter = { selector: query.selector, fromTimeMs: query.fromTimeMs, toTimeMs: query.toTimeMs };
  const forward = query.direction !== 'backward';
  const extensions = query.selector && extensionPlan(query.selector);
  if (extensions) return extensionQuery(ctx, found.inc, extensions, { from, to, forward, filter, limit });
  const { indexSettleMs, directScanMaxRevisions } = ctx.settings;
  const lagging = query.allowIndexLag && query.selector && to - from + 1 > directScanMaxRevisions && indexSettleMs !== Infinity;
  const plan = lagging ? indexPlan(query.selector!) : undefined;
  if (plan) return indexedQuery(ctx, found.inc, plan, { from, to, forward, filter }, limit);
  return exactQuery(ctx, found, { from, to, forward, filter, limit });
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

/**
 * Values of an attribute by prefix, in UTF-8 byte order (that of sort keys): those of the
 * latest-value items, and those of the few latest events they may not cover yet.
 */
export async function distinctValues(ctx: StoreContext, name: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
  const { inc, head, latestThrough } = await live(ctx, name);
  const wanted = Math.max(0, Math.floor(limit));
  if (wanted === 0) return [];
  const extension = extensionName(attr);
  if (extension !== undefined) return extensionValues(ctx, inc.dbId, extension, prefix, wanted);
  if (head - latestThrough > UNCOVERED_VALUES_REVISIONS) startCatchUp(ctx, inc);
  const skPrefix = latestSkPrefix(attr as BuiltInAttr);
  const values = new Set<string>();
  for await (const item of queryItems(ctx, prefixQuery(ctx, inc.dbId, skPrefix + prefix, [A.sk]), wanted)) {
    values.add((item[A.sk] as string).slice(skPrefix.length));
    if (values.size === wanted) break;
  }
  const from = Math.max(1, latestThrough + 1);
  const to = Math.min(head, from + UNCOVERED_VALUES_REVISIONS - 1);
  if (from <= to) {
    const field = { stream: A.source, event_type: A.type, subject: A.subject }[attr as BuiltInAttr];
    for await (const item of queryItems(ctx, rangeInput(ctx, inc.dbId, from, to, true, undefined, [field]), to - from + 1)) {
      const value = item[field];
      if (typeof value === 'string' && value.startsWith(prefix) && Buffer.byteLength(value) <= MAX_LISTED_VALUE_BYTES) values.add(value);
    }
  }
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).slice(0, wanted);
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
