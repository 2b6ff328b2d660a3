/**
 * Exactness whatever the GSIs lag and whatever the servers' clocks say. DynamoDB Local updates
 * its GSIs synchronously; IndexLag hides each event from them for a while, as real DynamoDB may,
 * and skewClock sets a server's clock off. Two adapter instances stand for two servers. Lag is
 * simulated by hiding GSI results younger than the lag, so no test waits it out.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventStore } from '../../src/storage/types.ts';
import { appendEvents } from '../../src/usecases/append-events.ts';
import type { FactumContext } from '../../src/usecases/context.ts';
import { publishStateView, renderStateView, type StateViewDefinition } from '../../src/usecases/state-views.ts';
import { ComponentHost } from '../../src/wasm/host.ts';
import { loadComponents, TRANSPILED_DIR, BUILD_TIMEOUT_MS } from '../wasm/components.ts';
import { IndexLag, skewClock, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { describeEventStoreConformance } from './conformance.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let local: DynamoDbLocal;
const credentials = { accessKeyId: `lag${process.pid}x${Date.now()}`, secretAccessKey: 'local' };

beforeAll(async () => {
  local = await startDynamoDbLocal();
});
afterAll(async () => {
  await local?.stop();
});

let tables = 0;
const stores: DynamoDbEventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A client of DynamoDB Local behind `lag`, with its clock off by `skewMs`. */
function laggingClient(lag: IndexLag, skewMs = 0): DynamoDBClient {
  const client = lag.attach(new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials }));
  return skewMs === 0 ? client : skewClock(client, skewMs);
}

/**
 * A server on `tableName` behind `lag`. Selective reads over more than a handful of revisions
 * would go to the GSIs if the adapter trusted them (it did, for events older than 2 s).
 */
async function server(tableName: string, lag: IndexLag, options: Partial<DynamoDbEventStoreOptions> = {}, skewMs = 0): Promise<DynamoDbEventStore> {
  // Exactness is under test here, not bounded waits (dynamodb-outage.test.ts): a loaded machine must not turn a round into a timeout.
  const store = new DynamoDbEventStore({ tableName, client: laggingClient(lag, skewMs), createTable: true, directScanMaxRevisions: 20, operationTimeoutMs: 30_000, ...options });
  stores.push(store);
  await store.open();
  return store;
}

const contextOf = (store: EventStore): FactumContext => ({ store, components: undefined as never, now: () => new Date() });
const eq = (attr: 'stream' | 'event_type' | 'subject', value: string): Selector => ({ type: 'equals', attr, value });
let seq = 0;
const ev = (partial: Partial<CloudEvent> = {}): CloudEvent => ({ specversion: '1.0', id: `lag-${++seq}`, source: 'accounts', type: 'ProfileUpdated', ...partial });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Some history, so that the claims are checked against a database of some size. */
async function history(store: EventStore, database: string, events: number): Promise<void> {
  for (let done = 0; done < events; done += 49) {
    const batch = Array.from({ length: Math.min(49, events - done) }, (_, i) => ev({ subject: `user-${(done + i) % 37}` }));
    expect((await store.appendTransaction(database, { events: batch, recordedtime: T0 })).kind).toBe('appended');
  }
}

async function allEvents(store: EventStore, database: string, selector?: Selector): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (let from = 1; ; ) {
    const page = await store.query(database, { selector, fromRevision: from, direction: 'forward', limit: 7 });
    out.push(...page.events.map((e) => JSON.parse(e.json) as StoredEvent));
    if (!page.hasMore) return out;
    from = page.events.at(-1)!.revision + 1;
  }
}

/**
 * Two servers claim each name, the second after `delays[round % delays.length]` ms: at once
 * (the guard decides), and after the first claim is committed but still missing from the GSIs
 * (only an exact constraint check decides). Exactly one claim per name may succeed.
 */
async function claimRace(serverA: EventStore, serverB: EventStore, rounds: number, delays: readonly number[]): Promise<void> {
  const claimed = (name: string): Selector => ({ type: 'and', selectors: [eq('event_type', 'UsernameClaimed'), eq('subject', name)] });
  const claim = (store: EventStore, name: string) =>
    appendEvents(contextOf(store), 'users', [ev({ type: 'UsernameClaimed', subject: name, data: { by: store === serverA ? 'a' : 'b' } })], [
      { type: 'max_revision', revision: 0, selector: claimed(name) },
    ]);
  const outcomes = await Promise.all(
    Array.from({ length: rounds }, async (_, round) => {
      const [first, second] = round % 2 === 0 ? [serverA, serverB] : [serverB, serverA];
      const name = `name-${round}`;
      const early = claim(first, name);
      await sleep(delays[round % delays.length]!);
      return Promise.allSettled([early, claim(second, name)]);
    }),
  );
  outcomes.forEach((pair, round) => {
    const won = pair.filter((o) => o.status === 'fulfilled');
    const lost = pair.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won, `round ${round}: ${lost.map((l) => (l.reason as Error).message).join('; ')}`).toHaveLength(1);
    expect(lost.map((l) => (l.reason as { code?: string }).code)).toEqual(['FAILED_PRECONDITION']);
  });
  const claims = await allEvents(serverB, 'users', eq('event_type', 'UsernameClaimed'));
  expect(claims).toHaveLength(rounds);
  expect(new Set(claims.map((c) => c.subject)).size).toBe(rounds);
}

describe('dynamodb: GSIs 5 s behind', () => {
  it('hides fresh events from queries that accept lag, and from no other', async () => {
    const lag = new IndexLag(5000);
    const store = await server(`lag-${++tables}`, lag, { indexSettleMs: 0, directScanMaxRevisions: 0 });
    await store.createDatabase('db', T0);
    await store.appendTransaction('db', { events: [ev({ subject: 'x' }), ev({ subject: 'y' }), ev({ subject: 'x' })], recordedtime: T0 });
    const query = { selector: eq('subject', 'x'), direction: 'forward' as const, limit: 10 };
    expect((await store.query('db', { ...query, allowIndexLag: true })).events).toEqual([]);
    expect(lag.hidden).toBe(2);
    expect((await store.query('db', query)).events.map((e) => e.revision)).toEqual([1, 3]);
    expect(lag.hidden).toBe(2);
  });

  it('lets exactly one of two servers claim each name, 50 rounds', async () => {
    const lag = new IndexLag(5000);
    const tableName = `lag-${++tables}`;
    const serverA = await server(tableName, lag);
    const serverB = await server(tableName, lag);
    await serverA.createDatabase('users', T0);
    await history(serverA, 'users', 200);
    await claimRace(serverA, serverB, 50, [0, 300, 1000, 2500, 3500]);
  }, 60_000);

  it('lets exactly one of two servers claim each name, 50 rounds, one clock a minute behind and the other a minute ahead', async () => {
    const lag = new IndexLag(5000);
    const tableName = `lag-${++tables}`;
    // Its events claim to be a minute old the moment they are written: settled, to any reader.
    const behind = await server(tableName, lag, {}, -60_000);
    const ahead = await server(tableName, lag, {}, 60_000);
    await behind.createDatabase('users', T0);
    await history(behind, 'users', 200);
    await claimRace(behind, ahead, 50, [0, 300, 1000, 2500, 3500]);
    // The lag and the skew were in effect: a read that trusts the GSIs misses a fresh claim.
    const late = ev({ type: 'UsernameClaimed', subject: 'late' });
    await appendEvents(contextOf(behind), 'users', [late]);
    const hiddenBefore = lag.hidden;
    // One page over the whole log: a short range would be read from the base table anyway.
    const trusting = await ahead.query('users', { selector: eq('event_type', 'UsernameClaimed'), direction: 'forward', limit: 100, allowIndexLag: true });
    expect(trusting.events.map((e) => (JSON.parse(e.json) as StoredEvent).id)).not.toContain(late.id);
    expect(lag.hidden).toBeGreaterThan(hiddenBefore);
    expect((await allEvents(ahead, 'users', eq('event_type', 'UsernameClaimed'))).map((e) => e.id)).toContain(late.id);
  }, 60_000);

  it('reads every acknowledged event in state-view order through either server, one of them with its clock behind', async () => {
    const lag = new IndexLag(5000);
    const tableName = `lag-${++tables}`;
    const serverA = await server(tableName, lag, {}, -60_000);
    const serverB = await server(tableName, lag);
    await serverA.createDatabase('shop', T0);
    const orders: string[] = [];
    for (let i = 0; i < 30; i++) {
      const store = i % 2 === 0 ? serverA : serverB;
      const size = 1 + (i % 5);
      const events = Array.from({ length: size }, (_, j) => ev({ type: j === 0 ? 'OrderCreated' : 'ItemAdded', subject: `order-${i}` }));
      expect((await store.appendTransaction('shop', { events, recordedtime: T0 })).kind).toBe('appended');
      orders.push(events[0]!.id);
      // A view reads what it selects up to the head, in pages, right after the append.
      const reader = i % 2 === 0 ? serverB : serverA;
      expect((await allEvents(reader, 'shop', eq('event_type', 'OrderCreated'))).map((e) => e.id)).toEqual(orders);
      const latest = await reader.query('shop', { selector: eq('event_type', 'OrderCreated'), direction: 'backward', limit: 1 });
      expect(latest.events.map((e) => (JSON.parse(e.json) as StoredEvent).id)).toEqual([orders.at(-1)]);
    }
  });
});

describe('dynamodb: state views with GSIs 5 s behind', () => {
  let host: ComponentHost | undefined;
  afterAll(async () => {
    await host?.close();
  });

  it('renders every acknowledged event, through either server, right after each append, one clock a minute behind', async () => {
    const { 'order-summary': orders, 'customer-profile': profile } = await loadComponents('order-summary', 'customer-profile');
    host = new ComponentHost({ cacheDir: TRANSPILED_DIR, workers: 1 });
    const lag = new IndexLag(5000);
    const tableName = `lag-views-${++tables}`;
    const [serverA, serverB] = [await server(tableName, lag, {}, -60_000), await server(tableName, lag)];
    const [ctxA, ctxB] = [serverA, serverB].map((store): FactumContext => ({ store, components: host!, now: () => new Date() }));
    await serverA.createDatabase('shop', T0);
    const view = (name: string, event_selector: StateViewDefinition['event_selector']) => ({ state_view_name: name, content_type: 'application/json', event_selector, query_temporality: 'revision' as const });
    await publishStateView(ctxA, 'shop', view('orders', { event_type: 'OrderCreated' }), orders);
    await publishStateView(ctxB, 'shop', view('profile', { subject: '{customer_id}' }), profile);
    // Other traffic, so that the views select a few events of a longer log.
    await history(serverA, 'shop', 60);

    const render = async (ctx: FactumContext, name: string, params: Record<string, string> = {}) => {
      const result = await renderStateView(ctx, 'shop', name, { params });
      if (result.notModified) throw new Error('answered not modified without a tag');
      return { body: JSON.parse(new TextDecoder().decode(result.content)) as Record<string, unknown>, evolved: result.evolvedEvents };
    };
    let spent = 0;
    for (let i = 0; i < 24; i++) {
      const [writer, reader] = i % 2 === 0 ? [ctxA, ctxB] : [ctxB, ctxA];
      const total = 1 + (i % 4);
      const order = ev({ source: 'shop', type: 'OrderCreated', subject: 'c-7', data: { orderId: `o-${i}`, customerId: 'c-7', total } });
      const noise = ev({ subject: 'c-7' });
      await appendEvents(writer, 'shop', [order, noise]);
      spent += total;
      // The other server renders at once: both views include the append just acknowledged.
      const summary = await render(reader, 'orders');
      expect(summary.body.total_orders, `render ${i}`).toBe(i + 1);
      const customer = await render(reader, 'profile', { customer_id: 'c-7' });
      expect(customer.body).toMatchObject({ order_count: i + 1, total_spent: spent });
      // Incrementally, from the snapshot the other server saved: only the new events are evolved.
      if (i > 0) expect([summary.evolved, customer.evolved]).toEqual([1, 2]);
    }
  }, BUILD_TIMEOUT_MS);
});

/** The whole suite, with every selective query long enough that a trusting adapter would read GSIs. */
function lagging(skewMs: number) {
  return async () => {
    const lag = new IndexLag(5000);
    const tableName = `lag-conformance-${++tables}`;
    const make = async () => {
      const store = new DynamoDbEventStore({ tableName, client: laggingClient(lag, skewMs), createTable: true, directScanMaxRevisions: 0 });
      await store.open();
      return store;
    };
    let store = await make();
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await make();
        return store;
      },
      cleanup: () => store.close(),
    };
  };
}

describeEventStoreConformance('dynamodb, GSIs 5 s behind', lagging(0));
describeEventStoreConformance('dynamodb, GSIs 5 s behind and the clock a minute behind', lagging(-60_000));
