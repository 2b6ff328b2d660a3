/**
 * Conversions between Factum's JSON shapes and the records of the WIT contract. The record
 * types come from ./generated (jco's rendering of wit/factum.wit), not from a hand-made copy.
 */
import type { StoredEvent } from '../core/events.ts';
import { extensionsOf } from './event-batch.mjs';
import type { Event as WitEvent, Params as WitParams } from './generated/state-view/interfaces/factum-component-types.js';

export type { WitEvent, WitParams };

/** Parameters a view is read with, by name. */
export type ViewParams = Readonly<Record<string, string>>;

const utf8 = new TextEncoder();

/**
 * Whether `data` of this content type is JSON in the CloudEvents JSON format: no content type
 * means JSON, and so does any `application/json`, `text/json` or `…+json` type.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json');
}

/**
 * The payload as bytes: `data_base64` decoded; JSON data as its JSON text; a string payload of
 * a non-JSON content type as the string's UTF-8 text (CloudEvents carries such payloads as
 * strings); no payload as undefined.
 */
export function eventDataBytes(event: StoredEvent): Uint8Array | undefined {
  const payload = payloadOf(event);
  return typeof payload === 'string' ? utf8.encode(payload) : payload;
}

/** The payload before encoding: text to write as UTF-8, bytes as they are, or none. */
export type EventPayload = string | Uint8Array | undefined;

export function payloadOf(event: StoredEvent): EventPayload {
  if (typeof event.data_base64 === 'string') return new Uint8Array(Buffer.from(event.data_base64, 'base64'));
  if (event.data === undefined) return undefined;
  if (typeof event.data === 'string' && !isJsonContentType(event.datacontenttype)) return event.data;
  return JSON.stringify(event.data);
}

/** Bytes of a payload once encoded. */
export function payloadBytes(payload: EventPayload): number {
  return payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
}

/** The WIT record of an event. Batches for a worker go as packed events instead (event-batch.mjs). */
export function toWitEvent(event: StoredEvent): WitEvent {
  return {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject,
    time: event.time,
    datacontenttype: event.datacontenttype,
    dataschema: event.dataschema,
    data: eventDataBytes(event),
    extensions: extensionsOf(event),
    revision: BigInt(event.revision),
    recordedtime: event.recordedtime,
  };
}

export function toWitParams(params: ViewParams): WitParams {
  return Object.entries(params).map(([name, value]) => [name, value]);
}
