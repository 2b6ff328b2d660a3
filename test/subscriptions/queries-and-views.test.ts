/**
 * Streamed queries (NDJSON, past the page limit, consistent with one revision), offsets per
 * stream, and live state views over SSE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf } from '../support/http.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { openNdjson, revisionsOf, type WireFrame } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

let ts: SubscriptionServer;
let seq = 0;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'memory' }, { heartbeatMs: 300, liveViewIntervalMs: 200 });
});
afterAll(() => ts?.stop());

async function newDatabase(): Promise<string> {
  const name = `qv-${++seq}`;
  expect((await ts.client.post('/databases', { name })).status).toBe(201);
  return name;
}

/** Appends `count` events in transactions of up to 1000, `make(i)` giving each one's fields. */
async function appendMany(db: string, count: number, make: (i: number) => Record<string, unknown>): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    const events = Array.from({ length: Math.min(1000, count - from) }, (_, k) => cloudEvent(make(from + k)));
    expect((await ts.client.post(`/databases/${db}/events`, { events })).status).toBe(200);
  }
}

const queryStream = (db: string, body: unknown) =>
  openNdjson(`${ts.url}/databases/${db}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function readAll(stream: Awaited<ReturnType<typeof openNdjson>>): Promise<WireFrame[]> {
  const frames: WireFrame[] = [];
  for (let frame = await stream.next(); frame; frame = await stream.next()) frames.push(frame);
  return frames;
}

describe('streamed queries', () => {
  it('streams every matching event past the 10 000 page limit, then the revision it is consistent with', async () => {
    const db = await newDatabase();
    await appendMany(db, 12_500, (i) => ({ type: i % 5 === 0 ? 'Rare' : 'Common', subject: `s-${i}` }));
    const stream = await queryStream(db, { selectors: [{ event_type: 'Common' }] });
    expect(stream.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    // Appends while it streams do not get into the answer.
    await appendMany(db, 10, () => ({ type: 'Common' }));
    const frames = await readAll(stream);
    const revisions = revisionsOf(frames);
    expect(revisions).toHaveLength(10_000);
    expect(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!)).toBe(true);
    expect(revisions.every((r) => (r - 1) % 5 !== 0)).toBe(true);
    expect(frames.at(-1)).toEqual({ type: 'complete', revision: 12_500, events: 10_000 });
  });

  it('caps the stream at an explicit limit with a cursor to go on, runs backward, and pages as before without the Accept', async () => {
    const db = await newDatabase();
    await appendMany(db, 30, (i) => ({ subject: `s-${i % 3}` }));
    const capped = await readAll(await queryStream(db, { selectors: [{ subject: 's-0' }], limit: 4 }));
    expect(revisionsOf(capped)).toEqual([1, 4, 7, 10]);
    const complete = capped.at(-1)!;
    expect(complete).toMatchObject({ type: 'complete', revision: 30, events: 4, next_cursor: expect.any(String) });
    const rest = await readAll(await queryStream(db, { selectors: [{ subject: 's-0' }], cursor: complete.next_cursor }));
    expect(revisionsOf(rest)).toEqual([13, 16, 19, 22, 25, 28]);
    expect(rest.at(-1)).toEqual({ type: 'complete', revision: 30, events: 6 });

    const backward = await readAll(await queryStream(db, { selectors: [{ subject: 's-2' }], direction: 'backward' }));
    expect(revisionsOf(backward)).toEqual([30, 27, 24, 21, 18, 15, 12, 9, 6, 3]);

    const paged = await ts.client.post(`/databases/${db}/query`, { selectors: [{ subject: 's-1' }], limit: 2 });
    expect(paged.body).toMatchObject({ has_more: true, revision: 30 });
    expect(paged.body.events).toHaveLength(2);
  });

  it('refuses a bad query with an HTTP error before it streams', async () => {
    const db = await newDatabase();
    const bad = await queryStream(db, { selectors: [{}] });
    expect(bad.status).toBe(400);
    expect((await queryStream('no-such-db', {})).status).toBe(404);
  });
});

describe('offsets', () => {
  it('gives the latest revision and each stream’s, bounded by limit', async () => {
    const db = await newDatabase();
    await appendMany(db, 9, (i) => ({ source: ['crm', 'orders', 'billing'][i % 3] }));
    const offsets = await ts.client.get(`/databases/${db}/offsets`);
    expect(offsets.body).toEqual({ revision: 9, streams: { billing: 9, crm: 7, orders: 8 }, has_more: false });
    expect((await ts.client.get(`/databases/${db}/offsets?limit=2`)).body).toEqual({ revision: 9, streams: { billing: 9, crm: 7 }, has_more: true });
    expect(errorOf(await ts.client.get(`/databases/${db}/offsets?limit=0`)).code).toBe('INVALID_ARGUMENT');
    expect((await ts.client.get(`/databases/${(await newDatabase())}/offsets`)).body).toEqual({ revision: 0, streams: {}, has_more: false });
  });
});

describe('live state views', () => {
  let wasm: Uint8Array;
  beforeAll(async () => {
    wasm = (await loadComponents('order-summary'))['order-summary'];
  }, BUILD_TIMEOUT_MS);

  it('sends the view now, then a coalesced new rendering when events it selects arrive', async () => {
    const db = await newDatabase();
    const form = new FormData();
    const metadata = { state_view_name: 'orders', content_type: 'application/json', event_selector: { stream: 'shop' }, query_temporality: 'revision' };
    form.append('metadata', new Blob([JSON.stringify(metadata)], { type: 'application/json' }));
    form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'view.wasm');
    expect((await fetch(`${ts.url}/databases/${db}/state-views`, { method: 'POST', body: form })).status).toBe(201);
    const order = (n: number) => cloudEvent({ source: 'shop', type: 'OrderCreated', subject: `o-${n}`, data: { orderId: `o-${n}`, customerId: 'c', total: 10 } });
    await ts.client.post(`/databases/${db}/events`, { events: [order(1)] });

    const res = await fetch(`${ts.url}/databases/${db}/state-views/orders`, { headers: { accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const messages = sseMessages(res.body!);
    const first = await messages.next();
    expect(first.id).toBe('1');
    expect(first.data).toMatchObject({ type: 'state', revision: 1, version: 1, content_type: 'application/json', content: { total_orders: 1 } });

    // Events it does not select change nothing; a burst of those it does comes as one rendering.
    await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ source: 'elsewhere' })] });
    for (let n = 2; n <= 4; n++) await ts.client.post(`/databases/${db}/events`, { events: [order(n)] });
    const states: Array<{ id?: string; data: any }> = [];
    while (states.at(-1)?.data.revision !== 5) {
      const next = await messages.next();
      if (next.data.type === 'state') states.push(next);
    }
    expect(states.at(-1)).toEqual({ id: '5', data: expect.objectContaining({ type: 'state', revision: 5, content: expect.objectContaining({ total_orders: 4 }) }) });
    // Three orders appended within one live-view interval: not a rendering each.
    expect(states.length).toBeLessThanOrEqual(2);

    expect((await ts.client.get(`/databases/${db}/state-views/orders?revision=1`, { accept: 'text/event-stream' })).status).toBe(400);
    expect((await ts.client.get(`/databases/${db}/state-views/missing`, { accept: 'text/event-stream' })).status).toBe(404);
    // Without the Accept, a plain render as ever.
    expect((await ts.client.get(`/databases/${db}/state-views/orders`)).body).toMatchObject({ total_orders: 4 });
    await messages.cancel();
  });
});

/** Reads SSE messages: their `id` and their `data` parsed. */
function sseMessages(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    cancel: () => reader.cancel(),
    async next(): Promise<{ id?: string; data: any }> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (fields.data === undefined) continue;
          return { id: fields.id, data: JSON.parse(fields.data) };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}
