/**
 * State changes over real HTTP: publishing, processing commands into events, business
 * rejections, dry runs, misbehaving components, and a race of orders against a credit limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { cloudEvent, errorOf, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let components: Record<'customer-profile' | 'process-order' | 'order-summary' | 'misbehaving-change', Uint8Array>;
let ts: TestServer;
let api: TestClient;

beforeAll(async () => {
  components = await loadComponents('customer-profile', 'process-order', 'order-summary', 'misbehaving-change');
  ts = await startTestServer({ storage: 'file', componentTimeoutMs: '3000', componentMemoryMb: '64' });
  api = ts.client;
}, BUILD_TIMEOUT_MS);
afterAll(() => ts?.stop());

async function upload(db: string, kind: 'state-views' | 'state-changes', metadata: unknown, wasm: Uint8Array) {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'component.wasm');
  const res = await fetch(`${api.baseUrl}/databases/${db}/${kind}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as any };
}

let dbSeq = 0;
/** A database with the customer-profile view, the process-order state change and customers. */
async function shop(customers: Record<string, number>): Promise<string> {
  const db = `shop-${++dbSeq}`;
  await api.post('/databases', { name: db });
  expect(
    (await upload(db, 'state-views', { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile'])).status,
  ).toBe(201);
  const published = await upload(
    db,
    'state-changes',
    { state_change_name: 'process-order', description: 'Creates orders within credit', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] },
    components['process-order'],
  );
  expect(published.status).toBe(201);
  const registrations = Object.entries(customers).map(([id, limit]) =>
    cloudEvent({ source: 'crm', type: 'CustomerRegistered', subject: id, data: { customerId: id, name: id.toUpperCase(), creditLimit: limit } }),
  );
  if (registrations.length) await api.post(`/databases/${db}/events`, { events: registrations });
  return db;
}

const createOrder = (orderId: string, customerId: string, price: number, quantity = 1) => ({
  type: 'CreateOrder',
  order_id: orderId,
  customer_id: customerId,
  items: [{ product_id: 'p-1', quantity, price }],
});

describe('publishing', () => {
  it('publishes, lists, describes and deletes a state change', async () => {
    const db = await shop({});
    const list = await api.get(`/databases/${db}/state-changes`);
    expect(list.body.state_changes).toEqual([{ name: 'process-order', description: 'Creates orders within credit', state_views: ['customer-profile'], latest_version: 1 }]);
    expect((await api.get(`/databases/${db}`)).body.state_changes).toEqual(['process-order']);
    const one = await api.get(`/databases/${db}/state-changes/process-order`);
    expect(one.body.state_change).toMatchObject({ state_change_name: 'process-order', version: 1 });
    expect((await api.delete(`/databases/${db}/state-changes/process-order`)).status).toBe(204);
    expect((await api.get(`/databases/${db}/state-changes/process-order`)).status).toBe(404);
  });

  it('refuses a state view uploaded as a state change, and a state change reading a view that does not exist', async () => {
    const db = await shop({});
    const wrongWorld = await upload(db, 'state-changes', { state_change_name: 'x' }, components['order-summary']);
    expect(wrongWorld.status).toBe(400);
    const missingView = await upload(db, 'state-changes', { state_change_name: 'x', state_views: [{ name: 'nope' }] }, components['process-order']);
    expect(missingView.status).toBe(404);
    expect((await api.get(`/databases/${db}/state-changes`)).body.state_changes.map((c: { name: string }) => c.name)).toEqual(['process-order']);
  });
});

describe('processing commands', () => {
  it('appends the decided events and answers with them, stored with revisions', async () => {
    const db = await shop({ 'c-1': 1000 });
    const reply = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder('o-1', 'c-1', 29.99, 2) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      success: true,
      revision: 2,
      events: [
        expect.objectContaining({ id: 'order-o-1', source: 'process-order', type: 'OrderCreated', subject: 'c-1', revision: 2, recordedtime: expect.any(String), data: expect.objectContaining({ orderId: 'o-1', total: 59.98 }) }),
      ],
    });
    expect((await api.get(`/databases/${db}/events/2`)).body).toMatchObject({ id: 'order-o-1', data: { customerId: 'c-1' } });
    const profile = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-1`);
    expect(profile.body).toMatchObject({ order_count: 1, available_credit: 940.02 });
    // The same command again stores nothing twice.
    const again = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder('o-1', 'c-1', 29.99, 2) });
    expect(again.body).toMatchObject({ success: true, revision: 2, replayed: true });
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(2);
  });

  it('answers business rejections with the component code, message, details and the status of their kind', async () => {
    const db = await shop({ 'c-1': 100 });
    const credit = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder('o-1', 'c-1', 159.99) });
    expect(credit.status).toBe(409);
    expect(credit.body).toEqual({
      success: false,
      error: { code: 'INSUFFICIENT_CREDIT', message: 'Customer credit limit exceeded', details: { available_credit: 100, order_total: 159.99 } },
    });
    const unknown = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder('o-2', 'c-9', 1) });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('UNKNOWN_CUSTOMER');
    const invalid = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: { type: 'CreateOrder', customer_id: 'c-1', items: [] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ success: false, error: { code: 'INVALID_COMMAND' } });
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(1);
  });

  it('binds view parameters from request parameters before command fields, and says when one is missing', async () => {
    const db = await shop({ 'c-1': 10, 'c-2': 1000 });
    // The profile read is c-2's (parameters win), so the order for 500 fits its credit.
    const reply = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder('o-1', 'c-1', 500), parameters: { customer_id: 'c-2' } });
    expect(reply.status).toBe(200);
    const missing = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: { type: 'CreateOrder' } });
    expect(missing.status).toBe(400);
    expect(errorOf(missing)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'parameters.customer_id' } });
    const notAnObject = await api.post(`/databases/${db}/state-changes/process-order/process`, { command: 'hello' });
    expect(notAnObject.status).toBe(400);
    expect(errorOf(notAnObject)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'command', needs: 'customer_id' } });
    expect(errorOf(notAnObject).message).toMatch(/^command must be a JSON object/);
  });

  it('refuses malformed requests with 400 and unknown state changes with 404', async () => {
    const db = await shop({});
    for (const body of [{}, { command: {}, parameters: { a: 1 } }, { command: {}, extra: true }, { command: {}, last_seen_revision: -1 }]) {
      const reply = await api.post(`/databases/${db}/state-changes/process-order/process`, body);
      expect(reply.status).toBe(400);
      expect(errorOf(reply).code).toBe('INVALID_ARGUMENT');
    }
    expect(errorOf(await api.post(`/databases/${db}/state-changes/nope/process`, { command: {} })).code).toBe('NOT_FOUND');
    expect((await api.post(`/databases/${db}/state-changes/process-order/process?dry_run=maybe`, { command: {} })).status).toBe(400);
  });

  it('answers a dry run with the events and the revisions they would get, writing nothing', async () => {
    const db = await shop({ 'c-1': 1000 });
    const dry = await api.post(`/databases/${db}/state-changes/process-order/process?dry_run=true`, { command: createOrder('o-1', 'c-1', 10) });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ success: true, dry_run: true, revision: 2, events: [{ id: 'order-o-1', revision: 2 }] });
    expect(dry.body.events[0].recordedtime).toBeUndefined();
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(1);
    const rejected = await api.post(`/databases/${db}/state-changes/process-order/process?dry_run=true`, { command: createOrder('o-2', 'c-1', 5000) });
    expect(rejected.status).toBe(409);
  });

  it('stops a state change that loops or crashes, refuses invalid decisions, and keeps serving', async () => {
    const db = await shop({ 'c-1': 1000 });
    expect((await upload(db, 'state-changes', { state_change_name: 'misbehaving' }, components['misbehaving-change'])).status).toBe(201);
    const run = (command: unknown) => api.post(`/databases/${db}/state-changes/misbehaving/process`, { command });
    expect((await run({ id: 'fine' })).status).toBe(200);
    for (const [mode, status, message] of [
      ['loop', 429, /time/i],
      ['throw', 500, /./],
      ['bad-event', 500, /Bad-Name/],
      ['bad-json', 500, /JSON/],
    ] as const) {
      const reply = await run({ mode, id: mode });
      expect(reply.status, mode).toBe(status);
      expect(errorOf(reply).message).toMatch(message);
      expect((await api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder(`after-${mode}`, 'c-1', 1) })).status).toBe(200);
    }
    expect((await api.post(`/databases/${db}/query`, { selectors: [{ stream: 'misbehaving' }] })).body.events.map((e: { id: string }) => e.id)).toEqual(['fine']);
  }, 60_000);

  it('refuses events a component decides by exactly the rules the API applies to a client, writing nothing', async () => {
    const db = await shop({});
    expect((await upload(db, 'state-changes', { state_change_name: 'misbehaving' }, components['misbehaving-change'])).status).toBe(201);
    const decided = { specversion: '1.0', source: 'misbehaving', type: 'Done', datacontenttype: 'application/json', data: {} };
    for (const [mode, attributes, field] of [
      ['long-type', { type: 'T'.repeat(2000) }, 'events[0].type'],
      ['bad-schema', { dataschema: 'not a uri' }, 'events[0].dataschema'],
    ] as const) {
      // The same event sent by a client: the API's own answer.
      const fromClient = await api.post(`/databases/${db}/events`, { events: [{ ...decided, id: mode, ...attributes }] });
      expect(fromClient.status, mode).toBe(400);
      const clientError = errorOf(fromClient);
      expect(clientError.details.field).toBe(field);

      const reply = await api.post(`/databases/${db}/state-changes/misbehaving/process`, { command: { mode, id: mode } });
      expect(reply.status, mode).toBe(500);
      const componentError = errorOf(reply);
      expect(componentError.code).toBe('INTERNAL');
      expect(componentError.message).toContain(clientError.message);
      expect(componentError.details.field).toBe(field);
    }
    expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
  }, 60_000);
});

describe('concurrency', () => {
  it('lets exactly the orders that fit a credit limit through when 20 race, and never retries for other customers', async () => {
    const bystanders = Array.from({ length: 10 }, (_, i) => `b-${i}`);
    const db = await shop({ 'c-1': 1000, ...Object.fromEntries(bystanders.map((b) => [b, 100])) });
    const contested = Array.from({ length: 20 }, (_, i) =>
      api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder(`big-${i}`, 'c-1', 150) }),
    );
    // One order per bystander: only events of its own customer could make it decide again.
    const unrelated = bystanders.map((b) => api.post(`/databases/${db}/state-changes/process-order/process`, { command: createOrder(`other-${b}`, b, 1) }));
    const [results, others] = await Promise.all([Promise.all(contested), Promise.all(unrelated)]);
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(6);
    // Orders decided on a stale profile were decided again, not appended.
    expect(Math.max(...results.map((r) => Number(r.headers.get('factum-attempts') ?? 1)))).toBeGreaterThan(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'INSUFFICIENT_CREDIT')).toBe(true);
    expect(results.filter((r) => r.status === 409)).toHaveLength(14);
    expect(others.every((r) => r.status === 200 && r.headers.get('factum-attempts') === '1')).toBe(true);
    const profile = await api.get(`/databases/${db}/state-views/customer-profile?customer_id=c-1`);
    expect(profile.body).toMatchObject({ order_count: 6, total_spent: 900, available_credit: 100 });
  }, 120_000);
});
