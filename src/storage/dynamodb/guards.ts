/**
 * Guards of appends, checked exactly: the events after a guard's basis are read consistently
 * from the base table, never from a GSI. The head condition of the commit then makes the check
 * still true at write time (append.ts), so check-then-commit is serializable.
 */
import { anyOf, matchesSelector, type Selector, type SelectableEvent } from '../../core/selectors.ts';
import type { AppendGuard } from '../types.ts';
import { queryItems } from './client.ts';
import type { StoreContext } from './context.ts';
import { itemEvent, itemMatches, type EventFilter } from './filters.ts';
import { num } from './items.ts';
import { A } from './keys.ts';
import { rangeInput } from './scan.ts';

/** An append as far as its guard goes: the guard holds for revisions (basis, checkedThrough]. */
export interface Guarded {
  request: { guard?: AppendGuard };
  checkedThrough: number;
}

/**
 * Which of the appends an event after their checked revisions, up to `head`, breaks. One
 * consistent query covers them all: the revisions after the earliest of them, filtered to the
 * union of their scopes. Appends found intact are marked checked through `head`.
 */
export async function brokenGuards<T extends Guarded>(ctx: StoreContext, dbId: string, appends: readonly T[], head: number): Promise<Set<T>> {
  const broken = new Set<T>();
  const open: T[] = [];
  for (const a of appends) {
    const { guard } = a.request;
    if (!guard || a.checkedThrough >= head) continue;
    // Revisions are dense: something is there, and a scope of the whole database takes anything.
    if (guard.scopes.some((scope) => scope === undefined)) broken.add(a);
    else if (guard.scopes.length > 0) open.push(a);
  }
  if (open.length > 0) {
    const from = Math.min(...open.map((a) => a.checkedThrough)) + 1;
    const filter: EventFilter = { selector: anyOf(open.flatMap((a) => a.request.guard!.scopes as Selector[])) };
    const input = rangeInput(ctx, dbId, from, head, true, filter, [A.revision, A.source, A.type, A.subject]);
    for await (const item of queryItems(ctx, input, 100)) {
      if (!itemMatches(item, filter)) continue;
      const revision = num(item[A.revision]);
      const event = itemEvent(item, filter.selector);
      for (const a of open) if (revision > a.checkedThrough && inScope(a.request.guard!, event)) broken.add(a);
    }
  }
  for (const a of appends) if (!broken.has(a)) a.checkedThrough = Math.max(a.checkedThrough, head);
  return broken;
}

/** Whether an event lies in one of the guard's scopes (`undefined` is the whole database). */
export function inScope(guard: AppendGuard, event: SelectableEvent): boolean {
  return guard.scopes.some((scope) => scope === undefined || matchesSelector(scope, event));
}
