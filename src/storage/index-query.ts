/** Answers an EventQuery from an EventIndex, reading only the events on the page. */
import type { RawEvent } from '../core/events.ts';
import type { EventIndex } from './event-index.ts';
import type { EventPage, EventQuery } from './types.ts';

export async function pageFromIndex(
  index: EventIndex,
  query: EventQuery,
  read: (revisions: number[]) => Promise<RawEvent[]>,
): Promise<EventPage> {
  const revisions: number[] = [];
  let hasMore = false;
  for (const rev of index.scan({
    selector: query.selector,
    fromRevision: query.fromRevision ?? 1,
    toRevision: query.toRevision ?? index.head,
    fromTimeMs: query.fromTimeMs,
    toTimeMs: query.toTimeMs,
    direction: query.direction,
  })) {
    if (revisions.length === query.limit) {
      hasMore = true;
      break;
    }
    revisions.push(rev);
  }
  return { events: revisions.length ? await read(revisions) : [], hasMore };
}
