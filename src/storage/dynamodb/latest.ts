/**
 * Latest-value items: for every stream, type and subject value of a database (and for "no
 * subject"), one item holding the latest revision of an event with that value (`rev`) and the
 * one before it (`prev`). They are what makes exact reads cheap without trusting a GSI: the
 * latest event matching `subject = alice` is one consistent GetItem away, and a selector built
 * of such values bounds where a consistent base-table read has to look (exact-read.ts).
 *
 * Appends update them in their own transaction when the actions fit (append-actions.ts); when
 * they do not, the head item's `lt` stays behind and catch-up.ts writes them afterwards. Either
 * way `lt` holds: every event up to it is accounted for in the items. Items may run ahead of
 * `lt` (written by a transaction, or by a catch-up, after `lt` was read); readers allow for it.
 */
import { extensionName, type BuiltInAttr, type Selector, type SelectableEvent } from '../../core/selectors.ts';
import { batchGet, type TransactAction } from './client.ts';
import type { StoreContext } from './context.ts';
import { itemKey, num, type Item } from './items.ts';
import { A, latestSk } from './keys.ts';

/** The sort keys of the latest-value items an event moves. */
export function latestKeysOf(event: SelectableEvent): string[] {
  return [latestSk('stream', event.source), latestSk('event_type', event.type), latestSk('subject', event.subject ?? null)];
}

/** Each latest-value item a run of events moves, with the revisions that move it, ascending. */
export function latestChanges(events: Iterable<{ event: SelectableEvent; revision: number }>): Map<string, number[]> {
  const changes = new Map<string, number[]>();
  for (const { event, revision } of events) {
    for (const sk of latestKeysOf(event)) {
      const revisions = changes.get(sk);
      if (revisions) revisions.push(revision);
      else changes.set(sk, [revision]);
    }
  }
  for (const revisions of changes.values()) revisions.sort((a, b) => a - b);
  return changes;
}

/**
 * How an update learns the revision before its first one:
 * - `in-order`: the item accounts for every earlier event (the append's transaction holds
 *   `lt` = its own start), so its current `rev` is that revision;
 * - `catching-up`: the item may already be newer (a later transaction wrote it); the update
 *   then leaves it alone, and otherwise no event lies between its `rev` and the first revision
 *   here, because catching up reads every event after `lt` (catch-up.ts).
 */
export type UpdateOrder = 'in-order' | 'catching-up';

/** The update of one latest-value item to the last of `revisions` (ascending, non-empty). */
export function latestUpdate(tableName: string, dbId: string, sk: string, revisions: readonly number[], order: UpdateOrder): TransactAction {
  const rev = revisions.at(-1)!;
  const before = revisions.length > 1 ? revisions.at(-2)! : undefined;
  const names = { '#rev': A.revision, '#prev': A.prev };
  const update =
    before !== undefined
      ? { UpdateExpression: 'SET #rev = :rev, #prev = :prev', ExpressionAttributeValues: { ':rev': rev, ':prev': before } }
      : { UpdateExpression: 'SET #prev = if_not_exists(#rev, :none), #rev = :rev', ExpressionAttributeValues: { ':rev': rev, ':none': 0 } };
  // With two revisions here the item may hold the last already (its `prev` then unknown): rewrite it.
  const condition =
    order === 'catching-up' ? { ConditionExpression: before !== undefined ? 'attribute_not_exists(#rev) OR #rev <= :rev' : 'attribute_not_exists(#rev) OR #rev < :rev' } : {};
  return { Update: { TableName: tableName, Key: itemKey(dbId, sk), ExpressionAttributeNames: names, ...update, ...condition } };
}

/** The bytes a latest-value update adds to a transaction (key and two numbers). */
export function latestUpdateBytes(dbId: string, sk: string): number {
  return Buffer.byteLength(dbId) + Buffer.byteLength(sk) + 2 * 21 + 16;
}

/** Where the latest match up to some revision can be: at `bound` or below, and whether at `bound` for sure. */
export interface MatchBound {
  bound: number;
  /** The event at `bound` matches (the selector alone: time bounds are not known to the items). */
  matches: boolean;
}

/**
 * For revisions `cap` up to the `lt` read before this call: a revision no event matching
 * `selector` lies above, among events up to `cap`. One consistent BatchGetItem of the selector's
 * equality values; every cap is then answered from the same items. Below the bound the base
 * table has the last word, except where the items prove the event at the bound a match.
 */
export async function matchBounds(ctx: StoreContext, dbId: string, selector: Selector): Promise<(cap: number) => MatchBound> {
  const sks = new Set<string>();
  collectEqualities(selector, sks);
  const items = sks.size === 0 ? [] : await batchGet(ctx, [...sks].map((sk) => itemKey(dbId, sk)), [A.sk, A.revision, A.prev]);
  const bySk = new Map(items.map((item) => [item[A.sk] as string, item]));
  const walk = (s: Selector, cap: number): MatchBound => {
    switch (s.type) {
      case 'equals':
        // Extensions have index items instead (extension-read.ts); here they bound nothing.
        if (extensionName(s.attr) !== undefined) return { bound: cap, matches: false };
        return latestUpTo(bySk.get(latestSk(s.attr as BuiltInAttr, s.value)), cap);
      case 'starts_with':
        return { bound: cap, matches: false };
      case 'and': {
        if (s.selectors.length === 0) return { bound: cap, matches: false };
        const children = s.selectors.map((c) => walk(c, cap));
        const bound = Math.min(...children.map((c) => c.bound));
        // One event matches every branch only if every branch proves that very event.
        return { bound, matches: children.every((c) => c.matches && c.bound === bound) };
      }
      case 'or': {
        const children = s.selectors.map((c) => walk(c, cap));
        const bound = Math.max(0, ...children.map((c) => c.bound));
        return { bound, matches: children.some((c) => c.matches && c.bound === bound) };
      }
    }
  };
  return (cap) => (cap <= 0 ? { bound: 0, matches: false } : walk(selector, cap));
}

function collectEqualities(selector: Selector, into: Set<string>): void {
  if (selector.type === 'equals') {
    if (extensionName(selector.attr) === undefined) into.add(latestSk(selector.attr as BuiltInAttr, selector.value));
  }
  else if (selector.type === 'and' || selector.type === 'or') for (const child of selector.selectors) collectEqualities(child, into);
}

/**
 * The latest revision up to `cap` of the item's value. The item accounts for every event up to
 * `cap`, so no event of the value lies between its `rev` and `cap`; nor between `prev` and
 * `rev`. A `rev` above `cap` with no usable `prev` leaves only `cap` as the bound.
 */
function latestUpTo(item: Item | undefined, cap: number): MatchBound {
  if (!item) return { bound: 0, matches: false };
  const rev = num(item[A.revision]);
  if (rev <= cap) return { bound: rev, matches: true };
  const prev = item[A.prev];
  if (typeof prev === 'number' && prev <= cap) return { bound: prev, matches: prev > 0 };
  return { bound: cap, matches: false };
}
