/**
 * The subscription hub of one server: its settings, the change feed, the places for open
 * subscriptions (bounded), and which connection reads as each durable consumer. It holds no
 * events and no positions; those live in storage and in each subscription.
 */
import { ResourceExhaustedError, UnavailableError } from '../../core/errors.ts';
import type { EventStore } from '../../storage/types.ts';
import { ChangeFeed } from './change-feed.ts';
import type { EndReason, FrameSink } from './frames.ts';
import { DEFAULT_SUBSCRIPTION_SETTINGS, type SubscriptionSettings } from './settings.ts';

/** One open subscription's place: given back with `release`, taken away when the server stops. */
export interface Slot {
  /** Aborted, with reason `shutdown`, when the server stops. */
  readonly signal: AbortSignal;
  /** The connection, once the transport has one (for the buffer figures of `stats`). */
  sink?: FrameSink;
  release(): void;
}

/** Why a consumer's subscription must stop: another connection took over, or the consumer is gone. */
export type ConsumerStop = { kind: 'end'; reason: EndReason } | { kind: 'error'; error: unknown };

export interface HubStats {
  open: number;
  /** Bytes buffered for each open subscription with a connection. */
  buffered: number[];
}

/** How long closing waits for subscriptions to write their last frame before it gives up on them. */
const CLOSE_WAIT_MS = 5000;

export class SubscriptionHub {
  readonly settings: SubscriptionSettings;
  readonly feed: ChangeFeed;
  readonly #slots = new Map<Slot, AbortController>();
  /** Open subscriptions by caller, for the per-caller bound. */
  readonly #byCaller = new Map<string, number>();
  readonly #released = new Set<() => void>();
  readonly #consumers = new Map<string, (stop: ConsumerStop) => void>();
  #closing = false;

  constructor(store: EventStore, settings: Partial<SubscriptionSettings> = {}) {
    this.settings = { ...DEFAULT_SUBSCRIPTION_SETTINGS, ...settings };
    this.feed = new ChangeFeed(store, () => this.settings.pollIntervalMs);
  }

  /** Called by the append use case after every successful append on this server. */
  appended(database: string): void {
    this.feed.appended(database);
  }

  /**
   * Takes a place for a new subscription of `caller` (a key's id or a client address); refuses
   * when all places are taken, when the caller holds as many as one caller may, or when the
   * server is stopping.
   */
  admit(caller = ''): Slot {
    if (this.#closing) throw new UnavailableError('the server is shutting down');
    const limit = this.settings.maxSubscriptions;
    if (this.#slots.size >= limit) {
      throw new ResourceExhaustedError(`this server has ${limit} open subscriptions, as many as it allows; try again later`, {
        limit,
        open: this.#slots.size,
      });
    }
    const held = this.#byCaller.get(caller) ?? 0;
    const perCaller = this.settings.maxSubscriptionsPerCaller;
    if (held >= perCaller) {
      throw new ResourceExhaustedError(`you have ${held} open subscriptions on this server, as many as one caller may; close one or try again later`, {
        limit: perCaller,
        open: held,
      });
    }
    this.#byCaller.set(caller, held + 1);
    const controller = new AbortController();
    const slot: Slot = {
      signal: controller.signal,
      release: () => {
        if (!this.#slots.delete(slot)) return;
        const left = (this.#byCaller.get(caller) ?? 1) - 1;
        if (left > 0) this.#byCaller.set(caller, left);
        else this.#byCaller.delete(caller);
        for (const notify of this.#released) notify();
      },
    };
    this.#slots.set(slot, controller);
    return slot;
  }

  /**
   * Makes `stop` the way to end the subscription reading as this consumer, ending the one that
   * read as it until now (`superseded`). Returns the release, for when that subscription ends.
   */
  claimConsumer(key: string, stop: (reason: ConsumerStop) => void): () => void {
    this.#consumers.get(key)?.({ kind: 'end', reason: 'superseded' });
    this.#consumers.set(key, stop);
    return () => {
      if (this.#consumers.get(key) === stop) this.#consumers.delete(key);
    };
  }

  /** The consumers a subscription on this server reads as now, by `consumerKey`. */
  heldConsumers(): IterableIterator<string> {
    return this.#consumers.keys();
  }

  /** Ends the subscription reading as this consumer, if it runs on this server. */
  stopConsumer(key: string, stop: ConsumerStop): void {
    this.#consumers.get(key)?.(stop);
  }

  /** Changes settings of a running hub; subscriptions opened afterwards follow them (a test seam). */
  configure(settings: Partial<SubscriptionSettings>): void {
    Object.assign(this.settings, settings);
  }

  stats(): HubStats {
    const buffered = [...this.#slots.keys()].flatMap((slot) => (slot.sink ? [slot.sink.buffered()] : []));
    return { open: this.#slots.size, buffered };
  }

  /**
   * Ends every open subscription (each writes an `end` frame, `shutdown`) and waits, a bounded
   * time, until they have all let go; new ones are refused from now on.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const controller of this.#slots.values()) controller.abort('shutdown' satisfies EndReason);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.#slots.size > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const notify = () => {
          clearTimeout(timer);
          this.#released.delete(notify);
          resolve();
        };
        this.#released.add(notify);
      });
    }
    this.feed.close();
  }
}
