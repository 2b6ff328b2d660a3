/**
 * Group commit: the appends one server makes to one database go through one loop, which takes
 * every append waiting at the time and commits as many of them as fit in one transaction
 * (append.ts), as the file store shares one fdatasync among them. Concurrent single-event
 * appends then cost DynamoDB one transaction per round instead of one each, and each append
 * still succeeds or fails on its own guard and its own duplicates.
 *
 * Waiting is bounded: an append that has waited `operationTimeoutMs` for its turn fails with
 * UNAVAILABLE without being sent, and when DynamoDB stops answering, the appends queued behind
 * the round that found out fail with it at once rather than each waiting out its own timeout.
 */
import { UnavailableError } from '../../core/errors.ts';
import { assertCheckpoint } from '../append-checks.ts';
import type { AppendOutcome, AppendRequest } from '../types.ts';
import { commitRound, type Member, type RoundResult } from './append.ts';
import { coverCommit, startCatchUp } from './catch-up.ts';
import { translateError, withDeadline } from './client.ts';
import type { StoreContext } from './context.ts';

/** The appends of one database waiting on this server, and whether its loop runs. */
export interface Writer {
  queue: Member[];
  /** Commits of this loop whose latest-value items are still to be written. */
  uncovered: Array<NonNullable<RoundResult['uncovered']>>;
  /** The loop while it runs. */
  running?: Promise<void>;
}

export type Writers = Map<string, Writer>;

/** Queues an append and starts the database's loop if none runs; settles once committed or refused. */
export function submitAppend(ctx: StoreContext, writers: Writers, name: string, request: AppendRequest): Promise<AppendOutcome> {
  return new Promise<AppendOutcome>((resolve, reject) => {
    try {
      assertCheckpoint(request);
    } catch (error) {
      reject(error);
      return;
    }
    let writer = writers.get(name);
    if (!writer) writers.set(name, (writer = { queue: [], uncovered: [] }));
    let settled = false;
    writer.queue.push({
      request,
      deadline: Date.now() + ctx.settings.operationTimeoutMs,
      checkedThrough: request.guard?.basis ?? 0,
      alone: false,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      },
    });
    writer.running ??= runWriter(ctx, writers, name, writer);
  });
}

/**
 * Rounds of group commit while appends wait, each followed by writing the latest-value items its
 * transaction had no room for: in the loop, not beside it, so that this server's writes to the
 * database never compete with each other. The writer is forgotten once idle.
 */
async function runWriter(ctx: StoreContext, writers: Writers, name: string, writer: Writer): Promise<void> {
  // Runs on from the next tick: the caller records this loop as running first.
  await Promise.resolve();
  try {
    while (writer.queue.length > 0 || writer.uncovered.length > 0) {
      const uncovered = writer.uncovered.shift();
      if (uncovered) {
        await coverCommit(withDeadline(ctx, ctx.settings.operationTimeoutMs), uncovered.inc, uncovered.commit).catch(() =>
          // A catch-up that reads what is missing tries again, in the background.
          startCatchUp(ctx, uncovered.inc),
        );
        continue;
      }
      const now = Date.now();
      const round = writer.queue.splice(0);
      const waiting = round.filter((m) => {
        if (m.deadline > now) return true;
        m.settle(new UnavailableError(`the append to "${name}" waited ${ctx.settings.operationTimeoutMs} ms for its turn`, { database: name }));
        return false;
      });
      if (waiting.length === 0) continue;
      try {
        // Appends that arrive meanwhile wait for the next round; those this one had no room for go first.
        const { later, uncovered: left } = await commitRound(withDeadline(ctx, ctx.settings.operationTimeoutMs), name, waiting);
        writer.queue.unshift(...later);
        if (left) writer.uncovered.push(left);
      } catch (error) {
        for (const m of waiting) m.settle(error as Error);
        // DynamoDB did not answer this round: the appends behind it would only wait to learn the same.
        if (translateError(error, ctx.tableName) instanceof UnavailableError) for (const m of writer.queue.splice(0)) m.settle(error as Error);
      }
    }
  } finally {
    writer.running = undefined;
    if (writers.get(name) === writer && writer.queue.length === 0) writers.delete(name);
  }
}

/** Resolves once no writer has appends or latest-value items left to write. */
export async function settleWriters(writers: Writers): Promise<void> {
  while ([...writers.values()].some((w) => w.running)) await Promise.allSettled([...writers.values()].map((w) => w.running));
}
