/**
 * Exactness whatever the GSIs lag and whatever the servers' clocks say. DynamoDB Local updates
 * its GSIs synchronously; IndexLag hides each event from them for a while, as real DynamoDB may,
 * and skewClock sets a server's clock off. Two adapter instances stand for two servers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventStore } from '../../src/storage/types.ts';
import { appendEvents } from '../../src/usecases/append-events.ts';
import type { FactumContext } from '../../src/usecases/context.ts';
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
  const store = new DynamoDbEventStore({ tableName, client: laggingClient(lag, skewMs), createTable: true, directScanMaxRevisions: 20, ...options });
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

  it('lets exactly one claim through when a server clock runs a minute behind', async () => {
    const lag = new IndexLag(1000);
    const tableName = `lag-${++tables}`;
    // Its events claim to be a minute old the moment they are written.
    const behind = await server(tableName, lag, {}, -60_000);
    const serverB = await server(tableName, lag);
    await behind.createDatabase('users', T0);
    await history(behind, 'users', 100);
    await claimRace(behind, serverB, 20, [0, 200, 500]);
  });

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
