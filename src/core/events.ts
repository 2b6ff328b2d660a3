/**
 * CloudEvents 1.0 as Factum stores them. Structural validation (required attributes, types,
 * RFC 3339 times, attribute names) lives in openapi.yaml; what JSON Schema cannot say lives here.
 */
import { InvalidArgumentError } from './errors.ts';

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

/** An event as read back: the CloudEvent plus the two attributes the database assigns. */
export interface StoredEvent extends CloudEvent {
  revision: number;
  recordedtime: string;
}

/**
 * An event as storage hands it out: its revision and the exact JSON text that was stored.
 * Keeping the text lets reads stream stored bytes without re-serialising them.
 */
export interface RawEvent {
  revision: number;
  json: string;
}

/** Attributes the database assigns; a client may not send them. */
export const SERVER_ATTRIBUTES = ['revision', 'recordedtime'] as const;

/** The key that makes an event unique in a database (CloudEvents: source + id). */
export function eventKey(event: Pick<CloudEvent, 'source' | 'id'>): string {
  return `${event.source}\u0000${event.id}`;
}

/**
 * The instant an event took effect, in epoch milliseconds: its CloudEvents `time`, or when it
 * was recorded if it has none, so every event has a place on the effective-time axis.
 */
export function effectiveTimeMs(event: { time?: string }, recordedtime: string): number {
  return Date.parse(event.time ?? recordedtime);
}

/**
 * The UTF-8 text events arrived as, for those whose text is exactly what `JSON.stringify` would
 * write for them (event-text.ts decides which), by the array of events of one append: such an
 * event is stored from its own bytes and never serialised. One entry per append, not per event:
 * thousands of weak entries per request cost the garbage collector more than they saved. The
 * events must not change after they are kept here.
 */
const arrivedJson = new WeakMap<readonly CloudEvent[], { body: Uint8Array; spans: ReadonlyArray<ByteRange | undefined> }>();

/** Where a text lies in a buffer: from `start` to before `end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Keeps, for each of `events`, where in `body` (UTF-8) the text `JSON.stringify(events[i])`
 * would write lies, if it is there (undefined: serialise it), for storing the events.
 */
export function keepArrivedJson(events: readonly CloudEvent[], body: Uint8Array, spans: ReadonlyArray<ByteRange | undefined>): void {
  arrivedJson.set(events, { body, spans });
}

/**
 * An event's stored JSON: the text itself, or, for an event kept with keepArrivedJson, the bytes
 * it arrived with up to before their closing brace (`body` from `start` to `end`) followed by
 * `tail`, so that a batch of events is written to storage by copying bytes.
 */
export type StoredEventText = string | { body: Uint8Array; start: number; end: number; tail: string };

/** The stored forms of the events of one append, the first at `firstRevision`. */
export function storedEventTexts(events: readonly CloudEvent[], firstRevision: number, recordedtime: string): StoredEventText[] {
  const arrived = arrivedJson.get(events);
  // A request's events share their recorded time: its JSON is written once.
  const timeTail = `,"recordedtime":${JSON.stringify(recordedtime)}}`;
  return events.map((event, i) => {
    const span = arrived?.spans[i];
    if (span === undefined || 'revision' in event || 'recordedtime' in event) return storedEventJson(event, firstRevision + i, recordedtime);
    return { body: arrived!.body, start: span.start, end: span.end - 1, tail: `,"revision":${firstRevision + i}${timeTail}` };
  });
}

/** The text of a stored form, as a string. */
export function storedTextJson(text: StoredEventText): string {
  return typeof text === 'string' ? text : utf8.decode(text.body.subarray(text.start, text.end)) + text.tail;
}

const utf8 = new TextDecoder();

/** Serialise an event the way it is stored and returned: the event, then its revision and recorded time. */
export function storedEventJson(event: CloudEvent, revision: number, recordedtime: string): string {
  // Same text as stringifying `{ ...event, revision, recordedtime }`, without copying the event
  // first: appends serialise every event, and the copy cost more than the stringify.
  if ('revision' in event || 'recordedtime' in event) return JSON.stringify({ ...event, revision, recordedtime });
  const json = JSON.stringify(event);
  const tail = `"revision":${JSON.stringify(revision)},"recordedtime":${JSON.stringify(recordedtime)}}`;
  return json === '{}' ? `{${tail}` : `${json.slice(0, -1)},${tail}`;
}

export function parseStoredEvent(raw: RawEvent): StoredEvent {
  return JSON.parse(raw.json) as StoredEvent;
}

/**
 * Checks what the schema leaves open: an event carries its data one way at most, and does not
 * claim the attributes the database assigns.
 */
export function assertEventSemantics(events: readonly CloudEvent[]): void {
  events.forEach((event, index) => {
    if (event.data !== undefined && event.data_base64 !== undefined) {
      throw new InvalidArgumentError(`events[${index}] has both data and data_base64; send one`, {
        index,
        field: 'data_base64',
      });
    }
    for (const attr of SERVER_ATTRIBUTES) {
      if (attr in event) {
        throw new InvalidArgumentError(`events[${index}].${attr} is assigned by the database and may not be sent`, {
          index,
          field: attr,
        });
      }
    }
  });
  assertDistinctEventKeys(events);
}

/**
 * Checks one transaction beyond its schema: no two events may share source + id, since the
 * second could never be told apart from an idempotent retry of the first.
 */
export function assertDistinctEventKeys(events: readonly CloudEvent[]): void {
  const seen = new Map<string, number>();
  events.forEach((event, index) => {
    const key = eventKey(event);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `events[${index}] repeats source "${event.source}" and id "${event.id}" of events[${first}]`,
        { index, field: 'id', first_index: first },
      );
    }
    seen.set(key, index);
  });
}

/**
 * Whether a newly submitted event is the same event as a stored one, for idempotent retries.
 * The stored copy carries revision and recordedtime; everything else must match exactly.
 */
export function isSameEvent(submitted: CloudEvent, stored: StoredEvent): boolean {
  const { revision: _r, recordedtime: _t, ...storedEvent } = stored;
  return canonicalJson(submitted) === canonicalJson(storedEvent);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
