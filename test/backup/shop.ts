/**
 * A shop database to back up: customers and orders in transactions of many sizes (one over
 * DynamoDB's 49 events), events with and without effective time, binary data and extension
 * attributes; two state views (one in two versions) and a state change that reads one of them.
 */
import type { TestClient } from '../support/http.ts';

export const CUSTOMERS = 12;

/** The transactions, in order; the same every run. */
export function shopTransactions(): Array<Array<Record<string, unknown>>> {
  const transactions: Array<Array<Record<string, unknown>>> = [];
  const event = (id: string, type: string, subject: string, data: unknown, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id,
    source: 'shop',
    type,
    subject,
    datacontenttype: 'application/json',
    data,
    ...extra,
  });
  for (let c = 1; c <= CUSTOMERS; c++) {
    transactions.push([event(`c-${c}-registered`, 'CustomerRegistered', `c-${c}`, { customerId: `c-${c}`, name: `Customer ${c}`, creditLimit: 100 * c })]);
  }
  let order = 0;
  for (let round = 0; round < 40; round++) {
    const size = 1 + ((round * 7) % 13);
    transactions.push(
      Array.from({ length: size }, (_, i) => {
        order++;
        const customer = `c-${1 + ((order * 5) % CUSTOMERS)}`;
        const time = round % 3 === 0 ? { time: new Date(Date.UTC(2025, 0, 1 + round, 10, i)).toISOString() } : {};
        return event(`o-${order}`, 'OrderCreated', customer, { orderId: `o-${order}`, customerId: customer, total: (order % 17) + 0.5 }, { ...time, channel: i % 2 ? 'web' : 'shop', priority: i });
      }),
    );
    if (round % 4 === 1) transactions.push([event(`o-${order}-done`, 'OrderCompleted', 'x', { orderId: `o-${order}` }), event(`o-${order - 1}-cancel`, 'OrderCancelled', 'x', { orderId: `o-${order - 1}` })]);
  }
  // One bulk load larger than a DynamoDB transaction takes.
  transactions.push(Array.from({ length: 120 }, (_, i) => event(`bulk-${i}`, 'OrderCreated', `c-${1 + (i % CUSTOMERS)}`, { orderId: `bulk-${i}`, customerId: `c-${1 + (i % CUSTOMERS)}`, total: 1 })));
  transactions.push([{ specversion: '1.0', id: 'blob-1', source: 'archive', type: 'ReceiptScanned', data_base64: 'AAECAwQ=', datacontenttype: 'application/octet-stream' }]);
  return transactions;
}

export const VIEWS = {
  customerProfile: { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' },
  orderSummary: {
    state_view_name: 'order-summary',
    content_type: 'application/json',
    event_selector: { type: 'or', selectors: ['OrderCreated', 'OrderCompleted', 'OrderCancelled'].map((t) => ({ type: 'equals', attr: { event_type: t } })) },
    query_temporality: 'revision',
  },
};

export const PROCESS_ORDER = { state_change_name: 'process-order', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] };

export async function publish(client: TestClient, path: string, metadata: unknown, wasm: Uint8Array): Promise<void> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'c.wasm');
  const response = await fetch(client.baseUrl + path, { method: 'POST', body: form });
  if (response.status !== 201) throw new Error(`publish ${path}: ${response.status} ${await response.text()}`);
}

export interface ShopComponents {
  'customer-profile': Uint8Array;
  'order-summary': Uint8Array;
  'process-order': Uint8Array;
}

/** Fills `database` (which must not exist) with the shop; returns its number of events. */
export async function seedShop(client: TestClient, database: string, components: ShopComponents): Promise<number> {
  await client.post('/databases', { name: database });
  let count = 0;
  for (const events of shopTransactions()) {
    const reply = await client.post(`/databases/${database}/events`, { events });
    if (reply.status !== 200) throw new Error(`append: ${reply.status} ${reply.text}`);
    count += events.length;
  }
  await publish(client, `/databases/${database}/state-views`, VIEWS.customerProfile, components['customer-profile']);
  await publish(client, `/databases/${database}/state-views`, VIEWS.orderSummary, components['order-summary']);
  await publish(client, `/databases/${database}/state-views`, { ...VIEWS.orderSummary, description: 'by effective time', query_temporality: 'effective_timestamp' }, components['order-summary']);
  await publish(client, `/databases/${database}/state-changes`, PROCESS_ORDER, components['process-order']);
  return count;
}
