/**
 * Reading events: selector queries with revision and effective-time ranges, and plain paging
 * through a database. A query's first page pins the database's head revision in its cursor, so
 * later pages neither skip nor repeat events while writers keep appending.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError, NotFoundError } from '../core/errors.ts';
import type { RawEvent } from '../core/events.ts';
import { anyOf, parseSelector, type Selector } from '../core/selectors.ts';
import type { ApiSchemas } from '../schema/api-types.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

/** A query as openapi.yaml's QueryRequest describes it. */
export type QueryRequest = ApiSchemas['QueryRequest'];

export interface QueryResult {
  events: RawEvent[];
  has_more: boolean;
  next_cursor: string | null;
  /** The head revision the query (and all its pages) reads at. */
  revision: number;
}

interface CursorState {
  /** Last revision returned; the next page continues after it in the query's direction. */
  last: number;
  /** Head revision pinned by the first page. */
  at: number;
  /** Fingerprint of the query, so a cursor is not replayed against a different query. */
  q: string;
}

/**
 * Runs a query (checked against openapi.yaml's QueryRequest here, so every caller — the API,
 * the console, a CLI — gets the same rules and defaults) and answers one page.
 */
export async function queryEvents(ctx: FactumContext, database: string, request: QueryRequest): Promise<QueryResult> {
  assertSchema<QueryRequest>('QueryRequest', request);
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const selector = requestSelector(request);
  const direction = request.direction ?? 'forward';
  // The schema filled in the default.
  const limit = request.limit!;
  const fingerprint = queryFingerprint(request);
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, fingerprint);
  const at = cursor?.at ?? head;

  const range = request.revision_range;
  if (range?.start !== undefined && range.end !== undefined && range.start > range.end) {
    throw new InvalidArgumentError(`revision_range.start (${range.start}) is after revision_range.end (${range.end})`, { field: 'revision_range.start' });
  }
  const fromTimeMs = timeBound(request.effective_time_range?.start, 'effective_time_range.start');
  const toTimeMs = timeBound(request.effective_time_range?.end, 'effective_time_range.end');
  if (fromTimeMs !== undefined && toTimeMs !== undefined && fromTimeMs > toTimeMs) {
    throw new InvalidArgumentError('effective_time_range.start is after effective_time_range.end', { field: 'effective_time_range.start' });
  }
  let fromRevision = request.revision_range?.start ?? 1;
  let toRevision = Math.min(request.revision_range?.end ?? at, at);
  if (cursor) {
    if (direction === 'forward') fromRevision = Math.max(fromRevision, cursor.last + 1);
    else toRevision = Math.min(toRevision, cursor.last - 1);
  }
  const page = await ctx.store.query(database, {
    selector,
    fromRevision,
    toRevision,
    fromTimeMs,
    toTimeMs,
    direction,
    limit,
  });
  const last = page.events.at(-1)?.revision;
  return {
    events: page.events,
    has_more: page.hasMore,
    next_cursor: page.hasMore && last !== undefined ? encodeCursor({ last, at, q: fingerprint }) : null,
    revision: at,
  };
}

/** The `selectors` list is OR-ed; a single tree may also come as `selector`. */
function requestSelector(request: QueryRequest): Selector | undefined {
  const parsed = (request.selectors ?? []).map((s, i) => parseSelector(s, `selectors[${i}]`));
  if (request.selector !== undefined) parsed.push(parseSelector(request.selector, 'selector'));
  return parsed.length > 0 ? anyOf(parsed) : undefined;
}

function timeBound(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`${field} must be an RFC 3339 timestamp`, { field, value });
  return ms;
}

function queryFingerprint(request: QueryRequest): string {
  const { cursor: _c, limit: _l, ...shape } = request;
  return createHash('sha256').update(JSON.stringify(shape)).digest('base64url').slice(0, 12);
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(cursor: string, fingerprint: string): CursorState {
  let state: Partial<CursorState>;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorState>;
  } catch {
    state = {};
  }
  if (!Number.isSafeInteger(state.last) || !Number.isSafeInteger(state.at) || typeof state.q !== 'string') {
    throw new InvalidArgumentError('cursor is not one this server issued', { field: 'cursor' });
  }
  if (state.q !== fingerprint) {
    throw new InvalidArgumentError('cursor belongs to a different query; send the same query with it', { field: 'cursor' });
  }
  return state as CursorState;
}

export interface EventListing {
  events: RawEvent[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Pages through a whole database in revision order; `next_cursor` is the last revision given. */
export async function listEvents(ctx: FactumContext, database: string, after: number, limit: number): Promise<EventListing> {
  await requireDatabase(ctx, database);
  const page = await ctx.store.query(database, { fromRevision: after + 1, direction: 'forward', limit });
  const last = page.events.at(-1)?.revision;
  return { events: page.events, has_more: page.hasMore, next_cursor: page.hasMore && last ? String(last) : null };
}

export async function getEvent(ctx: FactumContext, database: string, revision: number): Promise<RawEvent> {
  await requireDatabase(ctx, database);
  const raw = await ctx.store.readEvent(database, revision);
  if (!raw) throw new NotFoundError(`database "${database}" has no event at revision ${revision}`, { database, revision });
  return raw;
}
