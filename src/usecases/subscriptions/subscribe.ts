/**
 * A subscription: the matching events after a start position, in revision order, then
 * `caught_up`, then the live ones, each exactly once.
 *
 * Why there is no gap or repeat at the hand-over from past to live: there is no hand-over. A
 * subscription has one position p (every matching event up to p was sent) and one loop: it
 * reads the matching events in (p, h] from storage, where h is a head the change feed knows to
 * be committed, sends them in order and moves p to h; when p = h it waits for the feed to know a
 * higher head. Revisions are dense and a committed revision's events are readable, so the
 * ranges (p, h] tile the revisions without overlap, whether an event was appended long before
 * the subscription or during it, on this server or another. `caught_up` is only a marker,
 * written the first time p reaches the head.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { Selector } from '../../core/selectors.ts';
import type { ApiSchemas } from '../../schema/api-types.ts';
import { assertSchema } from '../../schema/openapi.ts';
import type { DatabaseRecord } from '../../storage/types.ts';
import type { FactumContext } from '../context.ts';
import { requireDatabase } from '../require-database.ts';
import { consumerHolder, consumerKey, holdConsumer, readPosition, requestedSelectors, requireConsumer, selectorOf, type ConsumerDefinition } from './consumers.ts';
import type { FrameSink } from './frames.ts';
import type { ConsumerStop, SubscriptionHub } from './hub.ts';
import { roomIn, SlowConsumerError, startHeartbeats, streamSettings } from './flow.ts';
import { SUBSCRIPTION_PAGE } from './settings.ts';

export type SubscriptionRequest = ApiSchemas['SubscriptionRequest'];

/** A subscription checked and resolved, before anything is sent: what to read and from where. */
export interface PreparedSubscription {
  database: string;
  /** The database as it was when the subscription was opened (its incarnation and head). */
  record: DatabaseRecord;
  selector: Selector | undefined;
  /** The exclusive start. */
  after: number;
  consumer?: ConsumerDefinition;
}

export function hubOf(ctx: FactumContext): SubscriptionHub {
  if (!ctx.subscriptions) throw new UnavailableError('subscriptions are not enabled on this server');
  return ctx.subscriptions;
}

/**
 * Checks a subscription request and resolves its start: `resumeAfter` (an SSE client's
 * Last-Event-ID) over `after`, `latest` as the head now, a consumer's acknowledged position.
 * Every refusal happens here, while it can still be an HTTP error.
 */
export async function openSubscription(
  ctx: FactumContext,
  database: string,
  request: SubscriptionRequest,
  resumeAfter?: number,
): Promise<PreparedSubscription> {
  hubOf(ctx);
  assertSchema<SubscriptionRequest>('SubscriptionRequest', request);
  const record = await requireDatabase(ctx, database);
  if (request.consumer !== undefined) {
    const given = (['selectors', 'selector', 'after'] as const).find((field) => request[field] !== undefined);
    if (given) {
      throw new InvalidArgumentError(`${given} may not be given with consumer: a consumer follows its own selector from its acknowledged position`, { field: given });
    }
    const consumer = await requireConsumer(ctx, database, request.consumer);
    const { position } = await readPosition(ctx, database, consumer);
    return { database, record, selector: selectorOf(consumer.selectors), after: position, consumer };
  }
  const selector = selectorOf(requestedSelectors(request));
  const start = resumeAfter ?? request.after ?? 0;
  const after = start === 'latest' ? record.latest_revision : start;
  if (after > record.latest_revision) {
    throw new InvalidArgumentError(`after ${after} is beyond the latest revision ${record.latest_revision}`, {
      field: resumeAfter === undefined ? 'after' : 'Last-Event-ID',
      latest_revision: record.latest_revision,
    });
  }
  return { database, record, selector, after };
}

/**
 * Runs a subscription until `signal` aborts, the client goes away or the stream fails, and
 * writes its last frame: `end` when the reason is the server's (`signal.reason` is `shutdown`
 * or a ConsumerStop), `error` when it failed, none when the client left or replaced it.
 */
export async function runSubscription(ctx: FactumContext, subscription: PreparedSubscription, sink: FrameSink, signal: AbortSignal): Promise<void> {
  const hub = hubOf(ctx);
  const settings = streamSettings(ctx);
  const stopper = new AbortController();
  const stopped = AbortSignal.any([signal, sink.gone, stopper.signal]);
  const watch = hub.feed.watch(subscription.record);
  let position = subscription.after;
  const heartbeats = startHeartbeats(sink, settings, () => position);
  const send = heartbeats.send;
  let leaveConsumer: (() => void) | undefined;
  try {
    if (subscription.consumer) leaveConsumer = await readAsConsumer(ctx, hub, subscription.database, subscription.consumer, stopper);
    send({ type: 'subscribed', after: position, ...(subscription.consumer && { consumer: subscription.consumer.name }) });
    let caughtUp = false;
    while (!stopped.aborted) {
      if (watch.gone) throw new NotFoundError(`database "${subscription.database}" was deleted`, { database: subscription.database });
      const head = watch.head;
      if (position >= head) {
        if (!caughtUp) send({ type: 'caught_up', revision: position });
        caughtUp = true;
        await watch.next(position, stopped);
        continue;
      }
      // Live subscribers take the new events the feed has read for all of them; others read storage.
      const recent = watch.recent(position, head, subscription.selector);
      const page = recent
        ? { events: recent, hasMore: false }
        : await ctx.store.query(subscription.database, {
            selector: subscription.selector,
            fromRevision: position + 1,
            toRevision: head,
            direction: 'forward',
            limit: SUBSCRIPTION_PAGE,
          });
      for (const event of page.events) {
        if (!(await roomIn(sink, settings, stopped))) break;
        send({ type: 'event', event });
        position = event.revision;
      }
      // The page covered (position, head]: nothing else up to the head matches.
      if (!page.hasMore && !stopped.aborted) position = head;
    }
    const stop = serverStopOf(stopped.reason);
    if (stop?.kind === 'end') sink.write({ type: 'end', reason: stop.reason, resume_after: position });
    if (stop?.kind === 'error') sink.write({ type: 'error', error: stop.error, resume_after: position });
  } catch (error) {
    if (sink.gone.aborted) return;
    sink.write(error instanceof SlowConsumerError ? { type: 'end', reason: 'slow_consumer', resume_after: position } : { type: 'error', error, resume_after: position });
  } finally {
    heartbeats.stop();
    watch.close();
    leaveConsumer?.();
  }
}

/** The stop a server-side reason asks for; undefined when the client left (nothing to say). */
export function serverStopOf(reason: unknown): ConsumerStop | undefined {
  if (reason === 'shutdown') return { kind: 'end', reason: 'shutdown' };
  if (reason && typeof reason === 'object' && 'kind' in reason) return reason as ConsumerStop;
  return undefined;
}

/**
 * Makes this subscription the one that reads as the consumer: the one before it ends now if it
 * runs on this server, or at its next check of the holder record if it runs on another. This
 * one checks the record every poll interval in turn. Returns what undoes it.
 */
async function readAsConsumer(ctx: FactumContext, hub: SubscriptionHub, database: string, consumer: ConsumerDefinition, stopper: AbortController): Promise<() => void> {
  const session = randomBytes(9).toString('base64url');
  const release = hub.claimConsumer(consumerKey(database, consumer.name), (stop) => stopper.abort(stop));
  await holdConsumer(ctx, database, consumer, session);
  const check = setInterval(() => {
    consumerHolder(ctx, database, consumer, session).then(
      (holder) => {
        if (holder === 'other') stopper.abort({ kind: 'end', reason: 'superseded' } satisfies ConsumerStop);
        if (holder === 'gone') {
          const error = new NotFoundError(`consumer "${consumer.name}" was deleted`, { database, consumer: consumer.name });
          stopper.abort({ kind: 'error', error } satisfies ConsumerStop);
        }
      },
      // The database itself gone, or storage out of reach for a moment: the watch and the next check tell.
      () => undefined,
    );
  }, hub.settings.pollIntervalMs);
  return () => {
    clearInterval(check);
    release();
  };
}
