/**
 * DynamoDB cancels a transaction with a TransactionConflict reason when another transaction is
 * working on one of its items at that moment. DynamoDB Local serializes transactions and never
 * does, so a client stub injects the cancellations in front of a real DynamoDB Local.
 */
import {
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type CancellationReason,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import { interceptSend, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let local: DynamoDbLocal;
const credentials = { accessKeyId: `conflict${process.pid}x${Date.now()}`, secretAccessKey: 'local' };

beforeAll(async () => {
  local = await startDynamoDbLocal();
});
afterAll(async () => {
  await local?.stop();
});

const ev = (id: string): CloudEvent => ({ specversion: '1.0', id, source: 'conflicts', type: 'Happened' });

function cancelled(code: string, actions: number): TransactionCanceledException {
  const reasons: CancellationReason[] = Array.from({ length: actions }, (_, i) => (i === 0 ? { Code: code, Message: `${code} on the head` } : { Code: 'None' }));
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons,
  });
}

interface Injection {
  /** Which transactions to cancel: appends update the head first, catalog changes do not. */
  target: 'append' | 'catalog';
  code: string;
  times: number;
}

let tables = 0;
const stores: DynamoDbEventStore[] = [];

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  vi.restoreAllMocks();
});

/** A store whose client cancels the chosen transactions; `attempts` counts those sent. */
async function storeWith(injection: Injection, retries = { conflictRetries: 3, retryBaseDelayMs: 1 }) {
  const counts = { attempts: 0, injected: 0 };
  const client = interceptSend(new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials }), (command) => {
    if (!(command instanceof TransactWriteItemsCommand)) return undefined;
    const items = command.input.TransactItems ?? [];
    const isAppend = items[0]?.Update !== undefined;
    if (isAppend !== (injection.target === 'append')) return undefined;
    counts.attempts++;
    if (counts.injected >= injection.times) return undefined;
    counts.injected++;
    return Promise.reject(cancelled(injection.code, items.length));
  });
  const store = new DynamoDbEventStore({ tableName: `conflict-${++tables}`, client, createTable: true, ...retries });
  stores.push(store);
  await store.open();
  return { store, counts, client };
}

describe('dynamodb: cancelled transactions', () => {
  for (const code of ['TransactionConflict', 'ThrottlingError']) {
    it(`retries an append cancelled with ${code} and writes it once`, async () => {
      const { store, counts } = await storeWith({ target: 'append', code, times: 1 });
      await store.createDatabase('db', T0);
      expect(await store.appendTransaction('db', { events: [ev('a'), ev('b')], recordedtime: T0 })).toEqual({
        kind: 'appended',
        firstRevision: 1,
        lastRevision: 2,
      });
      expect(counts).toEqual({ attempts: 2, injected: 1 });
      expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 2 });
      const page = await store.query('db', { direction: 'forward', limit: 10 });
      expect(page.events.map((e) => JSON.parse(e.json).id)).toEqual(['a', 'b']);
    });
  }

  it('gives up after the bounded number of retries, with nothing written', async () => {
    const { store, counts } = await storeWith({ target: 'append', code: 'TransactionConflict', times: Infinity }, { conflictRetries: 4, retryBaseDelayMs: 1 });
    await store.createDatabase('db', T0);
    await expect(store.appendTransaction('db', { events: [ev('c')], recordedtime: T0 })).rejects.toMatchObject({
      code: 'ABORTED',
      message: expect.stringContaining('gave up after 5 attempts'),
    });
    expect(counts.attempts).toBe(5);
    expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 0 });
    expect(await store.findByKeys('db', [ev('c')])).toEqual([undefined]);
  });

  it('backs off between retries', async () => {
    const { store, counts } = await storeWith({ target: 'append', code: 'TransactionConflict', times: Infinity }, { conflictRetries: 3, retryBaseDelayMs: 40 });
    await store.createDatabase('db', T0);
    // Each wait is drawn at random up to its ceiling (40, 80 and 160 ms); pinned at three quarters
    // of it, the waits come to 30, 60 and 120 ms.
    vi.spyOn(Math, 'random').mockReturnValue(0.75);
    const started = Date.now();
    await expect(store.appendTransaction('db', { events: [ev('d')], recordedtime: T0 })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(counts.attempts).toBe(4);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(280 + 2000);
  });

  it('does not retry a cancellation it cannot explain', async () => {
    const { store, counts } = await storeWith({ target: 'append', code: 'ValidationError', times: 1 });
    await store.createDatabase('db', T0);
    await expect(store.appendTransaction('db', { events: [ev('e')], recordedtime: T0 })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('ValidationError'),
    });
    expect(counts.attempts).toBe(1);
    // The next append is unaffected.
    expect(await store.appendTransaction('db', { events: [ev('e')], recordedtime: T0 })).toMatchObject({ lastRevision: 1 });
  });

  it('retries conflicting creates and deletes of databases', async () => {
    const { store, counts } = await storeWith({ target: 'catalog', code: 'TransactionConflict', times: 1 });
    await store.createDatabase('db', T0);
    expect(counts).toEqual({ attempts: 2, injected: 1 });
    counts.injected = 0;
    expect(await store.deleteDatabase('db')).toBe(true);
    expect(counts.injected).toBe(1);
    expect(await store.getDatabase('db')).toBeUndefined();
  });
});
