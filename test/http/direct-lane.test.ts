/**
 * The direct lane (src/http/direct-lane.ts): which requests it takes, and that what it answers is
 * what the Express app answers the same request, for successes and every kind of refusal, with
 * keys on. `Sec-Fetch-Site: same-origin` sends a request to the app without changing what it
 * means (only `cross-site` is refused), so each request is sent both ways and the answers compared.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directLane } from '../../src/http/direct-lane.ts';
import { plainJsonRequests } from '../../src/http/json-body.ts';
import { MAX_JSON_DEPTH } from '../../src/core/json-depth.ts';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(url: string, method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, method, path, headers: body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('which requests the lane takes', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const lane = directLane({
      handlers: [(_req, res) => void res.end('lane')],
      readsPlainJson: plainJsonRequests({ limit: 1000, type: ['application/json', 'application/*+json'] }),
      rateLimited: false,
      logger: pino({ level: 'silent' }),
    });
    server = createServer((req, res) => {
      if (lane(req, res)) return;
      req.resume();
      res.end('app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const json = { 'content-type': 'application/json' };
  const cases: Array<[string, string, string, Record<string, string>, string | undefined, 'lane' | 'app']> = [
    ['an append from a program', 'POST', '/databases/shop/events', json, '{}', 'lane'],
    ['a paged query', 'POST', '/databases/shop/query', { ...json, accept: 'application/json' }, '{}', 'lane'],
    ['a batch in the CloudEvents media type', 'POST', '/databases/shop/events', { 'content-type': 'application/cloudevents-batch+json' }, '[]', 'lane'],
    ['a key and a cookie', 'POST', '/databases/shop/events', { ...json, authorization: 'Bearer x', cookie: 'a=b' }, '{}', 'lane'],
    ['a read', 'GET', '/databases/shop/events', {}, undefined, 'app'],
    ['another resource', 'POST', '/databases', json, '{}', 'app'],
    ['a query string', 'POST', '/databases/shop/events?x=1', json, '{}', 'app'],
    ['a trailing slash', 'POST', '/databases/shop/events/', json, '{}', 'app'],
    ['another case', 'POST', '/Databases/shop/events', json, '{}', 'app'],
    ['a percent-encoded name', 'POST', '/databases/sh%6Fp/events', json, '{}', 'app'],
    ['a browser (Origin)', 'POST', '/databases/shop/events', { ...json, origin: 'http://127.0.0.1:9' }, '{}', 'app'],
    ['a browser (Sec-Fetch-Site)', 'POST', '/databases/shop/events', { ...json, 'sec-fetch-site': 'same-origin' }, '{}', 'app'],
    ['binary mode', 'POST', '/databases/shop/events', { ...json, 'ce-id': '1' }, '{}', 'app'],
    ['a streamed query', 'POST', '/databases/shop/query', { ...json, accept: 'application/x-ndjson' }, '{}', 'app'],
    ['a compressed body', 'POST', '/databases/shop/events', { ...json, 'content-encoding': 'gzip' }, '{}', 'app'],
    ['a charset other than UTF-8', 'POST', '/databases/shop/events', { 'content-type': 'application/json; charset=latin1' }, '{}', 'app'],
    ['another media type', 'POST', '/databases/shop/events', { 'content-type': 'text/plain' }, '{}', 'app'],
    ['a body over the limit', 'POST', '/databases/shop/events', json, 'x'.repeat(1001), 'app'],
    ['a chunked body', 'POST', '/databases/shop/events', { ...json, 'transfer-encoding': 'chunked' }, undefined, 'app'],
  ];

  for (const [what, method, path, headers, body, expected] of cases) {
    it(`${expected === 'lane' ? 'takes' : 'leaves to the app'} ${what}`, async () => {
      expect((await send(url, method, path, body, headers)).text).toBe(expected);
    });
  }

  it('takes nothing on a server with rate limits', async () => {
    const lane = directLane({ handlers: [], readsPlainJson: () => true, rateLimited: true, logger: pino({ level: 'silent' }) });
    expect(lane({ method: 'POST', url: '/databases/shop/events', headers: {} } as never, {} as never)).toBe(false);
  });
});

describe('what the lane answers, against the app', () => {
  const ADMIN_KEY = 'factum_direct-lane-test-admin-key-012345';
  let ts: TestServer;
  let reader: string;
  let otherDatabase: string;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'file', maxBodyBytes: '4096' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    await ts.client.post('/databases', { name: 'shop' }, admin);
    await ts.client.post('/databases', { name: 'other' }, admin);
    reader = (await ts.client.post('/keys', { name: 'reader', databases: ['shop'], permissions: ['read'] }, admin)).body.secret;
    otherDatabase = (await ts.client.post('/keys', { name: 'other', databases: ['other'], permissions: ['read', 'append'] }, admin)).body.secret;
  });
  afterAll(() => ts?.stop());

  const viaLane = (path: string, body: string, headers: Record<string, string>) => send(ts.server.url, 'POST', path, body, headers);
  const viaApp = (path: string, body: string, headers: Record<string, string>) => send(ts.server.url, 'POST', path, body, { ...headers, 'sec-fetch-site': 'same-origin' });
  /**
   * What must be equal: the status, the body and the headers that say anything about the answer.
   * Not `Connection`: a refusal closes it when the body had not all arrived yet, which is timing.
   */
  const essence = (answer: Answer) => ({
    status: answer.status,
    text: answer.text,
    contentType: answer.headers['content-type'],
    retryAfter: answer.headers['retry-after'],
    authenticate: answer.headers['www-authenticate'],
  });

  const admin = () => ({ 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` });
  const deep = `{"events":[{"specversion":"1.0","id":"d","source":"s","type":"t","data":${'['.repeat(MAX_JSON_DEPTH + 2)}${']'.repeat(MAX_JSON_DEPTH + 2)}}]}`;
  const refusals: Array<[string, string, string, () => Record<string, string>]> = [
    ['no key', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()] }), () => ({ 'content-type': 'application/json' })],
    ['an unknown key', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()] }), () => ({ 'content-type': 'application/json', authorization: 'Bearer factum_nobody' })],
    ['a malformed Authorization', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()] }), () => ({ 'content-type': 'application/json', authorization: 'Basic abc' })],
    ['a key without append', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()] }), () => ({ 'content-type': 'application/json', authorization: `Bearer ${reader}` })],
    ['a key for another database', '/databases/shop/query', JSON.stringify({}), () => ({ 'content-type': 'application/json', authorization: `Bearer ${otherDatabase}` })],
    ['an unknown database', '/databases/nowhere/events', JSON.stringify({ events: [cloudEvent()] }), admin],
    ['a body that is not JSON', '/databases/shop/events', '{"events": [', admin],
    ['a body the schema refuses', '/databases/shop/events', JSON.stringify({ events: [{ id: 'x' }] }), admin],
    ['no events', '/databases/shop/events', JSON.stringify({ events: [] }), admin],
    ['a body nested too deep', '/databases/shop/events', deep, admin],
    ['attributes the database assigns', '/databases/shop/events', JSON.stringify({ events: [cloudEvent({ revision: 3 })] }), admin],
    ['two events with one id', '/databases/shop/events', JSON.stringify({ events: [cloudEvent({ id: 'twice' }), cloudEvent({ id: 'twice' })] }), admin],
    ['a failed constraint', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()], constraints: [{ type: 'max_revision', revision: -1 }] }), admin],
    ['a query the schema refuses', '/databases/shop/query', JSON.stringify({ selector: { nope: 1 } }), admin],
    ['a Factum-Constraints header on an AppendRequest', '/databases/shop/events', JSON.stringify({ events: [cloudEvent()] }), () => ({ ...admin(), 'factum-constraints': '[]' })],
  ];

  for (const [what, path, body, headers] of refusals) {
    it(`refuses ${what} as the app does`, async () => {
      const lane = await viaLane(path, body, headers());
      const app = await viaApp(path, body, headers());
      expect(lane.status, lane.text).toBeGreaterThanOrEqual(400);
      expect(lane.status).toBeLessThan(500);
      expect(essence(lane)).toEqual(essence(app));
    });
  }

  it('appends and queries as the app does, and nothing it refused was stored', async () => {
    const event = cloudEvent({ subject: 'order-1', data: { total: 12.5, note: 'crème' } });
    const first = await viaLane('/databases/shop/events', JSON.stringify({ events: [event] }), admin());
    const second = await viaApp('/databases/shop/events', JSON.stringify({ events: [cloudEvent({ subject: 'order-1' })] }), admin());
    expect(first.status, first.text).toBe(200);
    expect(essence(second)).toEqual({ ...essence(first), text: JSON.stringify({ revision: JSON.parse(first.text).revision + 1, events_count: 1 }) });
    // A retry of the first append is answered with its revision, both ways.
    const retried = await viaLane('/databases/shop/events', JSON.stringify({ events: [event] }), admin());
    expect(JSON.parse(retried.text)).toEqual({ ...JSON.parse(first.text), replayed: true });
    expect(essence(await viaApp('/databases/shop/events', JSON.stringify({ events: [event] }), admin()))).toEqual(essence(retried));

    const query = JSON.stringify({ selector: { subject: 'order-1' } });
    const laneQuery = await viaLane('/databases/shop/query', query, admin());
    expect(laneQuery.status, laneQuery.text).toBe(200);
    expect(essence(await viaApp('/databases/shop/query', query, admin()))).toEqual(essence(laneQuery));
    // The two appends above, and not one event of the refusals.
    const all = JSON.parse((await viaLane('/databases/shop/query', '{}', admin())).text) as { events: Array<{ id: string }> };
    expect(all.events.map((e) => e.id)).toEqual([event.id, expect.any(String)]);
    expect(all.events[0]).toMatchObject({ ...event, revision: 1 });
  });
});
