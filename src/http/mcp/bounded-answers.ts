/**
 * The answers that could grow without bound, kept within what an agent can read: a page of
 * events, a rendered view, the events a command appended. An agent's context is small, and a
 * tool call must not make the server build (and send) a huge answer.
 */
import { ResourceExhaustedError } from '../../core/errors.ts';
import { parseStoredEvent, type RawEvent } from '../../core/events.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { queryEvents, type QueryRequest } from '../../usecases/query-events.ts';
import type { ProcessResult } from '../../usecases/state-changes.ts';
import type { RenderResult } from '../../usecases/state-views.ts';
import { jsonBytes, MAX_ANSWER_BYTES } from './answers.ts';

/** Events in one page: the API allows 10 000, far more than an agent reads at once. */
export const MAX_PAGE_EVENTS = 100;
/** Bytes of events' JSON in one page: a page is cut short to fit, its cursor going on after it. */
export const MAX_PAGE_BYTES = 256 * 1024;
/** Bytes of a rendered view in one answer. */
export const MAX_RENDER_BYTES = 256 * 1024;

/**
 * One page of a query (already checked against QueryRequest), at most MAX_PAGE_EVENTS events
 * and MAX_PAGE_BYTES. A page over the bytes is asked for again with the limit that fits, so its
 * `next_cursor` is the use case's own and paging goes on exactly after the last event given.
 */
export async function boundedQueryPage(ctx: FactumContext, database: string, request: QueryRequest) {
  // The cursor does not depend on the limit, so lowering it keeps the agent's cursors valid.
  const limit = Math.min(request.limit ?? MAX_PAGE_EVENTS, MAX_PAGE_EVENTS);
  let page = await queryEvents(ctx, database, { ...request, limit });
  const fitting = eventsWithin(page.events, MAX_PAGE_BYTES);
  // A first page may read at a newer head the second time; it is still a consistent page, and
  // the answer's own bound catches the rare one that no longer fits.
  if (fitting < page.events.length) page = await queryEvents(ctx, database, { ...request, limit: fitting });
  return { events: page.events.map(parseStoredEvent), has_more: page.has_more, next_cursor: page.next_cursor, revision: page.revision };
}

/** How many of the events, from the first, fit in `bytes` (at least one: an event is never split). */
function eventsWithin(events: RawEvent[], bytes: number): number {
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    total += Buffer.byteLength(events[i]!.json) + 1;
    if (total > bytes) return Math.max(i, 1);
  }
  return events.length;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const TEXT_TYPE = /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:xml|yaml|javascript|x-ndjson)\s*(?:;|$))/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A rendered view as an answer: JSON content as the value itself, other text as a string,
 * anything else (or text that is not UTF-8) as base64. Over MAX_RENDER_BYTES it is refused,
 * pointing to the HTTP route, which streams any size.
 */
export function renderedAnswer(database: string, result: RenderResult) {
  if (result.notModified) throw new Error('unreachable: rendered without If-None-Match');
  const { name, version, revision, contentType, content } = result;
  if (content.byteLength > MAX_RENDER_BYTES) {
    throw new ResourceExhaustedError(
      `state view "${name}" rendered ${content.byteLength} bytes, over the ${MAX_RENDER_BYTES} an MCP answer carries; read it at GET /databases/${database}/state-views/${name}`,
      { bytes: content.byteLength, limit: MAX_RENDER_BYTES },
    );
  }
  const base = { name, version, revision, content_type: contentType };
  let text: string | undefined;
  if (JSON_TYPE.test(contentType) || TEXT_TYPE.test(contentType)) {
    try {
      text = strictUtf8.decode(content);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) return { ...base, content: Buffer.from(content).toString('base64'), content_encoding: 'base64' };
  if (JSON_TYPE.test(contentType)) {
    try {
      return { ...base, content: JSON.parse(text) as unknown };
    } catch {
      // A view that says JSON and is not: shown as the text it is.
    }
  }
  return { ...base, content: text };
}

/**
 * A processed command as the API answers it. Its events are already stored, so an answer over
 * the bound lists them by their keys instead of failing, which would invite sending the
 * command again; `events_abridged` says so, and query_events reads them in full.
 */
export function processedAnswer(result: Extract<ProcessResult, { success: true }>) {
  const { attempts: _attempts, ...answer } = result;
  if (jsonBytes(answer) <= MAX_ANSWER_BYTES) return answer;
  const events = answer.events.map(({ revision, source, id, type, subject }) => ({ revision, source, id, type, subject }));
  return { ...answer, events, events_abridged: true };
}
