/**
 * The change feed: what this server knows of the head of each database someone follows.
 * Appends made on this server announce themselves (`appended`); appends made by other servers
 * sharing the storage are found by reading the head every poll interval, and only for databases
 * that have watchers. Either way the head is read with `store.getDatabase`, together with the
 * database's creation time, so that a database deleted (or deleted and created again under the
 * same name) is noticed as gone rather than taken for new events.
 *
 * The feed says how far a database goes; each subscription reads the events from its own
 * position up to that head, which is what makes hand-over exact. So that live subscribers do
 * not each read the same new events from storage, the feed reads them once, before it tells of
 * the new head, and keeps the latest of them (recent-events.ts) for subscribers to take.
 */
import type { RawEvent } from '../../core/events.ts';
import type { Selector } from '../../core/selectors.ts';
import type { DatabaseRecord, EventStore } from '../../storage/types.ts';
import { RECENT_EVENTS_LIMIT, RecentEvents } from './recent-events.ts';

/** One watcher's view of a database's head, for the incarnation it started on. */
export interface HeadWatch {
  /** The latest revision known to be committed (and readable) in the watched database. */
  readonly head: number;
  /** The database was deleted, or replaced by a new one of the same name, since the watch began. */
  readonly gone: boolean;
  /** Resolves once the head is past `after`, the database is gone, or `signal` aborts. */
  next(after: number, signal: AbortSignal): Promise<void>;
  /** The events of (after, upTo] `selector` matches, if the feed holds that whole range; else undefined. */
  recent(after: number, upTo: number, selector: Selector | undefined): RawEvent[] | undefined;
  close(): void;
}

interface Topic {
  database: string;
  /** `created_at` of the database as last read; undefined once it is gone. */
  incarnation: string | undefined;
  head: number;
  /** The latest events, up to `head`. */
  recent: RecentEvents;
  watchers: number;
  /** Checks of waiting watchers, run whenever the topic changes. */
  waiting: Set<() => void>;
  timer: NodeJS.Timeout;
  /** Reads of the head started, and the sequence number of the last one applied. */
  started: number;
  applied: number;
  reading: boolean;
  readAgain: boolean;
}

export class ChangeFeed {
  readonly #topics = new Map<string, Topic>();

  constructor(
    private readonly store: EventStore,
    private readonly pollIntervalMs: () => number,
  ) {}

  /** An append on this server reached `database`: its watchers hear of it now, not at the next poll. */
  appended(database: string): void {
    const topic = this.#topics.get(database);
    if (topic) this.#read(topic);
  }

  /** Starts watching the database `record` describes (read just before, so it is current). */
  watch(record: DatabaseRecord): HeadWatch {
    const topic = this.#topics.get(record.name) ?? this.#open(record);
    topic.watchers++;
    const incarnation = record.created_at;
    // Reads already under way may have started before `record` was read: only a later one says
    // whether this incarnation is gone.
    const since = topic.started;
    if (topic.incarnation !== incarnation) this.#read(topic);
    const gone = () => topic.applied > since && topic.incarnation !== incarnation;
    const head = () => (topic.incarnation === incarnation ? Math.max(topic.head, record.latest_revision) : record.latest_revision);
    let closed = false;
    return {
      get head() {
        return head();
      },
      get gone() {
        return gone();
      },
      recent: (after, upTo, selector) => (topic.incarnation === incarnation ? topic.recent.matching(after, upTo, selector) : undefined),
      next: (after, signal) =>
        new Promise<void>((resolve) => {
          const ready = () => head() > after || gone() || signal.aborted;
          if (ready()) return resolve();
          const check = () => {
            if (!ready()) return;
            topic.waiting.delete(check);
            signal.removeEventListener('abort', check);
            resolve();
          };
          topic.waiting.add(check);
          signal.addEventListener('abort', check);
        }),
      close: () => {
        if (closed) return;
        closed = true;
        if (--topic.watchers === 0) this.#drop(topic);
      },
    };
  }

  /** Stops polling everything. */
  close(): void {
    for (const topic of this.#topics.values()) this.#drop(topic);
  }

  #open(record: DatabaseRecord): Topic {
    const topic: Topic = {
      database: record.name,
      incarnation: record.created_at,
      head: record.latest_revision,
      recent: new RecentEvents(),
      watchers: 0,
      waiting: new Set(),
      timer: setInterval(() => this.#read(topic), this.pollIntervalMs()),
      started: 0,
      applied: 0,
      reading: false,
      readAgain: false,
    };
    topic.timer.unref();
    topic.recent.reset(record.latest_revision);
    this.#topics.set(record.name, topic);
    return topic;
  }

  #drop(topic: Topic): void {
    clearInterval(topic.timer);
    if (this.#topics.get(topic.database) === topic) this.#topics.delete(topic.database);
  }

  /** Reads the head, one read at a time per database; a request during a read reads again after it. */
  #read(topic: Topic): void {
    if (topic.reading) {
      topic.readAgain = true;
      return;
    }
    topic.reading = true;
    const seq = ++topic.started;
    this.store.getDatabase(topic.database).then(
      async (record) => {
        if (record && record.created_at === topic.incarnation && record.latest_revision > topic.head) {
          // The new events first, then the news: woken subscribers find them here.
          await this.#readRecent(topic, record.latest_revision);
          topic.head = record.latest_revision;
        } else if (record?.created_at !== topic.incarnation) {
          topic.incarnation = record?.created_at;
          topic.head = record?.latest_revision ?? 0;
          topic.recent.reset(topic.head);
        }
        topic.applied = seq;
        for (const check of [...topic.waiting]) check();
      },
      // Storage out of reach for a moment: the watchers keep what they know, the next poll reads again.
      () => undefined,
    ).finally(() => {
      topic.reading = false;
      if (topic.readAgain) {
        topic.readAgain = false;
        this.#read(topic);
      }
    });
  }

  /** Reads the events after the head up to `to` into the topic's recent events, if they are few enough. */
  async #readRecent(topic: Topic, to: number): Promise<void> {
    const from = topic.head;
    if (topic.recent.to !== from || to - from > RECENT_EVENTS_LIMIT) {
      topic.recent.reset(to);
      return;
    }
    try {
      const page = await this.store.query(topic.database, { fromRevision: from + 1, toRevision: to, direction: 'forward', limit: to - from });
      topic.recent.extend(page.events);
    } catch {
      // Subscribers read storage themselves, as they would without the feed's copy.
    }
    if (topic.recent.to !== to) topic.recent.reset(to);
  }
}
