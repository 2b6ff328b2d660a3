import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { countMembers, eventSpansOf, type EventBodyForm } from '../core/event-text.ts';
import { keepArrivedJson, type CloudEvent, type RawEvent } from '../core/events.ts';

/**
 * Sends `{"events":[…], …rest}` with each event's stored JSON text spliced in as is: events are
 * stored in their response form, so there is nothing to parse or re-serialise on the read path.
 */
export function sendEvents(res: Response, events: RawEvent[], rest: Record<string, unknown>): void {
  res.type('application/json').send(eventsJson(events, rest));
}

/** The text sendEvents sends. */
export function eventsJson(events: RawEvent[], rest: Record<string, unknown>): string {
  const tail = JSON.stringify(rest).slice(1);
  return `{"events":[${events.map((e) => e.json).join(',')}]${tail === '}' ? '}' : `,${tail}`}`;
}

/** The bytes of JSON bodies that were sent as UTF-8, by request, for appends to store events from. */
const utf8Bodies = new WeakMap<IncomingMessage, Buffer>();

/** express.json's `verify` hook: keeps the body's bytes, which it is about to parse. */
export function keepJsonBodyBytes(req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  if (/^utf-?8$/i.test(encoding)) utf8Bodies.set(req, body);
}

/**
 * Lets the store write each of `events` (the parsed and validated body of `req`, or its `events`)
 * from the bytes it arrived with, where those are what serialising it would produce anyway
 * (core/event-text.ts). Events it cannot vouch for are left to be serialised.
 */
export function keepArrivedEvents(req: Request, events: readonly CloudEvent[]): void {
  const body = utf8Bodies.get(req);
  if (body === undefined || events.length === 0) return;
  const form: EventBodyForm | undefined =
    req.body === events ? 'batch' : req.body === events[0] && events.length === 1 ? 'single' : (req.body as { events?: unknown })?.events === events ? 'request' : undefined;
  // Invalid UTF-8 was decoded with replacement characters: the bytes are not the parsed text.
  if (form === undefined || !isUtf8(body)) return;
  const spans = eventSpansOf(body, form);
  if (spans === undefined || spans.length !== events.length) return;
  keepArrivedJson(
    events,
    // A plain view: the store copies from it once per event, and views of a Buffer cost more.
    new Uint8Array(body.buffer, body.byteOffset, body.length),
    spans.map((span, i) => (span.canonical && span.members === countMembers(events[i]) ? span : undefined)),
  );
}
