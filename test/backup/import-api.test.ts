/**
 * The routes backups use, over HTTP: importing stored events (dense continuation, offsets,
 * retries, the checks of an append) and component versions under their own numbers and times,
 * and downloading a version's component.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents, TRANSPILED_DIR } from '../wasm/components.ts';
import { publish, VIEWS } from './shop.ts';

let ts: TestServer;
let api: TestClient;
let wasm: Uint8Array;
beforeAll(async () => {
  ({ 'order-summary': wasm } = await loadComponents('order-summary'));
  ts = await startTestServer({ componentCacheDir: TRANSPILED_DIR });
  api = ts.client;
}, BUILD_TIMEOUT_MS);
afterAll(() => ts?.stop());

let seq = 0;
async function database(): Promise<string> {
  const name = `import-${++seq}`;
  await api.post('/databases', { name });
  return name;
}

/** Stored events as an export holds them: revisions from `first`, a recorded time per `perTransaction` events. */
function stored(first: number, count: number, perTransaction = 2): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    ...cloudEvent({ id: `ev-${first + i}`, data: { n: first + i } }),
    revision: first + i,
    recordedtime: new Date(Date.UTC(2024, 5, 1, 0, 0, Math.floor((first + i - 1) / perTransaction))).toISOString(),
  }));
}
const ndjson = (events: unknown[]) => `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
const importNdjson = (db: string, events: unknown[], query = '') => api.post(`/databases/${db}/import${query}`, ndjson(events), { 'content-type': 'application/x-ndjson' });

describe('POST /databases/{database}/import', () => {
  it('stores events at their revisions with their recorded times, a transaction per recorded time', async () => {
    const db = await database();
    const events = stored(1, 5);
    const reply = await importNdjson(db, events, '?offset=0');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revision: 5, imported: 5, already_stored: 0, offset: 0, transactions: 3 });
    expect((await api.get(`/databases/${db}/events?limit=10`)).body.events).toEqual(events);
  });

  it('takes a JSON array too, answers a dry run without writing, and skips what a retry finds stored', async () => {
    const db = await database();
    const events = stored(1, 6);
    expect((await api.post(`/databases/${db}/import?dry_run=true`, events)).body).toEqual({ revision: 6, imported: 6, already_stored: 0, offset: 0, transactions: 3, dry_run: true });
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
    await api.post(`/databases/${db}/import`, events.slice(0, 4));
    expect((await api.post(`/databases/${db}/import`, events)).body).toEqual({ revision: 6, imported: 2, already_stored: 4, offset: 0, transactions: 1 });
    expect((await api.post(`/databases/${db}/import`, events)).body).toMatchObject({ imported: 0, already_stored: 6 });
  });

  it('appends after other events with an offset, and finds that offset again on a retry', async () => {
    const db = await database();
    await api.post(`/databases/${db}/events`, { events: [cloudEvent(), cloudEvent()] });
    const events = stored(1, 3);
    expect((await importNdjson(db, events)).body).toMatchObject({ revision: 5, imported: 3, offset: 2 });
    expect((await importNdjson(db, events)).body).toMatchObject({ imported: 0, already_stored: 3, offset: 2 });
    const third = (await api.get(`/databases/${db}/events/3`)).body;
    expect(third).toEqual({ ...events[0], revision: 3 });
  });

  it('refuses a batch that does not continue the database densely, or has a gap', async () => {
    const db = await database();
    const gapAtHead = await importNdjson(db, stored(3, 2), '?offset=0');
    expect(gapAtHead.status).toBe(409);
    expect(errorOf(gapAtHead)).toMatchObject({ code: 'FAILED_PRECONDITION', details: { latest_revision: 0, expected_revision: 3 } });
    expect(errorOf(gapAtHead).message).toContain('revisions 1 to 2 are missing');
    const events = stored(1, 4);
    const gap = await importNdjson(db, [events[0], events[1], events[3]]);
    expect(gap.status).toBe(400);
    expect(errorOf(gap)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { index: 2, field: 'revision', expected_revision: 3 } });
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
  });

  it('checks each event like an append, names the line of one that is not JSON, and writes nothing of a refused batch', async () => {
    const db = await database();
    const [a, b] = stored(1, 2);
    const broken = await api.post(`/databases/${db}/import`, `${JSON.stringify(a)}\n{"specversion":\n`, { 'content-type': 'application/x-ndjson' });
    expect(errorOf(broken)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { line: 2, index: 1 } });
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(errorOf(await importNdjson(db, [a, { ...b, data: deep }])).details).toMatchObject({ line: 2, reason: 'max_depth' });
    const both = await importNdjson(db, [a, { ...b, data_base64: 'AAAA' }]);
    expect(errorOf(both)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { index: 1, field: 'data_base64' } });
    const noTime = await importNdjson(db, [a, { ...b, recordedtime: undefined }]);
    expect(errorOf(noTime).message).toMatch(/recordedtime/);
    const badName = await importNdjson(db, [a, { ...b, BadName: 1 }]);
    expect(badName.status).toBe(400);
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
    // revision and recordedtime belong to imports only.
    expect(errorOf(await api.post(`/databases/${db}/events`, { events: [a] })).details).toMatchObject({ field: 'revision' });
  });

  it('refuses an event whose source and id are stored as a different event', async () => {
    const db = await database();
    const events = stored(1, 2);
    await importNdjson(db, events);
    const changed = await importNdjson(db, [{ ...events[0], data: { n: 'other' } }, ...stored(2, 1)]);
    expect(errorOf(changed)).toMatchObject({ code: 'ALREADY_EXISTS', details: { index: 0, revision: 1 } });
  });
});

describe('component versions', () => {
  const form = (metadata: unknown, bytes = wasm) => {
    const body = new FormData();
    body.append('metadata', JSON.stringify(metadata));
    body.append('wasm', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'c.wasm');
    return body;
  };
  const post = async (db: string, metadata: unknown, bytes = wasm) => {
    const response = await fetch(`${api.baseUrl}/databases/${db}/import/state-views`, { method: 'POST', body: form(metadata, bytes) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('downloads the component of a version, and imports versions under their own numbers and creation times', async () => {
    const from = await database();
    await publish(api, `/databases/${from}/state-views`, VIEWS.orderSummary, wasm);
    await publish(api, `/databases/${from}/state-views`, { ...VIEWS.orderSummary, description: 'two' }, wasm);
    const versions = (await api.get(`/databases/${from}/state-views/order-summary/versions`)).body.versions as Array<Record<string, unknown>>;
    const download = await fetch(`${api.baseUrl}/databases/${from}/state-views/order-summary/versions/2/component`);
    expect(download.headers.get('content-type')).toBe('application/wasm');
    expect(download.headers.get('etag')).toBe(`"${createHash('sha256').update(wasm).digest('hex')}"`);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(wasm))).toBe(true);
    expect((await api.get(`/databases/${from}/state-views/order-summary/versions/3/component`)).status).toBe(404);

    const to = await database();
    expect(await post(to, versions[1])).toMatchObject({ status: 409, body: { error: { code: 'FAILED_PRECONDITION', message: expect.stringContaining('import versions 1 to 1 first') } } });
    expect(await post(to, versions[0])).toEqual({ status: 201, body: { version: versions[0] } });
    expect(await post(to, versions[0])).toEqual({ status: 200, body: { version: versions[0], replayed: true } });
    expect(await post(to, { ...versions[0], description: 'not the same' })).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS' } } });
    expect(await post(to, versions[1], wasm.subarray(0, 100))).toMatchObject({ status: 400, body: { error: { details: { field: 'wasm' } } } });
    expect(await post(to, versions[1])).toMatchObject({ status: 201 });
    expect((await api.get(`/databases/${to}/state-views/order-summary/versions`)).body.versions).toEqual(versions);
  });
});
