/**
 * Appending a transaction: constraints are evaluated at a basis revision, then the store writes
 * the events atomically with a guard that no event in a constrained scope arrived after that
 * basis. If one did, the constraints are evaluated again at the new head.
 */
import { AlreadyExistsError, FailedPreconditionError, ResourceExhaustedError } from '../core/errors.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../core/retry.ts';
import { assertEventSemantics, isSameEvent, parseStoredEvent, type CloudEvent, type RawEvent } from '../core/events.ts';
import {
  breakingAfter,
  constraintToWire,
  findViolations,
  guardScopes,
  type ConstraintViolation,
  type RevisionConstraint,
} from '../core/constraints.ts';
import type { Selector } from '../core/selectors.ts';
import type { EventStore } from '../storage/types.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';
import { eventsQuota } from './access/quotas.ts';
import { ackCheckpoint, behind, consumerOfAck, type ConsumerAck } from './subscriptions/consumer-ack.ts';

export interface AppendResult {
  /** Revision of the transaction's last event. */
  revision: number;
  events_count: number;
  /** Set when every event was already stored: a retry, answered with the original revisions. */
  replayed?: true;
  /** Set for a dry run: the revisions the events would get; nothing was written. */
  dry_run?: true;
}

export interface AppendOptions {
  /** Check everything, write nothing, and answer with the revisions the events would get. */
  dryRun?: boolean;
  /** Moves a consumer's position in the same transaction as the events (consumer-ack.ts). */
  consumerAck?: ConsumerAck;
}

/**
 * Guard failures mean a concurrent writer touched a constrained scope; each retry re-evaluates
 * against a newer head, so a bounded number suffices unless the scope is under constant fire.
 */
const GUARD_RETRIES: RetryPolicy = { maxAttempts: 51 };

export async function appendEvents(
  ctx: FactumContext,
  database: string,
  events: CloudEvent[],
  constraints: RevisionConstraint[] = [],
  options: AppendOptions = {},
): Promise<AppendResult> {
  assertEventSemantics(events);
  await requireDatabase(ctx, database);
  const { consumerAck } = options;
  const consumer = consumerAck && (await consumerOfAck(ctx, database, consumerAck, events.length));
  const quota = await eventsQuota(ctx, database);

  return withRetries(GUARD_RETRIES, { what: `append to "${database}"`, why: 'concurrent changes in its constrained scope', details: { database } }, async () => {
    // A retry of a stored transaction must be recognised before constraints, which its own
    // earlier success may now break.
    const replay = replayOf(events, await ctx.store.findByKeys(database, events));
    if (replay) return done(replay);

    const head = (await requireDatabase(ctx, database)).latest_revision;
    if (quota !== null && head + events.length > quota) throw overQuota(database, quota, head, events.length);
    const violations = await evaluate(ctx.store, database, constraints, head);
    if (violations.length > 0) throw await violationError(ctx.store, database, violations, head);
    const checkpoint = consumer && (await ackCheckpoint(ctx, database, consumer, consumerAck!, head));
    if (options.dryRun) return done<AppendResult>({ revision: head + events.length, events_count: events.length, dry_run: true });

    const scopes = guardScopes(constraints);
    const outcome = await ctx.store.appendTransaction(database, {
      events,
      recordedtime: ctx.now().toISOString(),
      guard: scopes.length > 0 ? { basis: head, scopes } : undefined,
      checkpoint,
      // Revisions are dense from 1, so the last revision is the number of events stored.
      maxRevision: quota ?? undefined,
    });
    switch (outcome.kind) {
      case 'appended':
        ctx.subscriptions?.appended(database);
        return done<AppendResult>({ revision: outcome.lastRevision, events_count: events.length });
      case 'duplicates': {
        // A concurrent writer stored these keys first: a retry of the same transaction, or a clash.
        const again = replayOf(events, outcome.existing);
        return again ? done(again) : tryAgain;
      }
      case 'guard_failed':
        return tryAgain;
      case 'checkpoint_behind':
        throw behind(database, consumerAck!, outcome.position);
      case 'limit_exceeded':
        // Concurrent appends filled the quota since the check above.
        throw overQuota(database, quota!, outcome.head, events.length);
    }
  });
}

/** The refusal of an append that would take the database past its events quota. */
function overQuota(database: string, quota: number, used: number, adding: number): ResourceExhaustedError {
  return new ResourceExhaustedError(`database "${database}" holds ${used} of its quota of ${quota} events: the ${adding} of this append would pass it`, {
    database,
    events_quota: quota,
    events_used: used,
    events_in_request: adding,
  });
}

/**
 * Decides what stored events with the same source + id mean: all present and identical is a
 * retry; any present but different, or only some present, is a conflicting reuse of an id.
 */
function replayOf(events: CloudEvent[], existing: Array<RawEvent | undefined>): AppendResult | undefined {
  if (existing.every((e) => e === undefined)) return undefined;
  const conflicts: Array<{ index: number; source: string; id: string; revision?: number; reason: string }> = [];
  existing.forEach((raw, index) => {
    const { source, id } = events[index]!;
    if (raw === undefined) conflicts.push({ index, source, id, reason: 'not stored, while other events of the transaction are' });
    else if (!isSameEvent(events[index]!, parseStoredEvent(raw))) {
      conflicts.push({ index, source, id, revision: raw.revision, reason: 'a different event with this source and id is stored' });
    }
  });
  if (conflicts.length > 0) {
    throw new AlreadyExistsError(
      `events[${conflicts[0]!.index}]: source "${conflicts[0]!.source}" and id "${conflicts[0]!.id}" are already used by another event`,
      { conflicts },
    );
  }
  return { revision: Math.max(...existing.map((e) => e!.revision)), events_count: events.length, replayed: true };
}

/** The revision each constraint is checked against, at `head`. */
async function evaluate(
  store: EventStore,
  database: string,
  constraints: readonly RevisionConstraint[],
  head: number,
): Promise<ConstraintViolation[]> {
  const scopeRevisions = await Promise.all(
    constraints.map((c) => (c.selector ? latestMatching(store, database, c.selector, head) : head)),
  );
  return findViolations(constraints, scopeRevisions);
}

async function latestMatching(store: EventStore, database: string, selector: Selector, head: number): Promise<number> {
  const page = await store.query(database, { selector, toRevision: head, direction: 'backward', limit: 1 });
  return page.events[0]?.revision ?? 0;
}

async function violationError(
  store: EventStore,
  database: string,
  violations: ConstraintViolation[],
  head: number,
): Promise<FailedPreconditionError> {
  const reported = await Promise.all(
    violations.map(async ({ index, constraint, actualRevision }) => {
      const after = breakingAfter(constraint);
      let firstBreakingEvent: { revision: number; type: string; subject: string | null } | null = null;
      if (after !== undefined && actualRevision > after) {
        const page = await store.query(database, {
          selector: constraint.selector,
          fromRevision: after + 1,
          toRevision: head,
          direction: 'forward',
          limit: 1,
        });
        const raw = page.events[0];
        if (raw) {
          const event = parseStoredEvent(raw);
          firstBreakingEvent = { revision: event.revision, type: event.type, subject: event.subject ?? null };
        }
      }
      return {
        index,
        constraint: constraintToWire(constraint),
        actual_revision: actualRevision,
        first_breaking_event: firstBreakingEvent,
        message: describeViolation(constraint, actualRevision),
      };
    }),
  );
  return new FailedPreconditionError(
    reported.length === 1
      ? `constraints[${reported[0]!.index}] failed: ${reported[0]!.message}`
      : `${reported.length} constraints failed: ${reported.map((r) => `constraints[${r.index}]: ${r.message}`).join('; ')}`,
    { basis_revision: head, violations: reported },
  );
}

function describeViolation(constraint: RevisionConstraint, actual: number): string {
  const scope = constraint.selector ? 'latest matching revision' : 'latest revision';
  switch (constraint.type) {
    case 'min_revision':
      return `${scope} is ${actual}, below the minimum ${constraint.revision}`;
    case 'max_revision':
      return `${scope} is ${actual}, above the maximum ${constraint.revision}`;
    case 'revision_range':
      return `${scope} is ${actual}, outside ${constraint.min}..${constraint.max}`;
  }
}
