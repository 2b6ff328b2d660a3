/**
 * State views on the DynamoDB adapter: components (12 MB, stored in chunks) and snapshots live
 * in the table, so a second server on the same table renders them, incrementally.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';

process.env.AWS_ACCESS_KEY_ID = `views${process.pid}`;
process.env.AWS_SECRET_ACCESS_KEY = 'local';

let local: DynamoDbLocal;
const servers: TestServer[] = [];
beforeAll(async () => {
  local = await startDynamoDbLocal();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const s of servers) await s.stop();
  await local?.stop();
});

const startServer = async () => {
  const server = await startTestServer({ storage: 'dynamodb', dynamodbEndpoint: local.endpoint, dynamodbTable: 'factum-views', region: 'us-east-1', createTable: true });
  servers.push(server);
  return server.client;
};

it('serves a state view published through one server from another, resuming from its snapshot', async () => {
  const { 'order-summary': wasm } = await loadComponents('order-summary');
  const first = await startServer();
  const second = await startServer();
  await first.post('/databases', { name: 'shop' });
  const form = new FormData();
  form.append('metadata', JSON.stringify({ state_view_name: 'orders', content_type: 'application/json', event_selector: { event_type: 'OrderCreated' }, query_temporality: 'revision' }));
  form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>]), 'orders.wasm');
  expect((await fetch(`${first.baseUrl}/databases/shop/state-views`, { method: 'POST', body: form })).status).toBe(201);

  const created = (n: number) => Array.from({ length: n }, (_, i) => cloudEvent({ type: 'OrderCreated', data: { orderId: `o-${Math.random()}-${i}`, total: 1 } }));
  await first.post('/databases/shop/events', { events: created(30) });
  const warm = await first.get('/databases/shop/state-views/orders');
  expect(warm.body.total_orders).toBe(30);
  expect(warm.headers.get('factum-evolved-events')).toBe('30');

  await second.post('/databases/shop/events', { events: created(3) });
  const resumed = await second.get('/databases/shop/state-views/orders');
  expect(resumed.status).toBe(200);
  expect(resumed.body.total_orders).toBe(33);
  expect(resumed.headers.get('factum-evolved-events')).toBe('3');
}, BUILD_TIMEOUT_MS);
