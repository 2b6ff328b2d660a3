/**
 * State views over real HTTP: multipart upload, rendering at latest / at a revision / at an
 * effective time, parameters, versions, incremental rendering, snapshots across a restart,
 * and components that are refused or misbehave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadComponents, BUILD_TIMEOUT_MS } from '../wasm/components.ts';
import { cloudEvent, errorOf, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let components: Awaited<ReturnType<typeof loadComponents<'order-summary' | 'customer-profile' | 'misbehaving-view' | 'wasi-view' | 'place-order'>>>;
let ts: TestServer;
let api: TestClient;

beforeAll(async () => {
  components = await loadComponents('order-summary', 'customer-profile', 'misbehaving-view', 'wasi-view', 'place-order');
  ts = await startTestServer({ storage: 'file', componentTimeoutMs: '3000', componentMemoryMb: '64' });
  api = ts.client;
}, BUILD_TIMEOUT_MS);
afterAll(() => ts?.stop());

const orderSelector = {
  type: 'or',
  selectors: ['OrderCreated', 'OrderCompleted', 'OrderCancelled'].map((t) => ({ type: 'equals', attr: { event_type: t } })),
};

function upload(db: string, metadata: unknown, wasm: Uint8Array | undefined, path = `/databases/${db}/state-views`, client = api) {
  const form = new FormData();
  if (metadata !== undefined) form.append('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata));
  if (wasm) form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'view.wasm');
  return fetch(client.baseUrl + path, { method: 'POST', body: form }).then(async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any }));
}

let dbSeq = 0;
async function newDatabase(client = api): Promise<string> {
  const name = `views-${++dbSeq}`;
  expect((await client.post('/databases', { name })).status).toBe(201);
  return name;
}

const order = (type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  cloudEvent({ source: 'shop', type, subject: String(data.orderId), datacontenttype: 'application/json', data, ...extra });

describe('publishing', () => {
  it('publishes a state view by multipart upload, lists it and numbers each upload as a new version', async () => {
    const db = await newDatabase();
    const meta = { state_view_name: 'order-summary', description: 'Orders by status', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' };
    const first = await upload(db, meta, components['order-summary']);
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`/databases/${db}/state-views/order-summary?version=1`);
    expect(first.body.state_view).toMatchObject({ ...meta, version: 1, parameters: [], component_bytes: components['order-summary'].byteLength });
    // The seed's alias path publishes too.
    const second = await upload(db, { ...meta, description: 'v2' }, components['order-summary'], `/api/v1/db/${db}/state-views`);
    expect(second.status).toBe(201);
    expect(second.body.state_view.version).toBe(2);

    const list = await api.get(`/databases/${db}/state-views`);
    expect(list.body.state_views).toEqual([
      { name: 'order-summary', description: 'v2', content_type: 'application/json', query_temporality: 'revision', parameterized: false, parameters: [], latest_version: 2 },
    ]);
    expect((await api.get(`/databases/${db}`)).body.state_views).toEqual(['order-summary']);
    const versions = await api.get(`/databases/${db}/state-views/order-summary/versions`);
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
  });

  it.each([
    ['random bytes', () => new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), /not a WebAssembly/i],
    ['a core module', () => new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), /core WebAssembly module/i],
    ['a component with WASI imports', () => components['wasi-view'], /import/i],
    ['a state change uploaded as a view', () => components['place-order'], /state-view|export/i],
  ])('refuses %s with 400 saying why, storing nothing', async (_case, wasm, message) => {
    const db = await newDatabase();
    const reply = await upload(db, { state_view_name: 'v', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, wasm());
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('INVALID_ARGUMENT');
    expect(reply.body.error.message).toMatch(message);
    expect((await api.get(`/databases/${db}/state-views`)).body.state_views).toEqual([]);
  });

  it.each([
    ['no metadata', undefined, true, 'metadata'],
    ['no wasm', { state_view_name: 'v', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, false, 'wasm'],
    ['metadata that is not JSON', '{nope', true, 'metadata'],
    ['no content type', { state_view_name: 'v', event_selector: orderSelector, query_temporality: 'revision' }, true, 'content_type'],
    ['a bad name', { state_view_name: 'Bad Name', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, true, 'state_view_name'],
    ['an empty selector', { state_view_name: 'v', content_type: 'application/json', event_selector: {}, query_temporality: 'revision' }, true, 'event_selector'],
    ['an unknown temporality', { state_view_name: 'v', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'wallclock' }, true, 'query_temporality'],
  ])('refuses an upload with %s with 400 naming the field', async (_case, metadata, withWasm, field) => {
    const db = await newDatabase();
    const reply = await upload(db, metadata, withWasm ? components['order-summary'] : undefined);
    expect(reply.status).toBe(400);
    expect(String(reply.body.error.details.field)).toContain(field);
  });

  it('stores the bytes of identical uploads once, and each version renders', async () => {
    const db = await newDatabase();
    const meta = { state_view_name: 'orders', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' };
    expect((await upload(db, meta, components['order-summary'])).body.state_view.version).toBe(1);
    expect((await upload(db, { ...meta, description: 'same bytes' }, components['order-summary'])).body.state_view.version).toBe(2);
    expect((await upload(db, meta, components['customer-profile'])).body.state_view.version).toBe(3);
    const wasmBlobs = (await ts.server.ctx.store.listBlobs(db, 'state-views/orders/')).filter((k) => k.endsWith('.wasm'));
    expect(wasmBlobs).toHaveLength(2);
    await api.post(`/databases/${db}/events`, { events: [order('OrderCreated', { orderId: 'o-1', total: 5 })] });
    for (const version of [1, 2]) expect((await api.get(`/databases/${db}/state-views/orders?version=${version}`)).body.total_orders, `version ${version}`).toBe(1);
  });

  it('refuses a body that is not multipart, and a component over the size limit with 413', async () => {
    const db = await newDatabase();
    const json = await api.post(`/databases/${db}/state-views`, { state_view_name: 'v' });
    expect(json.status).toBe(400);
    expect(errorOf(json).details.field).toBe('content-type');
    const small = await startTestServer({ storage: 'memory', maxComponentBytes: '1048576' });
    try {
      const smallDb = await newDatabase(small.client);
      const reply = await upload(smallDb, { state_view_name: 'v', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, components['order-summary'], undefined, small.client);
      expect(reply.status).toBe(413);
      expect(reply.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await small.stop();
    }
  });
});

describe('rendering', () => {
  let db: string;
  beforeAll(async () => {
    db = await newDatabase();
    const meta = { state_view_name: 'order-summary', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' };
    expect((await upload(db, meta, components['order-summary'])).status).toBe(201);
    await api.post(`/databases/${db}/events`, {
      events: [order('OrderCreated', { orderId: 'o-1', customerId: 'c-1', total: 100 }), order('OrderCreated', { orderId: 'o-2', customerId: 'c-2', total: 50.25 })],
    });
    await api.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Unrelated' }), order('OrderCompleted', { orderId: 'o-1' })] });
  });

  it('renders at the latest revision with the declared content type, revision and ETag', async () => {
    const reply = await api.get(`/databases/${db}/state-views/order-summary`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.headers.get('factum-revision')).toBe('4');
    expect(reply.headers.get('etag')).toMatch(/^".+"$/);
    // Whatever a view renders, it cannot script the console's origin.
    expect(reply.headers.get('content-security-policy')).toMatch(/^sandbox/);
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.body).toEqual({ total_orders: 2, orders_by_status: { created: 1, completed: 1, cancelled: 0 }, total_revenue: 100 });
  });

  it('renders as of an earlier revision, and refuses a revision in the future', async () => {
    const reply = await api.get(`/databases/${db}/state-views/order-summary?revision=2`);
    expect(reply.headers.get('factum-revision')).toBe('2');
    expect(reply.body).toMatchObject({ total_orders: 2, orders_by_status: { created: 2, completed: 0 }, total_revenue: 0 });
    const future = await api.get(`/databases/${db}/state-views/order-summary?revision=999`);
    expect(future.status).toBe(400);
    expect(errorOf(future).details.field).toBe('revision');
  });

  it('evolves only the new events after a snapshot, and revalidates with If-None-Match', async () => {
    const warm = await api.get(`/databases/${db}/state-views/order-summary`);
    const etag = warm.headers.get('etag')!;
    const again = await api.get(`/databases/${db}/state-views/order-summary`);
    expect(again.headers.get('factum-evolved-events')).toBe('0');
    expect((await api.get(`/databases/${db}/state-views/order-summary`, { 'if-none-match': etag })).status).toBe(304);

    // Events the view does not select change nothing: the ETag still holds.
    await api.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Unrelated' })] });
    expect((await api.get(`/databases/${db}/state-views/order-summary`, { 'if-none-match': etag })).status).toBe(304);

    await api.post(`/databases/${db}/events`, {
      events: [order('OrderCreated', { orderId: 'o-3', customerId: 'c-1', total: 10 }), order('OrderCancelled', { orderId: 'o-2' }), cloudEvent({ type: 'Unrelated' })],
    });
    const fresh = await api.get(`/databases/${db}/state-views/order-summary`, { 'if-none-match': etag });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('factum-evolved-events')).toBe('2');
    expect(fresh.headers.get('etag')).not.toBe(etag);
    expect(fresh.body).toEqual({ total_orders: 3, orders_by_status: { created: 1, completed: 1, cancelled: 1 }, total_revenue: 100 });
  });

  it('answers 404 for an unknown view or version', async () => {
    expect(errorOf(await api.get(`/databases/${db}/state-views/nope`)).code).toBe('NOT_FOUND');
    expect(errorOf(await api.get(`/databases/${db}/state-views/order-summary?version=9`)).code).toBe('NOT_FOUND');
    expect((await api.get(`/databases/${db}/state-views/order-summary?version=0`)).status).toBe(400);
  });
});

describe('parameters, versions, effective time and deletion', () => {
  it('binds parameters into the selector so a parameterized view reads only its own events', async () => {
    const db = await newDatabase();
    const meta = {
      state_view_name: 'customer-profile',
      content_type: 'application/json',
      event_selector: { type: 'equals', attr: { subject: '{customer_id}' } },
      query_temporality: 'revision',
    };
    const published = await upload(db, meta, components['customer-profile']);
    expect(published.body.state_view.parameters).toEqual(['customer_id']);
    const customerEvent = (type: string, data: Record<string, unknown>) => cloudEvent({ source: 'crm', type, subject: String(data.customerId), data });
    await api.post(`/databases/${db}/events`, {
      events: [
        customerEvent('CustomerRegistered', { customerId: 'c-1', name: 'Ada', creditLimit: 1000 }),
        customerEvent('CustomerRegistered', { customerId: 'c-2', name: 'Bob', creditLimit: 10 }),
        customerEvent('OrderCreated', { orderId: 'o-1', customerId: 'c-1', total: 120 }),
        customerEvent('CreditLimitChanged', { customerId: 'c-1', creditLimit: 2500 }),
      ],
    });
    const ada = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-1`);
    expect(ada.status).toBe(200);
    expect(ada.headers.get('factum-evolved-events')).toBe('3');
    expect(ada.body).toMatchObject({ customer_id: 'c-1', name: 'Ada', credit_limit: 2500, order_count: 1, total_spent: 120, available_credit: 2380 });
    const bob = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-2`);
    expect(bob.headers.get('factum-evolved-events')).toBe('1');
    expect(bob.body).toMatchObject({ name: 'Bob', credit_limit: 10 });
    const missing = await api.get(`/databases/${db}/state-views/customer-profile`);
    expect(missing.status).toBe(400);
    expect(errorOf(missing).details.field).toBe('customer_id');
    expect((await api.get(`/databases/${db}/state-views`)).body.state_views[0]).toMatchObject({ parameterized: true, parameters: ['customer_id'] });
  });

  it('renders an older version on request', async () => {
    const db = await newDatabase();
    const base = { state_view_name: 'orders', content_type: 'application/json', query_temporality: 'revision' };
    await upload(db, { ...base, event_selector: { event_type: 'OrderCreated' } }, components['order-summary']);
    await upload(db, { ...base, event_selector: orderSelector }, components['order-summary']);
    await api.post(`/databases/${db}/events`, { events: [order('OrderCreated', { orderId: 'o-1', total: 5 }), order('OrderCompleted', { orderId: 'o-1' })] });
    const v1 = await api.get(`/databases/${db}/state-views/orders?version=1`);
    expect(v1.headers.get('factum-state-view-version')).toBe('1');
    expect(v1.body.orders_by_status).toMatchObject({ created: 1, completed: 0 });
    const latest = await api.get(`/databases/${db}/state-views/orders`);
    expect(latest.headers.get('factum-state-view-version')).toBe('2');
    expect(latest.body.orders_by_status).toMatchObject({ created: 0, completed: 1 });
  });

  it('renders an effective-time view over the events that took effect by then', async () => {
    const db = await newDatabase();
    await upload(db, { state_view_name: 'orders-by-time', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'effective_timestamp' }, components['order-summary']);
    await api.post(`/databases/${db}/events`, {
      events: [
        order('OrderCreated', { orderId: 'late', total: 7 }, { time: '2024-03-01T00:00:00Z' }),
        order('OrderCreated', { orderId: 'early', total: 3 }, { time: '2024-01-01T00:00:00Z' }),
      ],
    });
    const jan = await api.get(`/databases/${db}/state-views/orders-by-time?effective_time=2024-02-01T00:00:00Z`);
    expect(jan.body.total_orders).toBe(1);
    expect((await api.get(`/databases/${db}/state-views/orders-by-time`)).body.total_orders).toBe(2);
    expect((await api.get(`/databases/${db}/state-views/orders-by-time?effective_time=yesterday`)).status).toBe(400);
  });

  it('deletes a view with its versions and snapshots', async () => {
    const db = await newDatabase();
    await upload(db, { state_view_name: 'gone', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, components['order-summary']);
    await api.post(`/databases/${db}/events`, { events: [order('OrderCreated', { orderId: 'o', total: 1 })] });
    expect((await api.get(`/databases/${db}/state-views/gone`)).status).toBe(200);
    expect((await api.delete(`/databases/${db}/state-views/gone`)).status).toBe(204);
    expect((await api.get(`/databases/${db}/state-views/gone`)).status).toBe(404);
    expect(errorOf(await api.delete(`/databases/${db}/state-views/gone`)).code).toBe('NOT_FOUND');
    expect(await ts.server.ctx.store.listBlobs(db, '')).toEqual([]);
  });
});

describe('snapshots and misbehaving components', () => {
  const snapshotSets = async (db: string, view: string) =>
    new Set((await ts.server.ctx.store.listBlobs(db, `state-view-snapshots/${view}/`)).map((k) => k.split('/').slice(0, 4).join('/'))).size;

  it('refuses parameters a view does not take, naming those it does, and stores nothing for them', async () => {
    const db = await newDatabase();
    await upload(db, { state_view_name: 'orders', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, components['order-summary']);
    await upload(db, { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
    await api.post(`/databases/${db}/events`, { events: [order('OrderCreated', { orderId: 'o-1', total: 5 }), cloudEvent({ source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { customerId: 'c-1', name: 'Ada', creditLimit: 10 } })] });
    expect((await api.get(`/databases/${db}/state-views/orders`)).status).toBe(200);
    expect((await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-1`)).status).toBe(200);
    const before = await ts.server.ctx.store.listBlobs(db, 'state-view-snapshots/');

    const typo = await api.get(`/databases/${db}/state-views/orders?revison=1`);
    expect(typo.status).toBe(400);
    expect(errorOf(typo)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'revison', parameters: [] } });
    expect(errorOf(typo).message).toContain('it takes none');
    for (let i = 0; i < 20; i++) {
      const tagged = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-1&utm_source=x${i}`);
      expect(tagged.status).toBe(400);
      expect(errorOf(tagged).message).toContain('its parameters are customer_id');
    }
    const long = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=${'c'.repeat(5000)}`);
    expect(long.status).toBe(400);
    expect(errorOf(long).details.field).toBe('customer_id');
    expect(await ts.server.ctx.store.listBlobs(db, 'state-view-snapshots/')).toEqual(before);
  });

  it('keeps snapshots for a bounded number of parameter sets, dropping the least recently rendered', async () => {
    const db = await newDatabase();
    await upload(db, { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
    const customers = ['c-1', 'c-2', 'c-3', 'c-4'];
    await api.post(`/databases/${db}/events`, {
      events: customers.map((id) => cloudEvent({ source: 'crm', type: 'CustomerRegistered', subject: id, data: { customerId: id, name: id, creditLimit: 10 } })),
    });
    const { ctx } = ts.server;
    const realNow = ctx.now;
    let clock = Date.parse('2030-01-01T00:00:00Z');
    ctx.settings = { maxViewSnapshotSets: 3 };
    ctx.now = () => new Date(clock);
    try {
      const render = async (id: string) => {
        clock += 120_000;
        const reply = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=${id}`);
        expect(reply.status).toBe(200);
        return Number(reply.headers.get('factum-evolved-events'));
      };
      for (const id of ['c-1', 'c-2', 'c-3']) expect(await render(id)).toBe(1);
      expect(await render('c-1')).toBe(0); // from its snapshot, and now the most recent
      expect(await render('c-4')).toBe(1); // a fourth set: c-2, the least recently rendered, goes
      expect(await snapshotSets(db, 'customer-profile')).toBe(3);
      expect(await render('c-1')).toBe(0);
      expect(await render('c-3')).toBe(0);
      expect(await render('c-2')).toBe(1); // evolved again from the start
      expect(await snapshotSets(db, 'customer-profile')).toBe(3);
    } finally {
      ctx.now = realNow;
      delete ctx.settings;
    }
  });

  it('keeps snapshots across a restart, so rendering evolves only what came after', async () => {
    const db = await newDatabase();
    await upload(db, { state_view_name: 'orders', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, components['order-summary']);
    await api.post(`/databases/${db}/events`, { events: Array.from({ length: 20 }, (_, i) => order('OrderCreated', { orderId: `o-${i}`, total: 1 })) });
    expect((await api.get(`/databases/${db}/state-views/orders`)).headers.get('factum-evolved-events')).toBe('20');
    ts = await ts.restart();
    api = ts.client;
    await api.post(`/databases/${db}/events`, { events: [order('OrderCompleted', { orderId: 'o-1' }), order('OrderCompleted', { orderId: 'o-2' })] });
    const after = await api.get(`/databases/${db}/state-views/orders`);
    expect(after.headers.get('factum-evolved-events')).toBe('2');
    expect(after.body).toMatchObject({ total_orders: 20, orders_by_status: { created: 18, completed: 2 } });
  });

  it('stops a view that loops, exhausts memory, floods output or crashes, and keeps serving the others', async () => {
    const db = await newDatabase();
    const meta = (name: string) => ({ state_view_name: name, content_type: 'text/plain', event_selector: { event_type: 'Tick' }, query_temporality: 'revision' });
    await upload(db, { ...meta('misbehaving'), parameters: ['mode', 'size'] }, components['misbehaving-view']);
    await upload(db, { ...meta('orders'), content_type: 'application/json', event_selector: orderSelector }, components['order-summary']);
    await api.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Tick' }), order('OrderCreated', { orderId: 'o', total: 2 })] });
    expect((await api.get(`/databases/${db}/state-views/misbehaving`)).text).toBe('1');

    for (const [mode, status, code] of [
      ['loop', 429, 'RESOURCE_EXHAUSTED'],
      ['grow', 429, 'RESOURCE_EXHAUSTED'],
      ['big&size=20000000', 429, 'RESOURCE_EXHAUSTED'],
      ['throw', 500, 'INTERNAL'],
    ] as const) {
      const started = Date.now();
      const reply = await api.get(`/databases/${db}/state-views/misbehaving?mode=${mode}`);
      expect(reply.status, mode).toBe(status);
      expect(errorOf(reply).code).toBe(code);
      expect(Date.now() - started).toBeLessThan(20_000);
      const healthy = await api.get(`/databases/${db}/state-views/orders`);
      expect(healthy.status).toBe(200);
      expect(healthy.body.total_orders).toBe(1);
      expect((await api.get('/health')).status).toBe(200);
    }
  }, 120_000);
});
