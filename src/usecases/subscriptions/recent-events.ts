/**
 * The latest events of a followed database, read once for all its live subscribers: without
 * it, every new event would cost one storage read per subscriber (a query per subscriber and
 * append on DynamoDB). It holds a contiguous run of revisions (from, to], bounded in events
 * and bytes; a subscriber whose next range lies inside it takes its events from here, any other
 * reads storage as before. Events of a revision never change, so either way it gets the same.
 */
import { parseStoredEvent, type RawEvent } from '../../core/events.ts';
import { extensionsOf, matchesSelector, type SelectableEvent, type Selector } from '../../core/selectors.ts';

interface RecentEvent {
  raw: RawEvent;
  /** What selectors look at, parsed once. */
  attrs: SelectableEvent;
}

/** Most events, and most bytes of their JSON, kept per database. */
export const RECENT_EVENTS_LIMIT = 2000;
export const RECENT_BYTES_LIMIT = 4 * 1024 * 1024;

export class RecentEvents {
  #events: RecentEvent[] = [];
  /** The events held are those of revisions (#from, #from + #events.length]. */
  #from = 0;
  #bytes = 0;

  get to(): number {
    return this.#from + this.#events.length;
  }

  /** Forgets everything; the next run starts after `revision`. */
  reset(revision: number): void {
    this.#events = [];
    this.#from = revision;
    this.#bytes = 0;
  }

  /**
   * Adds the events of revisions (to, …]: `events` must be exactly the next revisions, all of
   * them, else the run restarts after the last of them (a gap would lose events).
   */
  extend(events: readonly RawEvent[]): void {
    if (events.length === 0) return;
    if (!events.every((e, i) => e.revision === this.to + 1 + i)) {
      this.reset(events.at(-1)!.revision);
      return;
    }
    for (const raw of events) {
      const stored = parseStoredEvent(raw);
      const { source, type, subject } = stored;
      this.#events.push({ raw, attrs: { source, type, subject, ...Object.fromEntries(extensionsOf(stored)) } });
      this.#bytes += raw.json.length;
    }
    let drop = 0;
    while (this.#events.length - drop > RECENT_EVENTS_LIMIT || (this.#bytes > RECENT_BYTES_LIMIT && drop < this.#events.length)) {
      this.#bytes -= this.#events[drop]!.raw.json.length;
      drop++;
    }
    if (drop > 0) {
      this.#events = this.#events.slice(drop);
      this.#from += drop;
    }
  }

  /** The events of (after, upTo] that `selector` matches, or undefined if that range is not all held. */
  matching(after: number, upTo: number, selector: Selector | undefined): RawEvent[] | undefined {
    if (after < this.#from || upTo > this.to) return undefined;
    const run = this.#events.slice(after - this.#from, upTo - this.#from);
    return (selector ? run.filter((e) => matchesSelector(selector, e.attrs)) : run).map((e) => e.raw);
  }
}
