/** A small shop database for the browser tests, appended through the JSON API. */
import type { TestClient } from '../support/http.ts';

export interface SeededEvent {
  revision: number;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  data: unknown;
}

const day = (i: number) => String(i).padStart(2, '0');

/**
 * Twelve orders, one transaction each: OrderCreated (stream order-service) on January i, and for
 * even orders OrderPaid (stream payment-service) an hour later; then one CustomerRegistered
 * without a time. Revisions: order-1 → 1; order-2 → 2, 3; order-3 → 4; order-4 → 5, 6; …
 */
export async function seedShop(api: TestClient, name: string): Promise<Map<string, SeededEvent>> {
  const created = await api.post('/databases', { name });
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${created.text}`);
  const transactions: Array<Array<Omit<SeededEvent, 'revision'>>> = [];
  for (let i = 1; i <= 12; i++) {
    const tx: Array<Omit<SeededEvent, 'revision'>> = [
      {
        id: `created-${i}`,
        source: 'order-service',
        type: 'OrderCreated',
        subject: `order-${i}`,
        time: `2024-01-${day(i)}T10:00:00Z`,
        data: { customerId: `c-${i % 3}`, total: i * 10, lines: [{ sku: `sku-${i}`, quantity: i }] },
      },
    ];
    if (i % 2 === 0) {
      tx.push({ id: `paid-${i}`, source: 'payment-service', type: 'OrderPaid', subject: `order-${i}`, time: `2024-01-${day(i)}T11:00:00Z`, data: { amount: i * 10 } });
    }
    transactions.push(tx);
  }
  transactions.push([{ id: 'registered-c-1', source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { name: 'Ada' } }]);

  const byId = new Map<string, SeededEvent>();
  for (const tx of transactions) {
    const reply = await api.post(`/databases/${name}/events`, { events: tx.map((e) => ({ specversion: '1.0', ...e })) });
    if (reply.status !== 200) throw new Error(`append to ${name}: ${reply.status} ${reply.text}`);
    const first = (reply.body as { revision: number }).revision - tx.length + 1;
    tx.forEach((e, i) => byId.set(e.id, { ...e, revision: first + i }));
  }
  return byId;
}
