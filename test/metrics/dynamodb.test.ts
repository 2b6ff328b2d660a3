/**
 * DynamoDB's transaction counters against DynamoDB Local: every append is one TransactWriteItems,
 * and an append sent from a stale head (another server appended meanwhile) is one cancelled for
 * its failed condition, then committed at the head it learned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import { DynamoDBClient, TransactionCanceledException, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { Registry } from 'prom-client';
import { storeMetrics } from '../../src/metrics/store-metrics.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import { interceptSend, useDynamoDbLocal } from '../support/dynamodb-local.ts';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { moved, scrape, Scrape } from './scrape.ts';

const dynamo = useDynamoDbLocal('metrics');
let one: TestServer;
let two: TestServer;

beforeAll(async () => {
  // The servers find DynamoDB Local's keys through the standard credential chain.
  process.env.AWS_ACCESS_KEY_ID = dynamo.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = dynamo.credentials.secretAccessKey;
  const flags = { storage: 'dynamodb', dynamodbEndpoint: dynamo.local.endpoint, dynamodbTable: 'factum-metrics', region: 'us-east-1', createTable: true };
  one = await startTestServer(flags);
  two = await startTestServer(flags);
});
afterAll(async () => {
  await one?.stop();
  await two?.stop();
});

const COMMITTED = { outcome: 'committed' };
const CONDITION_FAILED = { outcome: 'condition_failed' };

describe('DynamoDB transaction metrics', () => {
  it('count committed transactions and those cancelled by a failed condition, per attempt', async () => {
    expect((await one.client.post('/databases', { name: 'orders' })).status).toBe(201);
    const append = (ts: TestServer, n: number) => ts.client.post('/databases/orders/events', { events: Array.from({ length: n }, () => cloudEvent()) });
    // Each server learns the head with a first append of its own.
    expect((await append(one, 1)).status).toBe(200);
    expect((await append(two, 1)).status).toBe(200);

    const before = [await scrape(one.client), await scrape(two.client)] as const;
    for (const n of [2, 1, 3]) expect((await append(one, n)).status).toBe(200);
    // Server two still believes the head it saw (the append use case would read it first; the
    // store itself starts from what it knows): its first attempt fails on the head's condition.
    const stale = await two.server.ctx.store.appendTransaction('orders', { events: [cloudEvent(), cloudEvent()] as unknown as CloudEvent[], recordedtime: new Date().toISOString() });
    expect(stale).toEqual({ kind: 'appended', firstRevision: 2 + 6 + 1, lastRevision: 2 + 6 + 2 });
    const [onesMoves, twosMoves] = [moved(before[0], await scrape(one.client)), moved(before[1], await scrape(two.client))];

    expect(onesMoves('factum_dynamodb_transactions_total', COMMITTED)).toBe(3);
    expect(onesMoves('factum_dynamodb_transactions_total', CONDITION_FAILED)).toBe(0);
    expect(onesMoves('factum_appends_total')).toBe(3);
    expect(onesMoves('factum_events_appended_total')).toBe(6);
    expect(twosMoves('factum_dynamodb_transactions_total', CONDITION_FAILED)).toBe(1);
    expect(twosMoves('factum_dynamodb_transactions_total', COMMITTED)).toBe(1);
    expect(twosMoves('factum_appends_total')).toBe(1);
    for (const outcome of ['conflict', 'throttled', 'error']) {
      expect(onesMoves('factum_dynamodb_transactions_total', { outcome }), outcome).toBe(0);
      expect(twosMoves('factum_dynamodb_transactions_total', { outcome }), outcome).toBe(0);
    }

    // The bytes are those of the events as stored, counted as the other adapters count them.
    const listing = await one.client.get('/databases/orders/events?after=2&limit=100');
    expect(listing.body.events).toHaveLength(6 + 2);
    const stored = (events: unknown[]) => events.reduce<number>((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);
    const oneBytes = stored(listing.body.events.slice(0, 6));
    const after = await scrape(one.client);
    expect(after.value('factum_appended_bytes_total') - before[0].value('factum_appended_bytes_total')).toBe(oneBytes);
    expect(after.value('factum_group_commits_total')).toBe(0);
  }, 60_000);

  it('count one committed transaction per append when two servers race', async () => {
    expect((await one.client.post('/databases', { name: 'race' })).status).toBe(201);
    const before = [await scrape(one.client), await scrape(two.client)] as const;
    // One append at a time on each server, so none is grouped with another into one transaction.
    const appendInTurn = async (ts: TestServer) => {
      for (let i = 0; i < 10; i++) expect((await ts.client.post('/databases/race/events', { events: [cloudEvent()] })).status).toBe(200);
    };
    await Promise.all([appendInTurn(one), appendInTurn(two)]);
    const moves = [moved(before[0], await scrape(one.client)), moved(before[1], await scrape(two.client))];
    const total = (outcome: string) => moves.reduce((n, delta) => n + delta('factum_dynamodb_transactions_total', { outcome }), 0);
    expect(total('committed')).toBe(20);
    expect(total('error')).toBe(0);
    expect(moves.reduce((n, delta) => n + delta('factum_appends_total'), 0)).toBe(20);
  }, 60_000);
});

describe('DynamoDB cancellations for conflicts and throttling', () => {
  // DynamoDB Local runs transactions one at a time and is never over capacity, so it never
  // cancels for either: the client cancels the first appends itself, in front of the real thing.
  it('count each cancelled attempt by its reason, and the attempt that commits', async () => {
    const injected = ['TransactionConflict', 'TransactionConflict', 'ThrottlingError'];
    const client = interceptSend(new DynamoDBClient({ endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials: dynamo.credentials }), (command) => {
      const items = command instanceof TransactWriteItemsCommand ? (command.input.TransactItems ?? []) : [];
      // Appends update the head first; creating the database does not.
      if (items[0]?.Update === undefined || injected.length === 0) return undefined;
      const code = injected.shift()!;
      const reasons = items.map((_, i) => ({ Code: i === 0 ? code : 'None' }));
      return Promise.reject(new TransactionCanceledException({ message: `cancelled [${code}]`, $metadata: { httpStatusCode: 400 }, CancellationReasons: reasons }));
    });
    const registry = new Registry();
    const store = new DynamoDbEventStore({ tableName: 'factum-metrics-cancellations', client, createTable: true, retryBaseDelayMs: 1, observer: storeMetrics(registry, false) });
    await store.open();
    try {
      await store.createDatabase('db', new Date().toISOString());
      const before = new Scrape(await registry.metrics());
      const outcome = await store.appendTransaction('db', { events: [cloudEvent()] as unknown as CloudEvent[], recordedtime: new Date().toISOString() });
      expect(outcome).toMatchObject({ kind: 'appended', firstRevision: 1, lastRevision: 1 });
      const delta = moved(before, new Scrape(await registry.metrics()));
      expect(delta('factum_dynamodb_transactions_total', { outcome: 'conflict' })).toBe(2);
      expect(delta('factum_dynamodb_transactions_total', { outcome: 'throttled' })).toBe(1);
      expect(delta('factum_dynamodb_transactions_total', { outcome: 'committed' })).toBe(1);
      expect(delta('factum_dynamodb_transactions_total', { outcome: 'condition_failed' })).toBe(0);
      expect(delta('factum_appends_total')).toBe(1);
    } finally {
      await store.close();
      client.destroy();
    }
  }, 60_000);
});
