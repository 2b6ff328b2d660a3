/**
 * Committing appends: one TransactWriteItems for one or several appends to a database (group
 * commit, group-commit.ts). It updates the head item on the condition that it still holds the
 * head the events were numbered after, puts the events, and puts one uniqueness item per
 * source + id on the condition that it does not exist. The head item is the single point every
 * writer of a database passes, so revisions stay dense and unique across servers.
 *
 * Each append keeps its own guard and its own duplicates: guards are checked per append on the
 * base table before the commit (guards.ts), and an append whose uniqueness items fail is taken
 * out and answered alone while the others are sent again.
 */
import { InternalError } from '../../core/errors.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../../core/retry.ts';
import type { AppendOutcome, AppendRequest } from '../types.ts';
import { cancellationReasons, describeReasons, isRetryable, transact } from './client.ts';
import { composeCommit, type Commit as CommitOf } from './append-actions.ts';
import { live, lookup, notFound } from './catalog.ts';
import { startCatchUp } from './catch-up.ts';
import type { Incarnation, StoreContext, Uncovered } from './context.ts';
import { brokenGuards, type Guarded } from './guards.ts';
import { assertWithinLimits } from './items.ts';
import { A } from './keys.ts';
import { lookupKeys } from './read.ts';

/** One append waiting for, or taking part in, a group commit. */
export interface Member extends Guarded {
  request: AppendRequest;
  /** When it stops waiting (epoch ms): past it, it fails UNAVAILABLE without being sent. */
  deadline: number;
  /** To be committed in a transaction of its own: one shared with it failed for a reason no member could be blamed for. */
  alone: boolean;
  settle(outcome: AppendOutcome | Error): void;
}

/**
 * Attempts at a commit that other appends keep beating: 100 losses in a row give up. Each loss
 * means another append succeeded and the next attempt starts from the head that beat it, so the
 * first retry goes at once (a 1 ms ceiling rounds down to no wait); writers that keep losing
 * spread out over up to 50 ms.
 */
const LOST_RACES: RetryPolicy = { maxAttempts: 101, baseDelayMs: 1, maxDelayMs: 50 };

type Commit = CommitOf<Member>;

/** Where the commit stands: the incarnation, the head and `lt` it was built on. */
interface Basis {
  inc: Incarnation;
  head: number;
  latestThrough: number;
}

/** What a round leaves to do: the members it had no room for, and events written without their latest-value items. */
export interface RoundResult {
  later: Member[];
  uncovered?: { inc: Incarnation; commit: Uncovered };
}

/**
 * Commits `members` (appends to database `name`, in arrival order), settling each. Errors that
 * concern every member (the database is gone, DynamoDB is unavailable) are thrown for the caller
 * to settle them with.
 */
export async function commitRound(ctx: StoreContext, name: string, members: Member[]): Promise<RoundResult> {
  const inc = ctx.known.get(name) ?? (await lookup(ctx, name));
  if (!inc) throw notFound(name);
  let pending = members.filter((m) => withinLimits(inc, m));
  const empty = pending.some((m) => m.request.events.length === 0);
  const basis: Basis =
    inc.head === undefined || empty ? await live(ctx, name) : { inc, head: inc.head, latestThrough: inc.latestThrough ?? -1 };
  if (empty) {
    // Nothing to write: they are answered at the head just read, once their guards are checked.
    const emptyOnes = pending.filter((m) => m.request.events.length === 0);
    const broken = await brokenGuards(ctx, basis.inc.dbId, emptyOnes, basis.head);
    for (const m of emptyOnes) {
      if (pastLimit(m, basis.head)) continue;
      m.settle(broken.has(m) ? { kind: 'guard_failed', head: basis.head } : { kind: 'appended', firstRevision: basis.head + 1, lastRevision: basis.head });
    }
    pending = pending.filter((m) => m.request.events.length > 0);
  }

  let later: Member[] = [];
  let uncovered: RoundResult['uncovered'];
  const exhausted = { what: `append to "${name}"`, why: 'it lost to concurrent appends every time', details: { database: name } };
  await withRetries(LOST_RACES, exhausted, async () => {
    const broken = await brokenGuards(ctx, basis.inc.dbId, pending, basis.head);
    for (const m of broken) m.settle({ kind: 'guard_failed', head: basis.head });
    pending = pending.filter((m) => !broken.has(m) && !pastLimit(m, basis.head));
    if (pending.length === 0) return done(undefined);

    const commit = composeCommit(ctx.tableName, basis.inc.dbId, pending, basis.head, basis.latestThrough);
    later = [...pending.slice(commit.members.length), ...later];
    pending = commit.members;
    try {
      // Cancellations for conflicts or throttling alone are sent again in there, with backoff.
      await transact(ctx, commit.actions, exhausted.what, exhausted.details);
    } catch (error) {
      const outcome = await afterCancellation(ctx, name, basis, commit, error);
      if (outcome === 'alone') {
        for (const m of pending) m.alone = true;
        later = [...pending, ...later];
        pending = [];
        return done(undefined);
      }
      pending = pending.filter((m) => !outcome.answered.has(m));
      return tryAgain;
    }
    uncovered = published(ctx, basis, commit);
    return done(undefined);
  });
  return { later, uncovered };
}

/**
 * Settles an append that would pass its limit even as the first after `head`. The head
 * condition makes that final: a commit on an older head fails, and the head only grows.
 */
function pastLimit(member: Member, head: number): boolean {
  const { maxRevision, events } = member.request;
  if (maxRevision === undefined || head + events.length <= maxRevision) return false;
  member.settle({ kind: 'limit_exceeded', head });
  return true;
}

function withinLimits(inc: Incarnation, member: Member): boolean {
  try {
    assertWithinLimits(inc.dbId, member.request.events, member.request.recordedtime, member.request.checkpoint ? 1 : 0);
    return true;
  } catch (error) {
    member.settle(error as Error);
    return false;
  }
}

/**
 * Answers the members of a committed transaction and records the new head; returns its events
 * when their latest-value items are still to be written.
 */
function published(ctx: StoreContext, basis: Basis, commit: Commit): RoundResult['uncovered'] {
  const { inc } = basis;
  inc.head = commit.next;
  if (commit.latestInTransaction) inc.latestThrough = commit.next;
  let first = basis.head + 1;
  for (const m of commit.members) {
    const count = m.request.events.length;
    m.settle({ kind: 'appended', firstRevision: first, lastRevision: first + count - 1 });
    first += count;
  }
  if (commit.latestInTransaction) return undefined;
  return { inc, commit: commitEvents(basis.head, commit) };
}

/** The events of a commit, as a catch-up takes them. */
function commitEvents(head: number, commit: Commit): Uncovered {
  const events = commit.members.flatMap((m) => m.request.events).map((event, i) => ({ revision: head + 1 + i, event }));
  return { from: head + 1, to: commit.next, events };
}

/**
 * What a failed commit means. Duplicates are answered (and taken out of the group); a lost race
 * moves the basis to the actual head; anything no member can be blamed for sends a group of
 * several back to be committed one by one. Returns the members answered, or 'alone'.
 */
async function afterCancellation(ctx: StoreContext, name: string, basis: Basis, commit: Commit, error: unknown): Promise<{ answered: Set<Member> } | 'alone'> {
  const reasons = cancellationReasons(error);
  if (!reasons) {
    // A combined transaction DynamoDB refused as a whole (e.g. as too large by its own count).
    if (commit.members.length > 1 && (error as Error).name === 'ValidationException') return 'alone';
    throw error;
  }
  const answered = new Set<Member>();
  const failedKeys = new Set(commit.keyOwners.filter((_, i) => reasons[commit.firstKeyAction + i]?.Code === 'ConditionalCheckFailed'));
  for (const m of failedKeys) {
    const existing = await lookupKeys(ctx, basis.inc.dbId, m.request.events);
    if (existing.some((e) => e !== undefined)) {
      m.settle({ kind: 'duplicates', existing });
      answered.add(m);
    }
  }
  commit.checkpointOwners.forEach((m, i) => {
    const reason = reasons[commit.firstCheckpointAction + i];
    if (reason?.Code !== 'ConditionalCheckFailed' || answered.has(m)) return;
    // Positions only grow: one at or past this one stays so, whatever else failed.
    m.settle({ kind: 'checkpoint_behind', position: Number((reason.Item as Record<string, { N?: string }> | undefined)?.[A.checkpointPosition]?.N) });
    answered.add(m);
  });
  const headReason = reasons[0];
  if (headReason?.Code === 'ConditionalCheckFailed') {
    await moveBasis(ctx, name, basis, headReason.Item, commit.members);
    return { answered };
  }
  if (answered.size > 0 || isRetryable(reasons)) return { answered };
  if (commit.members.length > 1) return 'alone';
  throw new InternalError(`DynamoDB cancelled the append to "${name}": ${describeReasons(reasons)}`, { database: name });
}

/**
 * Moves the basis to the head item as the failed condition saw it. A head that is gone means
 * the database was deleted, and perhaps created again: the appends then go to the new one.
 */
async function moveBasis(ctx: StoreContext, name: string, basis: Basis, old: Record<string, { N?: string }> | undefined, members: Member[]): Promise<void> {
  const head = Number(old?.head?.N ?? NaN);
  if (Number.isNaN(head)) {
    const previous = basis.inc.dbId;
    Object.assign(basis, await live(ctx, name));
    if (basis.inc.dbId === previous) throw new InternalError(`database "${name}" lost its head item`, { name });
    for (const m of members) m.checkedThrough = m.request.guard?.basis ?? 0;
    return;
  }
  const latestThrough = old?.lt?.N === undefined ? -1 : Number(old.lt.N);
  basis.head = head;
  basis.latestThrough = latestThrough;
  basis.inc.head = Math.max(basis.inc.head ?? 0, head);
  basis.inc.latestThrough = Math.max(basis.inc.latestThrough ?? -1, latestThrough);
  if (latestThrough < head) startCatchUp(ctx, basis.inc);
}
