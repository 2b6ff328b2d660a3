import type { Response } from 'express';
import type { RawEvent } from '../core/events.ts';

/**
 * Sends `{"events":[…], …rest}` with each event's stored JSON text spliced in as is: events are
 * stored in their response form, so there is nothing to parse or re-serialise on the read path.
 */
export function sendEvents(res: Response, events: RawEvent[], rest: Record<string, unknown>): void {
  const tail = JSON.stringify(rest).slice(1);
  res
    .type('application/json')
    .send(`{"events":[${events.map((e) => e.json).join(',')}]${tail === '}' ? '}' : `,${tail}`}`);
}
