/**
 * The CloudEvents HTTP protocol binding (1.0.2) for one event: binary content mode, where the
 * attributes travel as `ce-` headers, `datacontenttype` as Content-Type and the data as the body;
 * and structured content mode, where the body is the event in the JSON format
 * (`application/cloudevents+json`). This module only moves attributes between headers and an
 * event: what an event may be is openapi.yaml's CloudEvent schema, checked here as for any append.
 */
import { maxHeaderSize, type IncomingMessage } from 'node:http';
import type { Request } from 'express';
import type { ErrorObject } from 'ajv';
import { InvalidArgumentError } from '../core/errors.ts';
import { SERVER_ATTRIBUTES, type CloudEvent, type StoredEvent } from '../core/events.ts';
import { assertSchema, componentValidator, describeSchemaError } from '../schema/openapi.ts';
import { assertJsonNesting } from './json-nesting.ts';

export const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';
/** The header that carries an append's constraints when the body is an event or a batch. */
export const CONSTRAINTS_HEADER = 'factum-constraints';
const ATTRIBUTE_PREFIX = 'ce-';
/** What a header may hold as sent: printable US-ASCII and spaces (RFC 9110 field values, without obs-text). */
const HEADER_TEXT = /^[\x20-\x7e]*$/;

/** Attributes binary mode carries elsewhere than in a `ce-` header, and where. */
const NOT_HEADERS = new Map([
  ['data', 'the data is the request body'],
  ['data_base64', 'the data is the request body, as its bytes'],
  ['datacontenttype', 'datacontenttype is the Content-Type header'],
]);

/** The media type of a Content-Type value: lowercased, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether a media type is JSON: application/json or a `+json` suffix (RFC 6839). */
export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || /^[\w.!#$&^+-]+\/[\w.!#$&^+-]+\+json$/.test(mediaType);
}

function invalidHeader(field: string, reason: string, code: string, details: Record<string, unknown> = {}): InvalidArgumentError {
  return new InvalidArgumentError(`${field} ${reason}`, { field, reason: code, ...details });
}

/**
 * Whether an append is one event in binary mode: it has `ce-` headers. Beside a media type
 * that carries whole events (structured or batch mode) they would describe the event twice, or a
 * batch once, so that is refused rather than guessed at.
 */
export function isBinaryModeAppend(req: Request): boolean {
  const header = attributeHeaderOf(req);
  if (header === undefined) return false;
  const mediaType = mediaTypeOf(req.headers['content-type']);
  if (mediaType.startsWith('application/cloudevents')) {
    throw invalidHeader(
      header,
      `is an attribute header of binary mode, but Content-Type ${mediaType} sends whole events in the body; send an event's attributes either as ce- headers or in the body, not both`,
      'mixed_modes',
      { content_type: mediaType },
    );
  }
  return true;
}

/** The first `ce-` header of a request: any one makes an append binary mode's, or a refusal. */
export function attributeHeaderOf(req: IncomingMessage): string | undefined {
  for (const name in req.headers) if (name.startsWith(ATTRIBUTE_PREFIX)) return name;
  return undefined;
}

/**
 * An attribute's value from its header (HTTP binding 3.1.3.2): a double-quoted string is
 * unquoted, then one round of percent-decoding is done, and the bytes must be UTF-8.
 */
export function decodeHeaderValue(raw: string, header: string): string {
  if (!HEADER_TEXT.test(raw)) {
    throw invalidHeader(header, 'must be printable US-ASCII: percent-encode other characters as their UTF-8 bytes (€ is %E2%82%AC)', 'not_ascii');
  }
  let value = raw;
  if (value.startsWith('"')) {
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
    if (!quoted) throw invalidHeader(header, 'opens a quoted string that does not close', 'bad_quoting');
    value = quoted[1]!.replace(/\\(.)/g, '$1');
  }
  const stray = /%(?![0-9A-Fa-f]{2})/.exec(value);
  if (stray) {
    throw invalidHeader(header, `has a "%" at character ${stray.index + 1} that does not start a percent-encoded byte (%XX); a "%" itself is %25`, 'bad_percent_encoding');
  }
  try {
    // decodeURIComponent refuses what is not UTF-8, overlong forms and surrogates included.
    return decodeURIComponent(value);
  } catch {
    throw invalidHeader(header, 'percent-encodes bytes that are not UTF-8', 'bad_percent_encoding');
  }
}

/** An attribute's value as a header (HTTP binding 3.1.3.2): space, `"`, `%` and all but printable ASCII as UTF-8 `%XX`. */
export function encodeHeaderValue(value: string): string {
  let encoded = '';
  for (const char of value) {
    if (char > ' ' && char <= '~' && char !== '"' && char !== '%') encoded += char;
    else for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * The event a binary-mode request carries. `req.body` is the data as the body parsers left it:
 * parsed JSON for a JSON media type (stored as `data`), bytes otherwise (stored as
 * `data_base64`, exactly as sent), or nothing.
 */
export function binaryModeEvent(req: Request): CloudEvent {
  const attributes: Array<[string, unknown]> = [];
  for (const [header, values] of Object.entries(req.headersDistinct)) {
    if (!header.startsWith(ATTRIBUTE_PREFIX) || values === undefined) continue;
    const attribute = header.slice(ATTRIBUTE_PREFIX.length);
    if (values.length > 1) throw invalidHeader(header, `is sent ${values.length} times; send each attribute once`, 'repeated', { attribute });
    const elsewhere = NOT_HEADERS.get(attribute);
    if (elsewhere) throw invalidHeader(header, `may not be sent in binary mode: ${elsewhere}`, 'not_a_header', { attribute });
    if ((SERVER_ATTRIBUTES as readonly string[]).includes(attribute)) {
      throw invalidHeader(header, 'is assigned by the database and may not be sent', 'server_attribute', { attribute });
    }
    attributes.push([attribute, decodeHeaderValue(values[0]!, header)]);
  }
  const contentType = req.headers['content-type'];
  if (contentType !== undefined) {
    if (!HEADER_TEXT.test(contentType)) throw invalidHeader('content-type', 'must be printable US-ASCII', 'not_ascii', { attribute: 'datacontenttype' });
    attributes.push(['datacontenttype', contentType]);
  }
  attributes.push(...Object.entries(dataOf(req)));
  // fromEntries defines each name as an own property, so even `ce-__proto__` stays an attribute (and the schema refuses it).
  const event = Object.fromEntries(attributes);
  const validator = componentValidator('CloudEvent');
  if (!validator(event)) throw headerSchemaError(validator.errors![0]!);
  return event as CloudEvent;
}

function dataOf(req: Request): { data?: unknown; data_base64?: string } {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) return body.length === 0 ? {} : { data_base64: body.toString('base64') };
  // The JSON parser reads an empty body as {}; an empty body is an event without data.
  if (body === undefined || req.headers['content-length'] === '0') return {};
  return { data: body };
}

/** A schema error of a binary-mode event, told in terms of the header that was sent. */
function headerSchemaError(error: ErrorObject): InvalidArgumentError {
  const { message, details } = describeSchemaError(error, '');
  const attribute = String(details.field);
  const header = attribute === 'datacontenttype' ? 'content-type' : `${ATTRIBUTE_PREFIX}${attribute}`;
  return new InvalidArgumentError(`${header}${message.slice(attribute.length)}`, { ...details, field: header, attribute });
}

/**
 * The `Factum-Constraints` header: the same JSON array as an AppendRequest's `constraints`,
 * checked by the same schema, so its errors name `constraints[i]…` as the body's would.
 */
export function constraintsHeader(req: Request): unknown[] | undefined {
  const values = req.headersDistinct[CONSTRAINTS_HEADER];
  if (values === undefined) return undefined;
  if (values.length > 1) throw invalidHeader(CONSTRAINTS_HEADER, `is sent ${values.length} times; send one JSON array`, 'repeated');
  const text = values[0]!;
  if (!HEADER_TEXT.test(text)) throw invalidHeader(CONSTRAINTS_HEADER, 'must be printable US-ASCII: write other characters in its JSON as \\u escapes', 'not_ascii');
  let constraints: unknown;
  try {
    constraints = JSON.parse(text);
  } catch {
    throw invalidHeader(CONSTRAINTS_HEADER, 'is not valid JSON: send the array an AppendRequest holds in constraints', 'not_json');
  }
  assertJsonNesting(constraints, CONSTRAINTS_HEADER);
  assertSchema<unknown[]>('RevisionConstraints', constraints, 'constraints');
  return constraints;
}

/** How one event is read: Factum's JSON, structured mode, or binary mode. */
export type ReadMode = 'json' | 'structured' | 'binary';

/** `?content_mode=` decides; without it, an Accept that prefers application/cloudevents+json gets structured mode. */
export function eventReadMode(req: Request, contentMode: unknown): ReadMode {
  if (contentMode === 'structured' || contentMode === 'binary') return contentMode;
  return req.accepts(['application/json', STRUCTURED_MEDIA_TYPE]) === STRUCTURED_MEDIA_TYPE ? 'structured' : 'json';
}

/**
 * A stored event as a binary-mode message: every attribute but the data as a `ce-` header
 * (`revision` and `recordedtime` too), `datacontenttype` as Content-Type (application/json for
 * JSON data without one), and the data's bytes as the body.
 */
export function binaryModeMessage(event: StoredEvent): { headers: Record<string, string>; body: Buffer } {
  const { data, data_base64, datacontenttype, ...attributes } = event;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) headers[`${ATTRIBUTE_PREFIX}${name}`] = encodeHeaderValue(String(value));
  if (datacontenttype !== undefined) {
    // A Content-Type has no percent-encoding; one that is not header text cannot be sent as one.
    if (!HEADER_TEXT.test(datacontenttype)) throw unsendable(event, 'its datacontenttype is not printable US-ASCII, so it cannot be a Content-Type');
    headers['content-type'] = datacontenttype;
  } else if (data !== undefined) {
    headers['content-type'] = 'application/json';
  }
  // Clients refuse answers whose headers are over what they read (Node's fetch and http: 16 KiB).
  const headerBytes = Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
  if (headerBytes > maxHeaderSize) throw unsendable(event, `its attributes take ${headerBytes} bytes as headers, over the ${maxHeaderSize} clients read`);
  return { headers, body: dataBytes(data, data_base64, datacontenttype) };
}

function dataBytes(data: unknown, dataBase64: string | undefined, datacontenttype: string | undefined): Buffer {
  if (dataBase64 !== undefined) return Buffer.from(dataBase64, 'base64');
  if (data === undefined) return Buffer.alloc(0);
  // The JSON format keeps non-JSON text as a string: its bytes are the string, not JSON of it.
  const text = typeof data === 'string' && datacontenttype !== undefined && !isJsonMediaType(mediaTypeOf(datacontenttype));
  return Buffer.from(text ? data : JSON.stringify(data), 'utf8');
}

function unsendable(event: StoredEvent, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`event ${event.revision} cannot be read in binary mode: ${why}; read it in structured mode`, {
    field: 'content_mode',
    value: 'binary',
    revision: event.revision,
  });
}
