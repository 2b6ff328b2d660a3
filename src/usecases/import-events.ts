/**
 * Importing stored events (an export of another database) with their revisions and recorded
 * times. The event exported at revision r is stored at r + offset: offset 0 restores a database
 * exactly, another offset appends a history after events the target already holds.
 *
 * A batch must continue the target densely: its first event not yet stored lands at the head + 1.
 * Each run of events sharing a recorded time is appended as one transaction with that recorded
 * time, guarded so that nothing else was appended since the head was read. A batch whose leading
 * events are already stored, identical and where the offset puts them, is a retry (of a request
 * whose answer was lost, or of an import that was interrupted): those are skipped, the rest
 * appended, so sending a batch again never duplicates an event.
 */
import { AlreadyExistsError, FactumError, FailedPreconditionError, InvalidArgumentError } from '../core/errors.ts';
import { assertEventSemantics, isSameEvent, parseStoredEvent, type CloudEvent, type RawEvent, type StoredEvent } from '../core/events.ts';
import type { ApiSchemas } from '../schema/api-types.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

export interface ImportOptions {
  /**
   * Where the events go: the event exported at revision r is stored at r + offset. Unset: where
   * the batch's first event already is, else right after the head.
   */
  offset?: number;
  /** Check everything, write nothing, and answer what the import would do. */
  dryRun?: boolean;
}

/** What an import answers (openapi.yaml's ImportResponse). */
export type ImportResult = ApiSchemas['ImportResponse'];

/**
 * Checks a batch like an append (the StoredEvent schema, the CloudEvents rules beyond it), then
 * stores what is not stored yet. Nothing of a batch that fails a check is written; a run refused
 * at its write (another writer appended meanwhile) leaves the runs before it stored, whole.
 */
export async function importEvents(ctx: FactumContext, database: string, events: StoredEvent[], options: ImportOptions = {}): Promise<ImportResult> {
  await requireDatabase(ctx, database);
  const cloudEvents = checkBatch(events);
  if (options.offset !== undefined && !Number.isSafeInteger(options.offset)) {
    throw new InvalidArgumentError('offset must be an integer', { field: 'offset' });
  }
  const existing = await ctx.store.findByKeys(database, cloudEvents);
  const stored = storedPrefix(events, cloudEvents, existing, options.offset);
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const offset = options.offset ?? stored.offset ?? head + 1 - events[0]!.revision;
  const rest = events.slice(stored.count);
  const base = { already_stored: stored.count, offset };
  if (rest.length === 0) return { revision: head, imported: 0, transactions: 0, ...base, ...(options.dryRun ? { dry_run: true as const } : {}) };

  const next = rest[0]!.revision + offset;
  if (next !== head + 1) {
    throw new FailedPreconditionError(
      `the import continues at revision ${next}, but the latest revision of "${database}" is ${head}: ${next > head + 1 ? `revisions ${head + 1} to ${next - 1} are missing` : 'other events were appended since the import began'}`,
      { latest_revision: head, expected_revision: next, offset, index: stored.count },
    );
  }
  const runs = recordedTimeRuns(rest, cloudEvents.slice(stored.count));
  if (options.dryRun) return { revision: head + rest.length, imported: rest.length, transactions: runs.length, dry_run: true, ...base };

  let at = head;
  let transactions = 0;
  for (const run of runs) {
    transactions += await appendRun(ctx, database, run, at);
    at += run.events.length;
  }
  return { revision: at, imported: rest.length, transactions, ...base };
}

/** The batch's events without the two attributes the database assigns, once they are checked. */
function checkBatch(events: StoredEvent[]): CloudEvent[] {
  if (events.length === 0) throw new InvalidArgumentError('the batch holds no events', { field: 'events' });
  const cloudEvents = events.map((event, index) => {
    assertSchema<StoredEvent>('StoredEvent', event, `events[${index}]`);
    const { revision, recordedtime, ...cloudEvent } = event;
    const expected = events[0]!.revision + index;
    if (revision !== expected) {
      throw new InvalidArgumentError(`events[${index}] has revision ${revision} where ${expected} follows: the revisions of a batch must be dense`, {
        index,
        field: 'revision',
        expected_revision: expected,
      });
    }
    // The schema's date-time format accepts what Date cannot always read; the effective time of
    // an event without `time` is its recorded time, so it must be readable.
    if (Number.isNaN(Date.parse(recordedtime))) throw new InvalidArgumentError(`events[${index}].recordedtime is not a readable time`, { index, field: 'recordedtime' });
    return cloudEvent as CloudEvent;
  });
  assertEventSemantics(cloudEvents);
  return cloudEvents;
}

/**
 * How many leading events of the batch are stored already, and the offset they were stored at.
 * Stored events must be identical (recorded time included) and lie densely at one offset; no
 * event after them may be stored, anywhere.
 */
function storedPrefix(events: StoredEvent[], cloudEvents: CloudEvent[], existing: Array<RawEvent | undefined>, wanted: number | undefined): { count: number; offset?: number } {
  let count = 0;
  let offset = wanted;
  while (count < events.length && existing[count] !== undefined) {
    const stored = parseStoredEvent(existing[count]!);
    const event = events[count]!;
    offset ??= stored.revision - event.revision;
    if (!isSameEvent(cloudEvents[count]!, stored) || stored.recordedtime !== event.recordedtime) {
      throw new AlreadyExistsError(`events[${count}]: source "${event.source}" and id "${event.id}" are used by a different event, at revision ${stored.revision}`, {
        index: count,
        revision: stored.revision,
      });
    }
    if (stored.revision !== event.revision + offset) {
      throw new FailedPreconditionError(
        `events[${count}] (revision ${event.revision}) is stored at revision ${stored.revision}, not at ${event.revision + offset}: it was imported with offset ${stored.revision - event.revision}`,
        { index: count, revision: stored.revision, offset: stored.revision - event.revision },
      );
    }
    count++;
  }
  const later = existing.findIndex((raw, index) => index > count && raw !== undefined);
  if (later !== -1) {
    throw new AlreadyExistsError(
      `events[${later}]: source "${events[later]!.source}" and id "${events[later]!.id}" are already stored, at revision ${existing[later]!.revision}, while events[${count}] is not`,
      { index: later, revision: existing[later]!.revision },
    );
  }
  return { count, offset };
}

interface Run {
  events: CloudEvent[];
  recordedtime: string;
  /** Index of the run's first event in the request's batch. */
  index: number;
}

/** Consecutive events sharing a recorded time: one transaction of the exported database (or several that shared a millisecond). */
function recordedTimeRuns(events: StoredEvent[], cloudEvents: CloudEvent[]): Run[] {
  const runs: Run[] = [];
  events.forEach((event, i) => {
    const last = runs.at(-1);
    if (last && last.recordedtime === event.recordedtime) last.events.push(cloudEvents[i]!);
    else runs.push({ events: [cloudEvents[i]!], recordedtime: event.recordedtime, index: i });
  });
  return runs;
}

/**
 * Appends a run after `head` as one transaction, guarded against any append since. A store may
 * refuse a transaction as too large where the exporting one took it (DynamoDB takes 49 events,
 * the file store any number); such refusals come before anything is written, and the run is then
 * split in halves with the same recorded time, which reads back the same: revisions and recorded
 * times are what a database shows of its transactions. Returns the transactions written.
 */
async function appendRun(ctx: FactumContext, database: string, run: Run, head: number): Promise<number> {
  let outcome;
  try {
    outcome = await ctx.store.appendTransaction(database, { events: run.events, recordedtime: run.recordedtime, guard: { basis: head, scopes: [undefined] } });
  } catch (error) {
    if (run.events.length < 2 || !isSizeRefusal(error)) throw error;
    const half = Math.ceil(run.events.length / 2);
    const first = { ...run, events: run.events.slice(0, half) };
    const second = { ...run, events: run.events.slice(half), index: run.index + half };
    return (await appendRun(ctx, database, first, head)) + (await appendRun(ctx, database, second, head + half));
  }
  switch (outcome.kind) {
    case 'appended':
      // Live subscribers see imported events as they see appended ones.
      ctx.subscriptions?.appended(database);
      return 1;
    case 'guard_failed':
      throw new FailedPreconditionError(`another writer appended to "${database}" during the import (its latest revision is now ${outcome.head}); nothing of events[${run.index}] on was written`, {
        latest_revision: outcome.head,
        index: run.index,
      });
    case 'duplicates': {
      const at = outcome.existing.findIndex((e) => e !== undefined);
      const event = run.events[at]!;
      throw new AlreadyExistsError(`events[${run.index + at}]: source "${event.source}" and id "${event.id}" were stored meanwhile, at revision ${outcome.existing[at]!.revision}`, {
        index: run.index + at,
        revision: outcome.existing[at]!.revision,
      });
    }
    case 'checkpoint_behind':
    case 'limit_exceeded':
      // An import asks for neither a checkpoint nor a limit; a store answering so is broken.
      throw new Error(`the store answered an import's append with ${outcome.kind}`);
  }
}

/**
 * A store's refusal of a transaction as a whole, for its number of events or its size: not of
 * one event in it (those name an `index`), which no split would help.
 */
function isSizeRefusal(error: unknown): boolean {
  if (!(error instanceof FactumError) || error.details.index !== undefined) return false;
  return error.code === 'PAYLOAD_TOO_LARGE' || (error.code === 'INVALID_ARGUMENT' && error.details.field === 'events');
}
