/**
 * A query answered as a stream instead of pages: every matching event, however many, in
 * constant memory. It is the paged query run page after page on its own cursor, so the rules,
 * the defaults and the pinned revision (the head when the first page was read) are the paged
 * query's own; only the page limit is the stream's.
 */
import { queryEvents, type QueryRequest, type QueryResult } from '../query-events.ts';
import type { FactumContext } from '../context.ts';
import type { FrameSink } from './frames.ts';
import { roomIn, streamSettings } from './flow.ts';

/** Events read per page of a streamed query. */
const STREAM_PAGE = 1000;

export type QueryStream = (sink: FrameSink, signal: AbortSignal) => Promise<void>;

/**
 * Reads the first page (so a bad query or a missing database is still an HTTP error), and
 * returns what streams the whole answer: an `event` frame per event, then `complete` with the
 * revision every page reads at, or an `error` frame if a later page fails. `cap`, when given,
 * is the most events to send (`complete` then carries the cursor to go on from).
 */
export async function openQueryStream(ctx: FactumContext, database: string, request: QueryRequest, cap?: number): Promise<QueryStream> {
  const pageLimit = (sent: number) => Math.min(STREAM_PAGE, cap === undefined ? STREAM_PAGE : cap - sent);
  const first = await queryEvents(ctx, database, { ...request, limit: pageLimit(0) });
  const settings = streamSettings(ctx);
  return async (sink, signal) => {
    const stopped = AbortSignal.any([signal, sink.gone]);
    let page: QueryResult = first;
    let sent = 0;
    try {
      for (;;) {
        for (const event of page.events) {
          if (!(await roomIn(sink, settings, stopped))) return;
          sink.write({ type: 'event', event });
          sent++;
        }
        if (page.next_cursor === null || (cap !== undefined && sent >= cap)) break;
        page = await queryEvents(ctx, database, { ...request, limit: pageLimit(sent), cursor: page.next_cursor });
      }
      sink.write({ type: 'complete', revision: first.revision, events: sent, ...(page.next_cursor !== null && { next_cursor: page.next_cursor }) });
    } catch (error) {
      if (!sink.gone.aborted) sink.write({ type: 'error', error });
    }
  };
}
