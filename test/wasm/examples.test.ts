import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.ts';
import type { StoredEvent } from '../../src/core/events.ts';
import { ComponentHost, StateViewError } from '../../src/wasm/index.ts';
import { BUILD_TIMEOUT_MS, json, loadComponents, storedEvent, TRANSPILED_DIR } from './components.ts';

let host: ComponentHost;

beforeAll(async () => {
  const components = await loadComponents('order-summary', 'order-summary-c', 'customer-profile');
  host = new ComponentHost({ cacheDir: TRANSPILED_DIR, limits: { timeMs: 10_000 } });
  await host.prepare('shop/order-summary@1', components['order-summary']);
  await host.prepare('shop/order-summary-c@1', components['order-summary-c']);
  await host.prepare('shop/customer-profile@1', components['customer-profile']);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
});

async function viewOf(key: string, events: StoredEvent[], params: Record<string, string> = {}) {
  const state = await host.evolve(key, await host.initialState(key, params), events, params);
  return json(await host.render(key, state, params));
}

// The same view twice: built from JavaScript, and compiled from C.
describe.each(['order-summary', 'order-summary-c'] as const)('%s', (example) => {
  const key = `shop/${example}@1`;
  const events = [
    storedEvent('OrderCreated', { orderId: 'o-1', customerId: 'c-1', total: 100 }),
    storedEvent('OrderCreated', { orderId: 'o-2', customerId: 'c-1', total: 49.99 }),
    storedEvent('CustomerRegistered', { customerId: 'c-3', name: 'Cy', creditLimit: 10 }),
    storedEvent('OrderCreated', { orderId: 'o-3', customerId: 'c-2', total: 250.1 }),
    storedEvent('OrderCompleted', { orderId: 'o-1' }),
    storedEvent('OrderCreated', { orderId: 'o-4', customerId: 'c-2', total: 10 }),
    storedEvent('OrderCancelled', { orderId: 'o-2' }),
    storedEvent('OrderCompleted', { orderId: 'o-3' }),
  ];
  const expected = {
    total_orders: 4,
    orders_by_status: { created: 1, completed: 2, cancelled: 1 },
    total_revenue: 350.1,
  };

  it('renders an empty summary before any event', async () => {
    expect(json(await host.render(key, await host.initialState(key)))).toEqual({
      total_orders: 0,
      orders_by_status: { created: 0, completed: 0, cancelled: 0 },
      total_revenue: 0,
    });
  });

  it('counts orders by status and sums the revenue of completed ones', async () => {
    expect(await viewOf(key, events)).toEqual(expected);
  });

  it('gives the same result one event per call, in small batches, and resumed from a saved state', async () => {
    let single = await host.initialState(key);
    for (const event of events) single = await host.evolve(key, single, [event]);
    expect(json(await host.render(key, single))).toEqual(expected);

    const smallBatches = new ComponentHost({ cacheDir: TRANSPILED_DIR, maxEventsPerCall: 3, workers: 1 });
    try {
      await smallBatches.prepare(key, await loadComponents(example).then((c) => c[example]));
      const state = await smallBatches.evolve(key, await smallBatches.initialState(key), events);
      expect(json(await smallBatches.render(key, state))).toEqual(expected);
    } finally {
      await smallBatches.close();
    }

    const saved = await host.evolve(key, await host.initialState(key), events.slice(0, 4));
    // As read back from a snapshot file: a view into a larger buffer.
    const fromSnapshot = Buffer.concat([Buffer.from('header'), saved]).subarray(6);
    const resumed = await host.evolve(key, fromSnapshot, events.slice(4));
    expect(json(await host.render(key, resumed))).toEqual(expected);
  });

  it('returns the state unchanged for no events', async () => {
    const state = await host.initialState(key);
    expect(await host.evolve(key, state, [])).toBe(state);
  });

  it('skips order events it cannot read, counts them and names the latest, without failing', async () => {
    const unreadable = [
      storedEvent('OrderCreated', { customerId: 'c-1', total: 5 }),
      storedEvent('OrderCreated', undefined, { datacontenttype: undefined }),
      storedEvent('OrderCreated', { orderId: 'o-bad', total: 'five' }),
      storedEvent('OrderCompleted', ['o-1']),
      storedEvent('OrderCancelled', { orderId: 'o-2', total: -1 }),
    ];
    const last = unreadable.at(-1)!;
    expect(await viewOf(key, [...events.slice(0, 4), ...unreadable, ...events.slice(4)])).toEqual({
      ...expected,
      skipped_events: unreadable.length,
      last_skipped_event: { revision: last.revision, id: last.id, type: 'OrderCancelled', reason: 'total is not a non-negative number' },
    });
    // The reasons, one event at a time.
    const reasons: string[] = [];
    for (const event of unreadable) reasons.push(((await viewOf(key, [event])) as { last_skipped_event: { reason: string } }).last_skipped_event.reason);
    expect(reasons).toEqual([
      'orderId is not a non-empty string',
      'it has no data',
      'total is not a non-negative number',
      'its data is not a JSON object',
      'total is not a non-negative number',
    ]);
  });

  it('handles thousands of events', async () => {
    const many: StoredEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      many.push(storedEvent('OrderCreated', { orderId: `bulk-${i}`, customerId: 'c-9', total: 1.1 }));
      if (i % 3 === 0) many.push(storedEvent('OrderCompleted', { orderId: `bulk-${i}` }));
    }
    expect(await viewOf(key, many)).toEqual({
      total_orders: 3000,
      orders_by_status: { created: 2000, completed: 1000, cancelled: 0 },
      total_revenue: 1100,
    });
  });
});

describe('customer-profile', () => {
  const key = 'shop/customer-profile@1';
  const events = [
    storedEvent('CustomerRegistered', { customerId: 'c-1', name: 'Ada', creditLimit: 1000 }),
    storedEvent('CustomerRegistered', { customerId: 'c-2', name: 'Bob', creditLimit: 500 }),
    storedEvent('OrderCreated', { orderId: 'o-1', customerId: 'c-1', total: 120 }),
    storedEvent('OrderCreated', { orderId: 'o-2', customerId: 'c-2', total: 300 }),
    storedEvent('CreditLimitChanged', { customerId: 'c-1', creditLimit: 2500 }),
    storedEvent('OrderCreated', { orderId: 'o-3', customerId: 'c-1', total: 80.5 }),
    storedEvent('OrderCancelled', { orderId: 'o-1' }),
    storedEvent('OrderCompleted', { orderId: 'o-3' }),
  ];

  it('builds the profile of the customer named by the parameter', async () => {
    expect(await viewOf(key, events, { customer_id: 'c-1' })).toEqual({
      customer_id: 'c-1',
      registered: true,
      name: 'Ada',
      credit_limit: 2500,
      order_count: 1,
      total_spent: 80.5,
      available_credit: 2419.5,
    });
    expect(await viewOf(key, events, { customer_id: 'c-2' })).toEqual({
      customer_id: 'c-2',
      registered: true,
      name: 'Bob',
      credit_limit: 500,
      order_count: 1,
      total_spent: 300,
      available_credit: 200,
    });
  });

  it('renders an unregistered customer as such', async () => {
    expect(await viewOf(key, events, { customer_id: 'c-404' })).toMatchObject({
      customer_id: 'c-404',
      registered: false,
      name: null,
      order_count: 0,
    });
  });

  it('refuses to start without customer_id, as the reader’s error', async () => {
    const err = await host.initialState(key, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateViewError);
    expect(err).toMatchObject({ kind: 'invalid-params', code: 'INVALID_ARGUMENT' });
    expect((err as Error).message).toMatch(/customer_id is required/);
  });

  it('refuses to evolve a state with parameters it was not built for', async () => {
    const state = await host.initialState(key, { customer_id: 'c-1' });
    await expect(host.evolve(key, state, events, { customer_id: 'c-2' })).rejects.toMatchObject({
      kind: 'invalid-params',
    });
  });
});

describe('the host', () => {
  it('refuses calls for a key that was never prepared', async () => {
    await expect(host.initialState('shop/nothing@1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps separate registrations for separate keys with the same bytes', async () => {
    const components = await loadComponents('order-summary');
    await host.prepare('other-db/order-summary@1', components['order-summary']);
    expect(host.has('other-db/order-summary@1')).toBe(true);
    expect(json(await host.render('other-db/order-summary@1', await host.initialState('other-db/order-summary@1')))).toMatchObject(
      { total_orders: 0 },
    );
    host.release('other-db/order-summary@1');
    expect(host.has('other-db/order-summary@1')).toBe(false);
  });
});
