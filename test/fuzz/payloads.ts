/**
 * Generators of request bodies by media type: JSON (random, mistyped, broken, nested past the
 * limit, oversized, compressed or claiming to be), multipart (broken in each way busboy can
 * meet, or well-formed around bad parts), forms, and bytes of no type at all. A body knows its
 * own headers (Content-Type, Content-Encoding, framing).
 */
import fc from 'fast-check';
import { encodeBody, formBody, multipartBody, multipartType, nestedArrays, nestedSelector, type Part } from './bodies.ts';
import { createOrder, SEEDED_CUSTOMER } from './seed.ts';
import type { Header } from './values.ts';

export interface Payload {
  headers: Header[];
  body: Buffer;
  /** Sent chunked, without Content-Length. */
  chunked: boolean;
  /** What it is, for failure messages. */
  label: string;
}

/** The server under fuzzing takes JSON bodies up to this (its --max-body-bytes). */
export const FUZZ_MAX_BODY_BYTES = 64 * 1024;

const DEPTHS = [127, 128, 129, 130, 1_000, 10_000, 100_000];

const cloudEvent = fc.record({
  specversion: fc.constant('1.0'),
  id: fc.nat().map((n) => `fuzz-${n}`),
  source: fc.constantFrom('crm', 'shop', 'fuzz'),
  type: fc.constantFrom('CustomerRegistered', 'OrderCreated', 'Fuzzed'),
  subject: fc.constantFrom(SEEDED_CUSTOMER, 'c-9', 'x'),
  data: fc.jsonValue({ maxDepth: 3 }),
});

/** Bodies that pass (or nearly pass) the named schema, so the fuzz reaches past validation. */
function validExample(schemaName: string | undefined): fc.Arbitrary<unknown> {
  switch (schemaName) {
    case 'CreateDatabaseRequest':
      return fc.stringMatching(/^fz-[a-z0-9]{1,12}$/).map((name) => ({ name }));
    case 'AppendRequest':
      return fc.array(cloudEvent, { minLength: 1, maxLength: 3 }).map((events) => ({ events }));
    case 'CloudEventBatch':
      return fc.array(cloudEvent, { minLength: 1, maxLength: 3 });
    case 'QueryRequest':
      return fc.record({ selectors: fc.constant([{ subject: SEEDED_CUSTOMER }]), limit: fc.integer({ min: 1, max: 20 }), direction: fc.constantFrom('forward', 'backward') });
    case 'ProcessCommandRequest':
      return fc.record({ command: fc.nat().map((n) => createOrder(`o-${n}`, n % 700)) });
    default:
      return fc.constant({});
  }
}

/** The example with one thing changed: a field set to any JSON, a field dropped, or a type swapped. */
function mutated(example: fc.Arbitrary<unknown>, keys: string[]): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), fc.string({ maxLength: 8 }));
  return fc.oneof(
    example,
    fc.tuple(example, key, fc.jsonValue({ maxDepth: 3 })).map(([value, k, v]) => (isObject(value) ? { ...value, [k]: v } : value)),
    fc.tuple(example, key).map(([value, k]) => {
      if (!isObject(value)) return value;
      const { [k]: _dropped, ...rest } = value;
      return rest;
    }),
    example.map((value) => [value]),
  );
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** JSON text that is deeper than the limit, or right at it, in the places a body nests. */
const deepJson: fc.Arbitrary<string> = fc.tuple(fc.constantFrom(...DEPTHS), fc.constantFrom('arrays', 'objects', 'selector', 'event', 'command')).map(([depth, where]) => {
  switch (where) {
    case 'arrays':
      return nestedArrays(depth);
    case 'objects':
      return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    case 'selector':
      return `{"selector":${nestedSelector(depth)}}`;
    case 'event':
      return `{"events":[{"specversion":"1.0","id":"deep-${depth}","source":"s","type":"t","data":${nestedArrays(depth)}}]}`;
    default:
      return `{"command":${nestedArrays(depth)}}`;
  }
});

const brokenJson = fc.oneof(
  fc.constantFrom('', '{', '{"a":}', '[1,]', '{"a":1}}', 'nul', 'NaN', '1e99999', '"\\ud800"', '\ufeff{}', '{"a":1,"a":2}', '{"__proto__":{"x":1}}', '\u0000', '{}garbage'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** JSON-ish text for a JSON body of `schemaName`, whose top-level keys are `keys`. */
export function jsonText(schemaName: string | undefined, keys: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: mutated(validExample(schemaName), keys).map((value) => JSON.stringify(value)), weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)), weight: 2 },
    { arbitrary: brokenJson, weight: 2 },
    { arbitrary: deepJson, weight: 2 },
    // Over the body limit, in one string.
    { arbitrary: fc.constant(JSON.stringify({ [keys[0] ?? 'x']: 'x'.repeat(FUZZ_MAX_BODY_BYTES + 10) })), weight: 1 },
  );
}

/** A JSON body in `mediaType`, sent plain, compressed (rightly or wrongly), or with an odd charset. */
export function jsonPayload(mediaType: string, schemaName: string | undefined, keys: string[]): fc.Arbitrary<Payload> {
  const coding = fc.constantFrom('identity', 'identity', 'identity', 'gzip', 'deflate', 'br', 'garbage-gzip', 'bogus', 'gzip, gzip');
  const charset = fc.constantFrom('', '', '', '; charset=utf-8', '; charset=UTF-16', '; charset=latin1', '; charset=bogus', ';;', '; boundary=x');
  return fc.tuple(jsonText(schemaName, keys), coding, charset).map(([text, how, params]) => {
    const headers: Header[] = [['Content-Type', `${mediaType}${params}`]];
    let body: Buffer = Buffer.from(text);
    if (how === 'gzip' || how === 'deflate' || how === 'br') body = encodeBody(how, body);
    if (how !== 'identity') headers.push(['Content-Encoding', how === 'garbage-gzip' ? 'gzip' : how]);
    return { headers, body, chunked: false, label: `${mediaType}${params} ${how} json (${body.length} bytes): ${text.slice(0, 80)}` };
  });
}

const metadataText = fc.oneof(
  fc.constant(JSON.stringify({ state_view_name: 'fuzzed', content_type: 'application/json', event_selector: { subject: 'x' }, query_temporality: 'revision' })),
  fc.constant(JSON.stringify({ state_change_name: 'fuzzed' })),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  brokenJson,
  fc.constantFrom(...DEPTHS).map((depth) => `{"state_view_name":"v","content_type":"application/json","query_temporality":"revision","event_selector":${nestedSelector(depth)}}`),
);

/** Form fields the console's upload forms send. */
const uploadFields = fc.dictionary(
  fc.constantFrom('state_view_name', 'description', 'content_type', 'query_temporality', 'event_selector', 'state_change_name', 'state_views'),
  fc.oneof(fc.string({ maxLength: 30 }), brokenJson, deepJson, fc.constantFrom('fuzzed', 'application/json', 'revision', '{"subject":"x"}', '[{"name":"nope"}]')),
  { maxKeys: 5 },
);

const wasmPart = fc.oneof(
  fc.constant<Part[]>([]),
  fc.uint8Array({ maxLength: 64 }).map((bytes): Part[] => [{ name: 'wasm', value: Buffer.from(bytes), filename: 'c.wasm', contentType: 'application/wasm' }]),
  fc.constant<Part[]>([{ name: 'wasm', value: Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), filename: 'core.wasm' }]),
  fc.constant<Part[]>([{ name: 'wasm', value: '', filename: '' }]),
);

/** Parts of a multipart body: a metadata part (as field or file), form fields, a wasm part, extras. */
const multipartParts: fc.Arbitrary<Part[]> = fc
  .tuple(
    fc.option(fc.tuple(metadataText, fc.boolean()).map(([text, asFile]): Part => ({ name: 'metadata', value: text, ...(asFile ? { filename: 'metadata.json', contentType: 'application/json' } : {}) }))),
    uploadFields,
    wasmPart,
    fc.constantFrom<Part[]>([], [], [{ name: 'extra', value: 'x', filename: 'x.bin' }], Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, value: 'x' })), [{ name: 'metadata', value: 'x'.repeat(1024 * 1024 + 10) }]),
  )
  .map(([metadata, fields, wasm, extra]) => [...(metadata ? [metadata] : []), ...Object.entries(fields).map(([name, value]) => ({ name, value })), ...wasm, ...extra]);

/** A multipart body: well-formed around whatever parts, or broken in its framing. */
export const multipartPayload: fc.Arbitrary<Payload> = fc.tuple(multipartParts, fc.constantFrom('whole', 'whole', 'whole', 'no-boundary', 'cut', 'huge-header', 'no-close', 'lf-only', 'wrong-boundary', 'quoted-boundary', 'gzip')).map(([parts, how]) => {
  const boundary = 'fz-b';
  let type = multipartType(boundary);
  let body = multipartBody(boundary, parts);
  const headers: Header[] = [];
  switch (how) {
    case 'no-boundary':
      type = 'multipart/form-data';
      break;
    case 'cut':
      body = body.subarray(0, Math.floor(body.length / 2));
      break;
    case 'huge-header':
      body = multipartBody(boundary, [{ name: 'metadata', value: '{}', extraHeaders: [`X-Pad: ${'p'.repeat(100 * 1024)}`] }, ...parts]);
      break;
    case 'no-close':
      body = multipartBody(boundary, parts, { close: false });
      break;
    case 'lf-only':
      body = Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
      break;
    case 'wrong-boundary':
      type = multipartType('other');
      break;
    case 'quoted-boundary':
      type = `multipart/form-data; boundary="${boundary}"`;
      break;
    case 'gzip':
      body = encodeBody('gzip', body);
      headers.push(['Content-Encoding', 'gzip']);
      break;
  }
  headers.unshift(['Content-Type', type]);
  return { headers, body, chunked: false, label: `multipart ${how} (${parts.map((p) => p.name).join(',')}; ${body.length} bytes)` };
});

/** Fields the console's forms read, for url-encoded bodies. */
const FORM_KEYS = ['name', 'command', 'parameters', 'dry_run', 'confirm', 'state_view_name', 'event_selector', 'state_change_name', 'state_views'];

export const formPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc
    .dictionary(fc.constantFrom(...FORM_KEYS), fc.oneof(fc.string({ maxLength: 40 }), brokenJson, deepJson, fc.constantFrom('fz', 'fz-new', 'true', JSON.stringify(createOrder('o-form')), '{"customer_id":"c-7"}')), { maxKeys: 4 })
    .map((fields) => formBody(fields)),
  fc.constantFrom('%zz=1', 'a=%ff%fe', '=&=&', 'name', `name=${'n'.repeat(9 * 1024)}`, Array.from({ length: 50 }, (_, i) => `k${i}=v`).join('&'), `command=${'c'.repeat(1024 * 1024 + 10)}`),
).map((text) => ({ headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from(text), chunked: false, label: `form: ${text.slice(0, 80)}` }));

/** A body of no or another type, and no body at all. */
export const otherPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.constant<Payload>({ headers: [], body: Buffer.alloc(0), chunked: false, label: 'no body' }),
  fc.tuple(fc.constantFrom('text/plain', 'application/octet-stream', 'application/xml', '', 'garbage', 'application/json; charset', 'multipart/mixed; boundary=x'), fc.uint8Array({ maxLength: 300 })).map(([type, bytes]) => ({
    headers: type ? ([['Content-Type', type]] as Header[]) : [],
    body: Buffer.from(bytes),
    chunked: false,
    label: `${type || 'no type'} (${bytes.length} bytes)`,
  })),
);

/** The same payload sent chunked, at times: framing is the server's to undo. */
export function maybeChunked(payload: fc.Arbitrary<Payload>): fc.Arbitrary<Payload> {
  return fc.tuple(payload, fc.integer({ min: 0, max: 9 })).map(([p, n]) => (n === 0 && p.body.length > 0 ? { ...p, chunked: true, label: `${p.label}, chunked` } : p));
}
