/**
 * A DynamoDB that stops answering: DynamoDB Local paused with SIGSTOP keeps its connections
 * open and answers nothing, as a stuck endpoint does (a killed one would refuse connections at
 * once, which is the easy case). Every wait must end within the store's timeouts with
 * UNAVAILABLE, shutting down must not hang, and once DynamoDB answers again everything works
 * by itself, without losing an acknowledged event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { AppendOutcome, EventStore } from '../../src/storage/types.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let local: DynamoDbLocal;
const credentials = { accessKeyId: `outage${process.pid}x${Date.now()}`, secretAccessKey: 'local' };

beforeAll(async () => {
  local = await startDynamoDbLocal();
});
afterAll(async () => {
  local?.resume();
  await local?.stop();
});

/** Short bounds, so that the test waits seconds: one operation gives up after 2 s. */
const TIMEOUTS = { connectTimeoutMs: 500, requestTimeoutMs: 800, requestAttempts: 2, operationTimeoutMs: 2000 };
/** What a failing call may take beyond its operation timeout: scheduling on a busy machine. */
const SLACK_MS = 1500;

let tables = 0;
const stores: DynamoDbEventStore[] = [];
afterEach(async () => {
  local.resume();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function openStore(tableName: string): Promise<DynamoDbEventStore> {
  const store = new DynamoDbEventStore({ tableName, endpoint: local.endpoint, region: 'us-east-1', credentials, createTable: true, ...TIMEOUTS });
  stores.push(store);
  await store.open();
  return store;
}

let seq = 0;
const ev = (partial: Partial<CloudEvent> = {}): CloudEvent => ({ specversion: '1.0', id: `o-${++seq}`, source: 'outage', type: 'Happened', ...partial });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a promise took to settle, and how. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = Date.now();
  const [result] = await Promise.allSettled([promise]);
  return { ms: Date.now() - started, result: result! };
}

const codeOf = (result: PromiseSettledResult<unknown>) => (result.status === 'rejected' ? (result.reason as { code?: string }).code : 'fulfilled');

async function stored(store: EventStore): Promise<StoredEvent[]> {
  return (await store.query('db', { direction: 'forward', limit: 100_000 })).events.map((e) => JSON.parse(e.json) as StoredEvent);
}

/** Appends until one goes through: after an outage the store needs no help to recover. */
async function appendOnceUp(store: EventStore, events: CloudEvent[]): Promise<AppendOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.appendTransaction('db', { events, recordedtime: T0 });
    } catch (error) {
      if ((error as { code?: string }).code !== 'UNAVAILABLE' || attempt > 20) throw error;
      await sleep(250);
    }
  }
}

describe('dynamodb: an endpoint that stops answering', () => {
  it('fails appends, reads and database lookups within the timeout, and recovers by itself', async () => {
    const store = await openStore(`outage-${++tables}`);
    await store.createDatabase('db', T0);
    const before = ev();
    expect(await store.appendTransaction('db', { events: [before], recordedtime: T0 })).toMatchObject({ kind: 'appended', lastRevision: 1 });

    local.pause();
    // Appends to one database queue behind each other: none may wait out the ones before it.
    const calls: Array<Promise<unknown>> = [
      ...Array.from({ length: 12 }, (_, i) => store.appendTransaction('db', { events: [ev({ subject: `s-${i}` })], recordedtime: T0 })),
      store.getDatabase('db'),
      store.query('db', { direction: 'forward', limit: 10 }),
      store.findByKeys('db', [before]),
    ];
    const results = await Promise.all(calls.map((call) => timed(call)));
    for (const { ms, result } of results) {
      expect(codeOf(result)).toBe('UNAVAILABLE');
      expect(ms).toBeLessThan(TIMEOUTS.operationTimeoutMs + SLACK_MS);
    }
    expect((await store.health()).status).toBe('unavailable');
    local.resume();

    const after = await appendOnceUp(store, [ev({ subject: 'after' })]);
    expect(after.kind).toBe('appended');
    const events = await stored(store);
    // Appends refused during the outage may or may not have been applied late; the acknowledged ones all are.
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.id).toBe(before.id);
    expect(events.at(-1)!.subject).toBe('after');
    expect((await store.getDatabase('db'))!.latest_revision).toBe(events.length);
  });

  it('keeps every acknowledged append of writers that run through an outage', async () => {
    const tableName = `outage-${++tables}`;
    const serverA = await openStore(tableName);
    const serverB = await openStore(tableName);
    await serverA.createDatabase('db', T0);
    const acknowledged: Array<{ id: string; revision: number }> = [];
    const failures: number[] = [];
    let stop = false;
    const writer = async (store: EventStore, w: number) => {
      for (let n = 0; !stop; n++) {
        const event = ev({ subject: `w${w}-${n}` });
        const { ms, result } = await timed(store.appendTransaction('db', { events: [event], recordedtime: T0 }));
        if (result.status === 'fulfilled') {
          if (result.value.kind !== 'appended') throw new Error(JSON.stringify(result.value));
          acknowledged.push({ id: event.id, revision: result.value.lastRevision });
        } else {
          expect(codeOf(result)).toBe('UNAVAILABLE');
          failures.push(ms);
        }
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w % 2 === 0 ? serverA : serverB, w));
    await sleep(500);
    local.pause();
    await sleep(4000);
    const duringOutage = acknowledged.length;
    local.resume();
    await sleep(1500);
    stop = true;
    await Promise.all(writers);

    expect(failures.length).toBeGreaterThan(0);
    expect(Math.max(...failures)).toBeLessThan(TIMEOUTS.operationTimeoutMs + SLACK_MS);
    // Writing went on by itself after the outage.
    expect(acknowledged.length).toBeGreaterThan(duringOutage);
    const events = await stored(serverB);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i + 1));
    const at = new Map(events.map((e) => [e.id, e.revision]));
    for (const { id, revision } of acknowledged) expect(at.get(id)).toBe(revision);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('lets a store close while DynamoDB does not answer', async () => {
    const store = await openStore(`outage-${++tables}`);
    await store.createDatabase('db', T0);
    local.pause();
    const inFlight = store.appendTransaction('db', { events: [ev()], recordedtime: T0 });
    await sleep(100);
    const closing = await timed(store.close());
    expect(closing.result.status).toBe('fulfilled');
    expect(closing.ms).toBeLessThan(TIMEOUTS.operationTimeoutMs + SLACK_MS);
    const outcome = await timed(inFlight);
    expect(codeOf(outcome.result), JSON.stringify(outcome)).toBe('UNAVAILABLE');
  });
});

describe('dynamodb: an endpoint that stops answering, through HTTP with the default timeouts', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    local.resume();
    await server?.stop();
    server = undefined;
  });

  it('answers 503 within seconds and shuts down', async () => {
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    server = await startTestServer({ storage: 'dynamodb', dynamodbEndpoint: local.endpoint, dynamodbTable: `outage-http-${++tables}`, region: 'us-east-1', createTable: true });
    expect((await server.client.post('/databases', { name: 'db' })).status).toBe(201);
    local.pause();
    const [read, append] = await Promise.all([
      timed(fetch(`${server.server.url}/databases/db`)),
      timed(fetch(`${server.server.url}/databases/db/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [ev()] }) })),
    ]);
    for (const { ms, result } of [read, append]) {
      expect(result.status === 'fulfilled' && result.value.status).toBe(503);
      // The default operation timeout is 5 s.
      expect(ms).toBeLessThan(5000 + 2 * SLACK_MS);
    }
    // A shutdown with a request in flight ends too.
    const pending = fetch(`${server.server.url}/databases/db`).catch(() => undefined);
    await sleep(100);
    const closing = await timed(server.server.close());
    expect(closing.result.status).toBe('fulfilled');
    expect(closing.ms).toBeLessThan(5000 + 2 * SLACK_MS);
    await pending;
    local.resume();
    server = await server.restart();
    expect((await server.client.get('/databases/db')).status).toBe(200);
  }, 30_000);
});
