/**
 * The CloudEvents HTTP binding, driven by the official CloudEvents SDK for JavaScript: events
 * sent with HTTP.binary, HTTP.structured and emitterFor(httpTransport(url)) are read back in
 * both content modes and compared, attribute by attribute, with what the SDK itself decodes from
 * the message it sent. Then constraints and retries through the binding, and bad input: each a
 * 400 in the error shape naming the attribute's header, with nothing written. Memory and file stores.
 */
import { request as httpRequest } from 'node:http';
import { CloudEvent, emitterFor, HTTP, httpTransport, Mode, type Message } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf, type Reply } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** The spec's own example of a percent-encoded header value (HTTP binding 3.1.3.2). */
const SPEC_EXAMPLE = { decoded: 'Euro € 😀', encoded: 'Euro%20%E2%82%AC%20%F0%9F%98%80' };

let dbSeq = 0;

/** An event's attributes as a plain object, for comparing: SDK events carry undefined members and binary data twice. */
function attributesOf(event: CloudEvent | Record<string, unknown>): Record<string, unknown> {
  const plain = Object.fromEntries(Object.entries({ ...event }).filter(([, value]) => value !== undefined));
  // The SDK keeps binary data both as bytes (data) and as data_base64; the base64 is the comparable form.
  if (plain.data_base64 !== undefined) delete plain.data;
  return plain;
}

/** What is stored and read back, without the two attributes the database adds. */
function withoutServerAttributes(event: Record<string, unknown>): Record<string, unknown> {
  const { revision: _revision, recordedtime: _recordedtime, ...rest } = event;
  return rest;
}

interface RawReply extends Reply {
  bytes: Buffer;
  rawHeaders: Record<string, string>;
}

/** Sends headers exactly as given (repeated ones, latin1 bytes), which fetch would refuse or merge. */
function send(baseUrl: string, method: string, path: string, headers: Array<[string, string]>, body?: Buffer | string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    // Raw headers are sent as listed, so Host and Content-Length are listed too.
    const framing: Array<[string, string]> = [['Host', url.host], ...(body === undefined ? [] : ([['Content-Length', String(Buffer.byteLength(body))]] as Array<[string, string]>))];
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: [...framing, ...headers].flat() }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        const rawHeaders = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
        const json = (res.headers['content-type'] ?? '').includes('json') && text ? JSON.parse(text) : text;
        resolve({ status: res.statusCode!, headers: new Headers(rawHeaders), body: json, text, bytes, rawHeaders });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A message's headers as [name, value] pairs. */
const headerPairs = (message: Message): Array<[string, string]> => Object.entries(message.headers).map(([k, v]) => [k, String(v)]);

describe.each(['memory', 'file'] as const)('the CloudEvents HTTP binding (%s store)', (storage) => {
  let ts: TestServer;
  let baseUrl: string;

  beforeAll(async () => {
    ts = await startTestServer({ storage });
    baseUrl = ts.server.url;
  });
  afterAll(() => ts?.stop());

  async function newDatabase(): Promise<string> {
    const name = `ce-${process.pid}-${++dbSeq}`;
    expect((await ts.client.post('/databases', { name })).status).toBe(201);
    return name;
  }

  const post = (db: string, message: Message, extra: Array<[string, string]> = []) =>
    send(baseUrl, 'POST', `/databases/${db}/events`, [...headerPairs(message), ...extra], message.body as Buffer | string | undefined);

  async function latestRevision(db: string): Promise<number> {
    return (await ts.client.get(`/databases/${db}`)).body.latest_revision as number;
  }

  /** Reads one event back: as structured JSON, and as a binary-mode message. */
  async function readBack(db: string, revision: number): Promise<{ structured: RawReply; binary: RawReply }> {
    const structured = await send(baseUrl, 'GET', `/databases/${db}/events/${revision}`, [['Accept', 'application/cloudevents+json']]);
    const binary = await send(baseUrl, 'GET', `/databases/${db}/events/${revision}?content_mode=binary`, []);
    expect(structured.status).toBe(200);
    expect(binary.status).toBe(200);
    return { structured, binary };
  }

  /**
   * Sends `message`, reads the event back both ways, and checks it against the SDK's own reading
   * of the message it sent: the stored event in structured mode, and HTTP.toEvent of both answers.
   */
  async function roundTrip(db: string, message: Message): Promise<{ stored: Record<string, unknown>; structured: RawReply; binary: RawReply }> {
    const sent = attributesOf(HTTP.toEvent(message) as CloudEvent);
    const reply = await post(db, message);
    expect(reply.status, reply.text).toBe(200);
    const { structured, binary } = await readBack(db, reply.body.revision);
    expect(structured.headers.get('content-type')).toBe('application/cloudevents+json; charset=utf-8');

    const stored = structured.body as Record<string, unknown>;
    expect(attributesOf(withoutServerAttributes(HTTP.toEvent({ headers: structured.rawHeaders, body: structured.text }) as unknown as Record<string, unknown>))).toEqual(sent);
    // A receiver hands the SDK JSON data as text, other data as bytes.
    const body = /json/.test(binary.headers.get('content-type') ?? '') ? binary.text : binary.bytes;
    const fromBinary = attributesOf(HTTP.toEvent({ headers: binary.rawHeaders, body }) as CloudEvent);
    // Binary mode has headers of strings (the database's two attributes too), and a Content-Type for JSON data.
    const asHeaders = Object.fromEntries(Object.entries(sent).map(([name, value]) => [name, name === 'data' || name === 'data_base64' ? value : String(value)]));
    const contentType = sent.datacontenttype ?? (sent.data !== undefined ? 'application/json' : undefined);
    expect(fromBinary).toEqual({ ...asHeaders, ...(contentType ? { datacontenttype: contentType } : {}), revision: String(stored.revision), recordedtime: stored.recordedtime });
    return { stored, structured, binary };
  }

  describe('appending with the SDK', () => {
    it('HTTP.binary with JSON data, every optional attribute and extensions', async () => {
      const db = await newDatabase();
      const event = new CloudEvent({
        source: 'urn:sensor:7',
        type: 'com.example.reading',
        subject: 'room-12',
        time: '2024-03-01T08:15:00.000Z',
        dataschema: 'https://example.com/schemas/reading.json',
        data: { celsius: 21.5, tags: ['a', 'b'], nested: { ok: true } },
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        region: 'eu-west',
      });
      const { stored } = await roundTrip(db, HTTP.binary(event));
      expect(stored).toMatchObject({
        specversion: '1.0',
        id: event.id,
        data: { celsius: 21.5, tags: ['a', 'b'], nested: { ok: true } },
        traceparent: event.traceparent,
        region: 'eu-west',
        datacontenttype: 'application/json; charset=utf-8',
      });
      expect(stored.data_base64).toBeUndefined();
    });

    it('HTTP.binary with binary data: stored as data_base64, every byte read back', async () => {
      const db = await newDatabase();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const event = new CloudEvent({ source: 'urn:camera:1', type: 'com.example.frame', datacontenttype: 'application/octet-stream', data: bytes });
      const { stored, binary } = await roundTrip(db, HTTP.binary(event));
      expect(stored.data_base64).toBe(bytes.toString('base64'));
      expect(stored.data).toBeUndefined();
      expect(binary.bytes.equals(bytes)).toBe(true);
      expect(binary.headers.get('content-type')).toBe('application/octet-stream');
      // The SDK reads binary data back as the very bytes.
      expect(Buffer.from((HTTP.toEvent({ headers: binary.rawHeaders, body: binary.bytes }) as CloudEvent<Uint8Array>).data!).equals(bytes)).toBe(true);
    });

    it('HTTP.binary with text data of a non-JSON type keeps the bytes as sent', async () => {
      const db = await newDatabase();
      const text = 'line one\nZürich ✓\n';
      const event = new CloudEvent({ source: 'urn:log', type: 'com.example.line', datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from(text, 'utf8') });
      const { stored, binary } = await roundTrip(db, HTTP.binary(event));
      expect(Buffer.from(stored.data_base64 as string, 'base64').toString('utf8')).toBe(text);
      expect(binary.text).toBe(text);
    });

    it('HTTP.structured with JSON data and extensions of every type', async () => {
      const db = await newDatabase();
      const event = new CloudEvent({ source: 'urn:orders', type: 'com.example.order', subject: 'o-1', data: { total: 9.5 }, priority: 3, urgent: true, channel: 'web' });
      const { stored, binary } = await roundTrip(db, HTTP.structured(event));
      // Structured mode keeps the JSON types of extensions.
      expect(stored).toMatchObject({ priority: 3, urgent: true, channel: 'web', data: { total: 9.5 } });
      expect(binary.headers.get('ce-priority')).toBe('3');
      expect(binary.headers.get('ce-urgent')).toBe('true');
      expect(binary.headers.get('content-type')).toBe('application/json');
      expect(JSON.parse(binary.text)).toEqual({ total: 9.5 });
    });

    it('HTTP.structured with binary data', async () => {
      const db = await newDatabase();
      const bytes = Buffer.from([0, 255, 1, 254, 10, 13]);
      const event = new CloudEvent({ source: 'urn:camera:2', type: 'com.example.frame', datacontenttype: 'image/x-raw', data: bytes });
      const { stored, binary } = await roundTrip(db, HTTP.structured(event));
      expect(stored.data_base64).toBe(bytes.toString('base64'));
      expect(binary.bytes.equals(bytes)).toBe(true);
    });

    it('emitterFor(httpTransport(url)), in binary and structured mode, with constraints as a header', async () => {
      const db = await newDatabase();
      const url = `${baseUrl}/databases/${db}/events`;
      const binaryEmit = emitterFor(httpTransport(url));
      const structuredEmit = emitterFor(httpTransport(url), { mode: Mode.STRUCTURED });

      const first = new CloudEvent({ source: 'urn:emitter', type: 'com.example.emitted', subject: 's-1', data: { n: 1 }, batch: 'b1' });
      const second = new CloudEvent({ source: 'urn:emitter', type: 'com.example.emitted', subject: 's-1', data: { n: 2 } });
      // httpTransport resolves with the answer's body and headers.
      const answer = async (sending: Promise<unknown>) => JSON.parse((await sending as { body: string }).body);
      expect(await answer(binaryEmit(first))).toEqual({ revision: 1, events_count: 1 });
      const atOne = JSON.stringify([{ type: 'max_revision', revision: 1, selector: { subject: 's-1' } }]);
      expect(await answer(structuredEmit(second, { headers: { 'Factum-Constraints': atOne } }))).toEqual({ revision: 2, events_count: 1 });
      // The same constraint now fails: subject s-1 is at revision 2.
      const third = new CloudEvent({ source: 'urn:emitter', type: 'com.example.emitted', subject: 's-1', data: { n: 3 } });
      const refused = await answer(binaryEmit(third, { headers: { 'Factum-Constraints': atOne } }));
      expect(refused.error.code).toBe('FAILED_PRECONDITION');
      expect(await latestRevision(db)).toBe(2);

      for (const [revision, event] of [[1, first], [2, second]] as const) {
        const { structured } = await readBack(db, revision);
        const expected = attributesOf(HTTP.toEvent(revision === 1 ? HTTP.binary(event) : HTTP.structured(event)) as CloudEvent);
        expect(attributesOf(withoutServerAttributes(structured.body))).toEqual(expected);
      }
    });

    it('answers as any append does: the same status, body and headers', async () => {
      const db = await newDatabase();
      const viaBody = await send(baseUrl, 'POST', `/databases/${db}/events`, [['Content-Type', 'application/json']], JSON.stringify({ events: [cloudEvent()] }));
      const viaBinary = await post(db, HTTP.binary(new CloudEvent({ source: 'urn:x', type: 't', data: { a: 1 } })));
      const viaStructured = await post(db, HTTP.structured(new CloudEvent({ source: 'urn:x', type: 't', data: { a: 2 } })));
      const shape = (reply: RawReply) => ({ status: reply.status, type: reply.headers.get('content-type'), keys: Object.keys(reply.body) });
      expect(shape(viaBinary)).toEqual(shape(viaBody));
      expect(shape(viaStructured)).toEqual(shape(viaBody));
      expect([viaBody.body, viaBinary.body, viaStructured.body]).toEqual([
        { revision: 1, events_count: 1 },
        { revision: 2, events_count: 1 },
        { revision: 3, events_count: 1 },
      ]);
    });
  });

  describe('header values', () => {
    it('percent-decodes attributes on append and percent-encodes them on a binary read', async () => {
      const db = await newDatabase();
      const reply = await send(
        baseUrl,
        'POST',
        `/databases/${db}/events`,
        [
          ['ce-specversion', '1.0'],
          ['ce-id', 'pct-1'],
          ['ce-source', 'urn:a%2Fb'],
          ['ce-type', 'com.example.%74ype'],
          ['ce-subject', SPEC_EXAMPLE.encoded],
          ['ce-note', '"quoted \\"value\\" with spaces"'],
          ['ce-ratio', '100%25'],
        ],
      );
      expect(reply.status, reply.text).toBe(200);
      const { structured, binary } = await readBack(db, reply.body.revision);
      expect(structured.body).toMatchObject({ source: 'urn:a/b', type: 'com.example.type', subject: SPEC_EXAMPLE.decoded, note: 'quoted "value" with spaces', ratio: '100%' });
      expect(structured.body.data).toBeUndefined();
      expect(binary.rawHeaders['ce-subject']).toBe(SPEC_EXAMPLE.encoded);
      expect(binary.rawHeaders['ce-note']).toBe('quoted%20%22value%22%20with%20spaces');
      expect(binary.rawHeaders['ce-ratio']).toBe('100%25');
      // An event without data: an empty body and no Content-Type.
      expect(binary.bytes.length).toBe(0);
      expect(binary.headers.get('content-type')).toBeNull();
    });

    it('reads text data of a non-JSON type, sent in a JSON body, as its text', async () => {
      const db = await newDatabase();
      await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ datacontenttype: 'text/csv', data: 'a,b\n1,2\n' })] });
      const { binary } = await readBack(db, 1);
      expect(binary.headers.get('content-type')).toBe('text/csv');
      expect(binary.text).toBe('a,b\n1,2\n');
    });
  });

  describe('reading', () => {
    it('answers application/json unless structured or binary mode is asked for', async () => {
      const db = await newDatabase();
      await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ data: { x: 1 } })] });
      const plain = await ts.client.get(`/databases/${db}/events/1`);
      expect(plain.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(plain.headers.get('vary')).toBe('Accept');
      const structured = await ts.client.get(`/databases/${db}/events/1?content_mode=structured`);
      expect(structured.headers.get('content-type')).toBe('application/cloudevents+json; charset=utf-8');
      expect(structured.text).toBe(plain.text);
      const preferred = await ts.client.get(`/databases/${db}/events/1`, { accept: 'application/json;q=0.5, application/cloudevents+json' });
      expect(preferred.headers.get('content-type')).toBe('application/cloudevents+json; charset=utf-8');
      const bad = await ts.client.get(`/databases/${db}/events/1?content_mode=batch`);
      expect(bad.status).toBe(400);
      expect(errorOf(bad).details.field).toBe('content_mode');
    });

    it('refuses binary mode for an event whose attributes do not fit in headers', async () => {
      const db = await newDatabase();
      await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ big: 'x'.repeat(20_000) })] });
      const reply = await ts.client.get(`/databases/${db}/events/1?content_mode=binary`);
      expect(reply.status).toBe(400);
      expect(errorOf(reply).details).toMatchObject({ field: 'content_mode', revision: 1 });
      expect((await ts.client.get(`/databases/${db}/events/1?content_mode=structured`)).status).toBe(200);
    });
  });

  describe('constraints and retries', () => {
    const claim = (id: string) => new CloudEvent({ id, source: 'accounts', type: 'UsernameClaimed', subject: 'alice', data: { by: id } });
    const unique = JSON.stringify([{ type: 'max_revision', revision: 0, selector: { event_type: 'UsernameClaimed', subject: 'alice' } }]);

    it('checks the Factum-Constraints header as the body checks constraints: the same 409, nothing written', async () => {
      const db = await newDatabase();
      expect((await post(db, HTTP.binary(claim('c-1')), [['Factum-Constraints', unique]])).body).toEqual({ revision: 1, events_count: 1 });

      const viaBinary = await post(db, HTTP.binary(claim('c-2')), [['Factum-Constraints', unique]]);
      const viaStructured = await post(db, HTTP.structured(claim('c-3')), [['Factum-Constraints', unique]]);
      const viaBody = await ts.client.post(`/databases/${db}/events`, { events: [attributesOf(claim('c-4'))], constraints: JSON.parse(unique) });
      for (const reply of [viaBinary, viaStructured]) {
        expect(reply.status).toBe(409);
        expect(errorOf(reply)).toEqual(errorOf(viaBody));
      }
      expect(errorOf(viaBody).code).toBe('FAILED_PRECONDITION');
      expect(await latestRevision(db)).toBe(1);
    });

    it('gives the header the body’s own schema errors', async () => {
      const db = await newDatabase();
      const cases = [
        [{ type: 'nope' }],
        [{ type: 'revision_range', min: 5, max: 2 }],
        [{ type: 'max_revision', revision: 0, selector: {} }],
        [{ type: 'max_revision', revision: -1 }],
        Array.from({ length: 101 }, () => ({ type: 'min_revision', revision: 0 })),
        { type: 'max_revision', revision: 0 },
      ];
      for (const constraints of cases) {
        const viaHeader = await post(db, HTTP.binary(claim('s-1')), [['Factum-Constraints', JSON.stringify(constraints)]]);
        const viaBody = await ts.client.post(`/databases/${db}/events`, { events: [attributesOf(claim('s-1'))], constraints });
        expect(viaBody.status, JSON.stringify(constraints)).toBe(400);
        expect(viaHeader.status).toBe(400);
        expect(errorOf(viaHeader), JSON.stringify(constraints)).toEqual(errorOf(viaBody));
      }
      expect(await latestRevision(db)).toBe(0);
    });

    it('refuses a header that is not JSON, sent twice, or beside an AppendRequest body', async () => {
      const db = await newDatabase();
      const notJson = await post(db, HTTP.binary(claim('h-1')), [['Factum-Constraints', '[{type: max_revision}]']]);
      expect(errorOf(notJson).details).toMatchObject({ field: 'factum-constraints', reason: 'not_json' });
      const twice = await post(db, HTTP.binary(claim('h-1')), [['Factum-Constraints', '[]'], ['Factum-Constraints', '[]']]);
      expect(errorOf(twice).details).toMatchObject({ field: 'factum-constraints', reason: 'repeated' });
      const beside = await send(baseUrl, 'POST', `/databases/${db}/events`, [['Content-Type', 'application/json'], ['Factum-Constraints', '[]']], JSON.stringify({ events: [cloudEvent()] }));
      expect(errorOf(beside).details.field).toBe('factum-constraints');
      expect([notJson.status, twice.status, beside.status]).toEqual([400, 400, 400]);
      expect(await latestRevision(db)).toBe(0);
    });

    it('takes the header for a batch too', async () => {
      const db = await newDatabase();
      const batch = JSON.stringify([cloudEvent(), cloudEvent()]);
      const headers: Array<[string, string]> = [['Content-Type', 'application/cloudevents-batch+json'], ['Factum-Constraints', '[{"type":"max_revision","revision":0}]']];
      expect((await send(baseUrl, 'POST', `/databases/${db}/events`, headers, batch)).body).toEqual({ revision: 2, events_count: 2 });
      const again = await send(baseUrl, 'POST', `/databases/${db}/events`, headers, JSON.stringify([cloudEvent()]));
      expect(again.status).toBe(409);
      expect(await latestRevision(db)).toBe(2);
    });

    it('answers a retry with the original revision, and a reused id with 409 ALREADY_EXISTS', async () => {
      const db = await newDatabase();
      const event = new CloudEvent({ source: 'urn:retry', type: 't', data: Buffer.from([1, 2, 3]), datacontenttype: 'application/octet-stream' });
      expect((await post(db, HTTP.binary(event))).body).toEqual({ revision: 1, events_count: 1 });
      expect((await post(db, HTTP.binary(event))).body).toEqual({ revision: 1, events_count: 1, replayed: true });
      // The same event in structured mode is the same event.
      expect((await post(db, HTTP.structured(event))).body).toEqual({ revision: 1, events_count: 1, replayed: true });
      // A retry is recognised before constraints, which the original write now breaks.
      expect((await post(db, HTTP.binary(event), [['Factum-Constraints', '[{"type":"max_revision","revision":0}]']])).body).toMatchObject({ replayed: true });
      const reused = await post(db, HTTP.binary(event.cloneWith({ data: Buffer.from([9]) })));
      expect(reused.status).toBe(409);
      expect(errorOf(reused).code).toBe('ALREADY_EXISTS');
      expect(await latestRevision(db)).toBe(1);
    });
  });

  describe('bad input', () => {
    const base: Array<[string, string]> = [
      ['ce-specversion', '1.0'],
      ['ce-id', 'bad-1'],
      ['ce-source', 'urn:bad'],
      ['ce-type', 'com.example.bad'],
    ];
    const without = (name: string) => base.filter(([n]) => n !== name);

    /** [what, headers, body, the field the answer must name] */
    const cases: Array<[string, Array<[string, string]>, string | Buffer | undefined, string]> = [
      ['no ce-specversion', without('ce-specversion'), undefined, 'ce-specversion'],
      ['no ce-id', without('ce-id'), undefined, 'ce-id'],
      ['no ce-source', without('ce-source'), undefined, 'ce-source'],
      ['no ce-type', without('ce-type'), undefined, 'ce-type'],
      ['specversion 0.3', [...without('ce-specversion'), ['ce-specversion', '0.3']], undefined, 'ce-specversion'],
      ['an empty ce-id', [...without('ce-id'), ['ce-id', '']], undefined, 'ce-id'],
      ['a ce-time that is no time', [...base, ['ce-time', 'yesterday']], undefined, 'ce-time'],
      ['a ce-dataschema that is no URI', [...base, ['ce-dataschema', 'not%20a%20uri']], undefined, 'ce-dataschema'],
      ['a stray %', [...base, ['ce-subject', '100%']], undefined, 'ce-subject'],
      ['a % with one hex digit', [...base, ['ce-subject', 'a%4']], undefined, 'ce-subject'],
      ['an overlong UTF-8 form', [...base, ['ce-subject', '%C0%A0']], undefined, 'ce-subject'],
      ['bytes that are not UTF-8', [...base, ['ce-subject', '%FF%FE']], undefined, 'ce-subject'],
      ['an encoded surrogate', [...base, ['ce-subject', '%ED%A0%80']], undefined, 'ce-subject'],
      ['raw non-ASCII bytes', [...base, ['ce-subject', 'Z\u00fcrich']], undefined, 'ce-subject'],
      ['an unclosed quoted string', [...base, ['ce-subject', '"open']], undefined, 'ce-subject'],
      ['an attribute sent twice', [...base, ['ce-id', 'bad-2']], undefined, 'ce-id'],
      ['an extension name with an underscore', [...base, ['ce-my_ext', 'x']], undefined, 'ce-my_ext'],
      ['an extension name with a hyphen', [...base, ['ce-my-ext', 'x']], undefined, 'ce-my-ext'],
      ['ce-__proto__', [...base, ['ce-__proto__', 'x']], undefined, 'ce-__proto__'],
      ['ce-datacontenttype', [...base, ['ce-datacontenttype', 'text/plain']], undefined, 'ce-datacontenttype'],
      ['ce-data', [...base, ['ce-data', 'x']], undefined, 'ce-data'],
      ['ce-data_base64', [...base, ['ce-data_base64', 'AA==']], undefined, 'ce-data_base64'],
      ['ce-revision', [...base, ['ce-revision', '7']], undefined, 'ce-revision'],
      ['ce-recordedtime', [...base, ['ce-recordedtime', '2024-01-01T00:00:00Z']], undefined, 'ce-recordedtime'],
      ['a ce-id over 1024 characters', [...without('ce-id'), ['ce-id', 'i'.repeat(1025)]], undefined, 'ce-id'],
      ['a ce-subject over 1024 characters once decoded', [...base, ['ce-subject', '%41'.repeat(1025)]], undefined, 'ce-subject'],
      ['a Content-Type of raw non-ASCII bytes', [...base, ['Content-Type', 'text/pl\u00e4in']], 'x', 'content-type'],
      ['a JSON body that is not JSON', [...base, ['Content-Type', 'application/json']], '{"a":', '(body)'],
      ['ce- headers with a structured body', [...base, ['Content-Type', 'application/cloudevents+json']], JSON.stringify(cloudEvent()), 'ce-specversion'],
      ['ce- headers with a batch', [...base, ['Content-Type', 'application/cloudevents-batch+json']], JSON.stringify([cloudEvent()]), 'ce-specversion'],
      ['a structured body that is an array', [['Content-Type', 'application/cloudevents+json']], JSON.stringify([cloudEvent()]), '(body)'],
      ['a structured body that is a string', [['Content-Type', 'application/cloudevents+json']], '"event"', '(body)'],
      ['a structured body that is null', [['Content-Type', 'application/cloudevents+json']], 'null', '(body)'],
      ['a structured event without id', [['Content-Type', 'application/cloudevents+json']], JSON.stringify({ specversion: '1.0', source: 's', type: 't' }), 'id'],
      ['a structured event of specversion 0.3', [['Content-Type', 'application/cloudevents+json']], JSON.stringify(cloudEvent({ specversion: '0.3' })), 'specversion'],
      ['a body of another type without ce- headers', [['Content-Type', 'text/plain']], 'hello', 'content-type'],
    ];

    it.each(cases)('%s: 400 naming it, nothing written', async (_what, headers, body, field) => {
      const db = await newDatabase();
      const reply = await send(baseUrl, 'POST', `/databases/${db}/events`, headers, body);
      expect(reply.status, reply.text).toBe(400);
      const error = errorOf(reply);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details.field, error.message).toBe(field);
      if (field.startsWith('ce-')) expect(error.message).toContain(field);
      expect(await latestRevision(db)).toBe(0);
    });

    it('answers headers over the server’s limit with 431 in the error shape, nothing written', async () => {
      const db = await newDatabase();
      const reply = await send(baseUrl, 'POST', `/databases/${db}/events`, [...base, ['ce-big', 'b'.repeat(20 * 1024)]]);
      expect(reply.status).toBe(431);
      expect(errorOf(reply).code).toBe('PAYLOAD_TOO_LARGE');
      expect(await latestRevision(db)).toBe(0);
    });

    it('refuses binary data over the body limit with 413', async () => {
      const small = await startTestServer({ storage, maxBodyBytes: '1024' });
      try {
        expect((await small.client.post('/databases', { name: 'small' })).status).toBe(201);
        const reply = await send(small.server.url, 'POST', '/databases/small/events', [...base, ['Content-Type', 'application/octet-stream']], Buffer.alloc(4096, 7));
        expect(reply.status).toBe(413);
        expect(errorOf(reply).code).toBe('PAYLOAD_TOO_LARGE');
        expect((await small.client.get('/databases/small')).body.latest_revision).toBe(0);
      } finally {
        await small.stop();
      }
    });
  });
});
