/**
 * Catching up the latest-value items with the events, when a transaction had no room for them
 * (a 49-event append takes 99 of the 100 actions), or when the server that committed them
 * stopped before writing them. A step writes the items of the events after the head item's
 * `lt`, on conditions that never move an item back, and moves `lt` past them in the same
 * transaction. Any server may do it at any time, as often as it likes: the result is the same.
 *
 * Until it has run, exact reads read the revisions after `lt` from the base table, so nothing
 * is ever missed; catching up only keeps that read short.
 */
import { InternalError } from '../../core/errors.ts';
import { done, tryAgain, withRetries } from '../../core/retry.ts';
import { readHead } from './catalog.ts';
import { cancellationReasons, MAX_PAGE_ITEMS, queryItems, transact, withDeadline, type TransactAction } from './client.ts';
import type { CatchUpRun, Incarnation, StoreContext, Uncovered } from './context.ts';
import { itemKey, num, MAX_TRANSACTION_ACTIONS } from './items.ts';
import { A, HEAD_SK } from './keys.ts';
import { latestChanges, latestUpdate } from './latest.ts';
import { rangeInput } from './scan.ts';

/** Revisions read and accounted for per step. */
const STEP_REVISIONS = 1000;
/** Rounds of dropping updates whose items turned out newer, before a step gives up. */
const OVERTAKEN_ROUNDS = 5;

/**
 * Writes the items of a commit this server just made without them, and moves `lt` past it, if
 * `lt` stands right before it (as far as this server knows); otherwise leaves the reading kind of
 * catch-up to find out what is missing. The writer of the database does this between its
 * commits, so the two never compete for the head item.
 */
export async function coverCommit(ctx: StoreContext, inc: Incarnation, commit: Uncovered): Promise<void> {
  const through = inc.latestThrough ?? -1;
  if (through >= commit.to) return;
  if (through !== commit.from - 1) return startCatchUp(ctx, inc);
  await cover(ctx, inc, commit);
}

/** Starts catching up a database in the background, or asks the catch-up under way to look again. */
export function startCatchUp(ctx: StoreContext, inc: Incarnation): void {
  if (!ctx.isOpen()) return;
  const running = ctx.catchUps.get(inc.dbId);
  if (running) {
    running.again = true;
    return;
  }
  const run: CatchUpRun = { done: Promise.resolve(), again: true };
  ctx.catchUps.set(inc.dbId, run);
  run.done = (async () => {
    try {
      while (run.again && ctx.isOpen()) {
        run.again = false;
        for (let window; ctx.isOpen() && (window = await readUncovered(withDeadline(ctx, ctx.settings.operationTimeoutMs), inc)); ) {
          await cover(withDeadline(ctx, ctx.settings.operationTimeoutMs), inc, window);
        }
      }
    } catch (error) {
      process.emitWarning(
        `DynamoDB: could not bring the latest-value items of database "${inc.name}" up to date (exact reads read the rest from the table meanwhile; the next append tries again): ${(error as Error).message}`,
      );
    } finally {
      ctx.catchUps.delete(inc.dbId);
    }
  })();
}

/**
 * Writes the items of the events of `window`, which starts right after `lt`, and moves `lt` to
 * its end. When another server got there first, or the database is gone, `lt` is re-read.
 */
async function cover(ctx: StoreContext, inc: Incarnation, window: Uncovered): Promise<void> {
  const updates = [...latestChanges(window.events)].map(([sk, revisions]) => latestUpdate(ctx.tableName, inc.dbId, sk, revisions, 'catching-up'));
  // The last transaction moves `lt`; any before it (past 99 values) only check the head exists.
  const perTransaction = MAX_TRANSACTION_ACTIONS - 1;
  for (let i = 0; i < Math.max(1, updates.length); i += perTransaction) {
    const last = i + perTransaction >= updates.length;
    const head = last ? moveLatestThrough(ctx.tableName, inc.dbId, window.to) : headExists(ctx.tableName, inc.dbId);
    if (!(await writeUpdates(ctx, inc, head, updates.slice(i, i + perTransaction)))) {
      const state = await readHead(ctx, inc.dbId);
      if (state) inc.latestThrough = Math.max(inc.latestThrough ?? -1, state.latestThrough);
      return;
    }
  }
  inc.latestThrough = Math.max(inc.latestThrough ?? -1, window.to);
}

/** The events after `lt` (at most a step's worth), read back; undefined when none are left. */
async function readUncovered(ctx: StoreContext, inc: Incarnation): Promise<Uncovered | undefined> {
  const state = await readHead(ctx, inc.dbId);
  if (!state) return undefined;
  inc.latestThrough = Math.max(inc.latestThrough ?? -1, state.latestThrough);
  if (state.latestThrough >= state.head) return undefined;
  const from = state.latestThrough + 1;
  const to = Math.min(state.head, from + STEP_REVISIONS - 1);
  const events: Uncovered['events'] = [];
  // Revision 0 is no event: a head from before `lt` existed starts at -1 with nothing to read.
  const input = rangeInput(ctx, inc.dbId, Math.max(1, from), to, true, undefined, [A.revision, A.source, A.type, A.subject]);
  for await (const item of queryItems(ctx, input, MAX_PAGE_ITEMS)) {
    events.push({ revision: num(item[A.revision]), event: { source: item[A.source] as string, type: item[A.type] as string, subject: item[A.subject] as string | undefined } });
  }
  // Revisions are dense up to the head; fewer events means the database went away meanwhile.
  if (events.length !== to - Math.max(1, from) + 1) {
    if (!(await readHead(ctx, inc.dbId))) return undefined;
    throw new InternalError(`database "${inc.name}" holds ${events.length} events in revisions ${from}..${to}`, { name: inc.name });
  }
  return { from, to, events };
}

/** Moves `lt` to `to` on the condition that the head exists and `lt` is below it. */
function moveLatestThrough(tableName: string, dbId: string, to: number): TransactAction {
  return {
    Update: {
      TableName: tableName,
      Key: itemKey(dbId, HEAD_SK),
      UpdateExpression: 'SET #lt = :to',
      ConditionExpression: 'attribute_exists(#head) AND (attribute_not_exists(#lt) OR #lt < :to)',
      ExpressionAttributeNames: { '#lt': A.latestThrough, '#head': A.head },
      ExpressionAttributeValues: { ':to': to },
    },
  };
}

function headExists(tableName: string, dbId: string): TransactAction {
  return { ConditionCheck: { TableName: tableName, Key: itemKey(dbId, HEAD_SK), ConditionExpression: 'attribute_exists(#head)', ExpressionAttributeNames: { '#head': A.head } } };
}

/**
 * Writes updates in one transaction with the head action (so no item lands in the partition of
 * a database whose removal began). Updates whose item turns out newer already are dropped and
 * the rest sent again. False when the head action fails: the database is gone, or `lt` is
 * already past, and the items with it.
 */
async function writeUpdates(ctx: StoreContext, inc: Incarnation, head: TransactAction, updates: TransactAction[]): Promise<boolean> {
  let pending = updates;
  const exhausted = { what: `catching up the latest-value items of "${inc.name}"`, why: 'appends kept overtaking them', details: { database: inc.name } };
  return withRetries({ maxAttempts: OVERTAKEN_ROUNDS }, exhausted, async () => {
    try {
      await transact(ctx, [head, ...pending], exhausted.what, exhausted.details);
      return done(true);
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return done(false);
      pending = pending.filter((_, i) => reasons[i + 1]?.Code !== 'ConditionalCheckFailed');
      return tryAgain;
    }
  });
}
