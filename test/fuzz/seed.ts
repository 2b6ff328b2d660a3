/**
 * A database with something in it to protect: the example `customer-profile` view, the
 * `process-order` state change reading it, and a registered customer.
 */
import { expect } from 'vitest';
import type { TestClient } from '../support/http.ts';
import { loadComponents } from '../wasm/components.ts';

export const SEEDED_VIEW = 'customer-profile';
export const SEEDED_CHANGE = 'process-order';
export const SEEDED_CUSTOMER = 'c-7';

export type SeedComponents = Record<'customer-profile' | 'process-order', Uint8Array>;

export function loadSeedComponents(): Promise<SeedComponents> {
  return loadComponents('customer-profile', 'process-order');
}

/** Publishes a component the way clients do, as a multipart upload; expects 201. */
export async function publish(client: TestClient, db: string, kind: 'state-views' | 'state-changes', metadata: unknown, wasm: Uint8Array): Promise<void> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'component.wasm');
  const reply = await fetch(`${client.baseUrl}/databases/${db}/${kind}`, { method: 'POST', body: form });
  expect(reply.status, await reply.clone().text()).toBe(201);
}

/** Creates `db` with the view, the state change and the customer. */
export async function seedShop(client: TestClient, db: string, components: SeedComponents): Promise<void> {
  expect((await client.post('/databases', { name: db })).status).toBe(201);
  await publish(client, db, 'state-views', { state_view_name: SEEDED_VIEW, content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
  await publish(
    client,
    db,
    'state-changes',
    { state_change_name: SEEDED_CHANGE, state_views: [{ name: SEEDED_VIEW, parameters: { customer_id: '{customer_id}' } }] },
    components['process-order'],
  );
  const registered = { specversion: '1.0', id: `${SEEDED_CUSTOMER}-registered`, source: 'crm', type: 'CustomerRegistered', subject: SEEDED_CUSTOMER, data: { customerId: SEEDED_CUSTOMER, name: 'Ada', creditLimit: 500 } };
  expect((await client.post(`/databases/${db}/events`, { events: [registered] })).status).toBe(200);
}

/** A command process-order takes: one order for the seeded customer. */
export function createOrder(orderId: string, total = 10): Record<string, unknown> {
  return { type: 'CreateOrder', order_id: orderId, customer_id: SEEDED_CUSTOMER, items: [{ product_id: 'p-1', quantity: 1, price: total }] };
}
