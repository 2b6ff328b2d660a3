/**
 * Exact queries: they see every event committed before they started, whatever the GSIs lag and
 * whatever the servers' clocks say, because they read only the base table, consistently.
 *
 * What keeps them cheap is the latest-value items (latest.ts). Up to `lt`, the items bound
 * where a match can be: nothing matches `subject = alice` after alice's latest event, nothing
 * matches `type = T AND subject = alice` after the earlier of the two values' latest events,
 * nothing matches an OR after the latest of its branches. So a query reads the range only up to
 * that bound, plus the revisions after `lt`, which no item covers yet (normally none: appends
 * move `lt` in their own transaction). Backwards, where the items prove the events at the
 * bounds matches (an equality, an OR of them), the latest two matches are read by key: the
 * constraint check "latest event matching X" costs one GetItem, and knows whether more match.
 */
import type { RawEvent } from '../../core/events.ts';
import type { EventPage } from '../types.ts';
import { notFound, type Live } from './catalog.ts';
import { startCatchUp } from './catch-up.ts';
import { getItem } from './client.ts';
import type { StoreContext } from './context.ts';
import type { EventFilter } from './filters.ts';
import { A, eventSk } from './keys.ts';
import { matchBounds, type MatchBound } from './latest.ts';
import { scanMatches, scanRanges, type RevisionRange } from './scan.ts';

export interface ExactRange extends RevisionRange {
  forward: boolean;
  filter: EventFilter;
  limit: number;
}

/**
 * Revisions after `lt` beyond this many make a read start a catch-up itself: whoever should
 * have (the server that committed them) may have stopped.
 */
const UNCOVERED_REVISIONS_BEFORE_CATCH_UP = 100;

export async function exactQuery(ctx: StoreContext, found: Live, range: ExactRange): Promise<EventPage> {
  const { inc, latestThrough } = found;
  const { from, to, forward, filter, limit } = range;
  if (!filter.selector) return scanRanges(ctx, inc.dbId, [{ from, to }], forward, filter, limit);
  if (to - latestThrough > UNCOVERED_REVISIONS_BEFORE_CATCH_UP) startCatchUp(ctx, inc);

  // The items are read after `lt`, so they account for every event up to it.
  const covered = Math.min(to, latestThrough);
  const boundAt = covered >= from ? await matchBounds(ctx, inc.dbId, filter.selector) : () => ({ bound: 0, matches: false });
  const uncovered: RevisionRange = { from: Math.max(from, latestThrough + 1), to };
  if (forward) return scanRanges(ctx, inc.dbId, [{ from, to: boundAt(covered).bound }, uncovered], true, filter, limit);

  const events = await scanMatches(ctx, inc.dbId, [uncovered], false, filter, limit + 1);
  const provable = filter.fromTimeMs === undefined && filter.toTimeMs === undefined;
  for (let cap = covered; events.length <= limit; ) {
    const { bound, matches }: MatchBound = boundAt(cap);
    if (bound < from) break;
    if (!(matches && provable)) {
      events.push(...(await scanMatches(ctx, inc.dbId, [{ from, to: bound }], false, filter, limit + 1 - events.length)));
      break;
    }
    // A proven match past the limit only says that more match: no need to read it.
    if (events.length === limit) return { events, hasMore: true };
    events.push(await eventAt(ctx, inc.dbId, inc.name, bound));
    cap = bound - 1;
  }
  return { events: events.slice(0, limit), hasMore: events.length > limit };
}

async function eventAt(ctx: StoreContext, dbId: string, name: string, revision: number): Promise<RawEvent> {
  const item = await getItem(ctx, dbId, eventSk(revision), [A.json]);
  // Below the head and gone: the database was deleted while this query ran.
  if (!item) throw notFound(name);
  return { revision, json: item[A.json] as string };
}
