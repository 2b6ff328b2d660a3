/**
 * What the conformance suite cannot see of the DynamoDB adapter: how queries use the GSIs and
 * cope with their lag, that deleting a database leaves no item behind even when interrupted,
 * and how opening reports a missing or mismatched table.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventQuery, EventStore } from '../../src/storage/types.ts';
import { interceptSend, useDynamoDbLocal } from '../support/dynamodb-local.ts';

const T0 = '2024-01-15T10:30:00.000Z';
const dynamo = useDynamoDbLocal('adapter');
const { credentials } = dynamo;

const stores: EventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  vi.restoreAllMocks();
});

let tables = 0;
const newTable = () => `adapter-${++tables}`;

async function openStore(tableName: string, options: Partial<DynamoDbEventStoreOptions> = {}): Promise<DynamoDbEventStore> {
  const store = new DynamoDbEventStore({ tableName, endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials, createTable: true, ...options });
  stores.push(store);
  await store.open();
  return store;
}

function clientFor(intercept: Parameters<typeof interceptSend>[1]): DynamoDBClient {
  return interceptSend(new DynamoDBClient({ endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials }), intercept);
}

let seq = 0;
const ev = (partial: Partial<CloudEvent> = {}): CloudEvent => ({ specversion: '1.0', id: `a-${++seq}`, source: 'orders', type: 'OrderCreated', ...partial });
const eq = (attr: 'stream' | 'event_type' | 'subject', value: string | null): Selector => ({ type: 'equals', attr, value });

async function revisions(store: EventStore, query: Partial<EventQuery>): Promise<number[]> {
  return (await store.query('db', { direction: 'forward', limit: 10_000, ...query })).events.map((e) => e.revision);
}

/** The same, accepting index lag: the reads the GSIs may answer. */
const lagging = (store: EventStore, query: Partial<EventQuery>) => revisions(store, { ...query, allowIndexLag: true });

async function databaseId(tableName: string, name: string): Promise<string> {
  const { Item } = await dynamo.admin.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'catalog' }, sk: { S: `db#${name}` } }, ConsistentRead: true }));
  return Item!.db!.S!;
}

/** Items in a partition (with a sort-key prefix), counted over every page: a page stops at 1 MB. */
async function partitionSize(tableName: string, pk: string, skPrefix = ''): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.admin.send(
      new QueryCommand({
        TableName: tableName,
        // DynamoDB refuses an empty prefix.
        KeyConditionExpression: skPrefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk }, ...(skPrefix ? { ':prefix': { S: skPrefix } } : {}) },
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count!;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

async function trashEntries(tableName: string): Promise<number> {
  const out = await dynamo.admin.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
      ExpressionAttributeValues: { ':pk': { S: 'catalog' }, ':t': { S: 'trash#' } },
      ConsistentRead: true,
    }),
  );
  return out.Count!;
}

describe('dynamodb: selective queries', () => {
  it('answers from the GSIs, when a query accepts lag, exactly what reading the base table answers', async () => {
    const tableName = newTable();
    const indexed = await openStore(tableName, { indexSettleMs: 0, directScanMaxRevisions: 0 });
    const scanned = await openStore(tableName, { indexSettleMs: Infinity });
    await indexed.createDatabase('db', T0);
    for (let batch = 0; batch < 6; batch++) {
      const events = Array.from({ length: 40 }, (_, i) => {
        const n = batch * 40 + i;
        return ev({
          source: n % 3 === 0 ? 'billing' : 'orders',
          type: n % 4 === 0 ? 'OrderShipped' : 'OrderCreated',
          ...(n % 7 === 0 ? {} : { subject: `order-${n % 5}` }),
          time: new Date(Date.parse('2024-01-01T00:00:00Z') + n * 3_600_000).toISOString(),
        });
      });
      expect((await indexed.appendTransaction('db', { events, recordedtime: T0 })).kind).toBe('appended');
    }
    let gsiQueries = 0;
    const counting = clientFor((command) => {
      if (command instanceof QueryCommand && command.input.IndexName) gsiQueries++;
      return undefined;
    });
    const viaIndex = new DynamoDbEventStore({ tableName, client: counting, indexSettleMs: 0, directScanMaxRevisions: 0 });
    stores.push(viaIndex);
    await viaIndex.open();

    const selectors: Selector[] = [
      eq('subject', 'order-2'),
      eq('subject', null),
      eq('stream', 'billing'),
      { type: 'and', selectors: [eq('event_type', 'OrderShipped'), eq('subject', 'order-1')] },
      { type: 'or', selectors: [eq('subject', 'order-3'), eq('stream', 'billing'), eq('subject', null)] },
      { type: 'and', selectors: [eq('stream', 'orders'), { type: 'starts_with', attr: 'subject', value: 'order-4' }] },
    ];
    const window = { fromTimeMs: Date.parse('2024-01-03T00:00:00Z'), toTimeMs: Date.parse('2024-01-06T12:00:00Z') };
    for (const selector of selectors) {
      for (const extra of [{}, window, { fromRevision: 17, toRevision: 201 }]) {
        for (const direction of ['forward', 'backward'] as const) {
          for (const limit of [3, 1000]) {
            const query = { selector, direction, limit, ...extra };
            const expected = await scanned.query('db', query);
            expect(expected.events.length).toBeGreaterThan(0);
            expect(await viaIndex.query('db', { ...query, allowIndexLag: true })).toEqual(expected);
          }
        }
      }
    }
    expect(gsiQueries).toBeGreaterThan(72);
  });

  it('indexes values too long for a GSI key by their hash', async () => {
    const store = await openStore(newTable(), { indexSettleMs: 0, directScanMaxRevisions: 0 });
    await store.createDatabase('db', T0);
    const long = 's'.repeat(3000);
    await store.appendTransaction('db', { events: [ev({ source: `${long}-a`, subject: long }), ev({ source: `${long}-b` }), ev({ subject: `${long}!` })], recordedtime: T0 });
    expect(await revisions(store, { selector: eq('stream', `${long}-a`) })).toEqual([1]);
    expect(await revisions(store, { selector: eq('stream', `${long}-b`) })).toEqual([2]);
    expect(await revisions(store, { selector: eq('subject', long) })).toEqual([1]);
    expect(await revisions(store, { selector: eq('subject', `${long}!`) })).toEqual([3]);
  });

  it('reads events still settling into the GSIs from the base table', async () => {
    const tableName = newTable();
    // Events appended while `backdate` is set claim to have been committed a minute ago.
    let backdate = false;
    // GSI entries above this revision are held back, as a lagging index would.
    let indexedThrough = Infinity;
    let gsiQueries = 0;
    const client = clientFor((command, forward) => {
      if (backdate && command instanceof TransactWriteItemsCommand) {
        for (const action of command.input.TransactItems ?? []) {
          // The adapter's items are plain values; the document client marshals them after this.
          const item = action.Put?.Item as Record<string, unknown> | undefined;
          if (item?.c) item.c = Date.now() - 60_000;
        }
      }
      if (command instanceof QueryCommand && command.input.IndexName) {
        gsiQueries++;
        return forward().then((out) => {
          const result = out as { Items?: Array<Record<string, unknown>> };
          return { ...result, Items: result.Items?.filter((item) => (item.rev as number) <= indexedThrough) };
        });
      }
      return undefined;
    });
    const store = new DynamoDbEventStore({ tableName, client, createTable: true, indexSettleMs: 30_000, directScanMaxRevisions: 0 });
    stores.push(store);
    await store.open();
    await store.createDatabase('db', T0);
    backdate = true;
    await store.appendTransaction('db', { events: [ev({ subject: 'x' }), ev({ subject: 'y' }), ev({ subject: 'x' }), ev({ subject: 'x' })], recordedtime: T0 });
    backdate = false;
    await store.appendTransaction('db', { events: [ev({ subject: 'x' }), ev({ subject: 'y' }), ev({ subject: 'x' })], recordedtime: T0 });
    indexedThrough = 4;

    expect(await lagging(store, { selector: eq('subject', 'x') })).toEqual([1, 3, 4, 5, 7]);
    expect(gsiQueries).toBe(1);
    expect(await lagging(store, { selector: eq('subject', 'x'), direction: 'backward' })).toEqual([7, 5, 4, 3, 1]);
    const page = await store.query('db', { selector: eq('subject', 'x'), direction: 'backward', limit: 2, allowIndexLag: true });
    expect(page.events.map((e) => e.revision)).toEqual([7, 5]);
    expect(page.hasMore).toBe(true);
    expect(await lagging(store, { selector: eq('subject', 'x'), limit: 4 })).toEqual([1, 3, 4, 5]);
    // Once the GSIs catch up, events in both parts are still returned once each.
    indexedThrough = Infinity;
    expect(await lagging(store, { selector: eq('subject', 'x') })).toEqual([1, 3, 4, 5, 7]);
    expect(await lagging(store, { selector: eq('subject', 'x'), direction: 'backward' })).toEqual([7, 5, 4, 3, 1]);
    indexedThrough = 4;

    // The same lag, with the GSIs trusted at once, loses the recent events: what the tail is for.
    const trusting = new DynamoDbEventStore({ tableName, client, indexSettleMs: 0, directScanMaxRevisions: 0 });
    stores.push(trusting);
    await trusting.open();
    expect(await lagging(trusting, { selector: eq('subject', 'x') })).toEqual([1, 3, 4]);
    // A query that does not accept lag never reads the GSIs, and so never loses anything.
    expect(await revisions(trusting, { selector: eq('subject', 'x') })).toEqual([1, 3, 4, 5, 7]);
  });
});

describe('dynamodb: deleting databases', () => {
  it('removes every item of a deleted database and nothing of the others', async () => {
    const tableName = newTable();
    const store = await openStore(tableName);
    await store.createDatabase('db', T0);
    await store.createDatabase('other', T0);
    for (let i = 0; i < 3; i++) await store.appendTransaction('db', { events: Array.from({ length: 40 }, (_, j) => ev({ subject: `s-${j}` })), recordedtime: T0 });
    await store.putBlob('db', 'views/v/1/component.wasm', new Uint8Array(1024 * 1024));
    await store.putBlob('db', 'views/v/1/metadata.json', new Uint8Array(10));
    await store.appendTransaction('other', { events: [ev(), ev()], recordedtime: T0 });
    await store.putBlob('other', 'k', new Uint8Array(1024 * 1024));
    const doomed = await databaseId(tableName, 'db');
    const kept = await databaseId(tableName, 'other');
    const kinds = async (pk: string) => {
      const found = new Set<string>();
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamo.admin.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk } },
            ProjectionExpression: 'sk',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) found.add(item.sk!.S!.replace(/#.*/, ''));
        start = page.LastEvaluatedKey;
      } while (start);
      return found;
    };
    // Head, events, uniqueness items, latest-value items, blob manifests and chunks.
    expect(await kinds(doomed)).toEqual(new Set(['head', 'e', 'k', 'l', 'b', 'c']));
    const keptBefore = await partitionSize(tableName, kept);

    expect(await store.deleteDatabase('db')).toBe(true);
    await store.settleCleanups();
    expect(await partitionSize(tableName, doomed)).toBe(0);
    expect(await trashEntries(tableName)).toBe(0);
    expect(await partitionSize(tableName, kept)).toBe(keptBefore);
    const { Items: catalog = [] } = await dynamo.admin.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'catalog' } }, ConsistentRead: true }),
    );
    expect(catalog.map((item) => item.sk!.S)).toEqual(['db#other']);
  });

  it('hides an interrupted deletion from the re-created database and finishes it on the next start', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const tableName = newTable();
    const failingDeletes = clientFor((command) => {
      if ((command as { constructor: { name: string } }).constructor.name === 'BatchWriteItemCommand') return Promise.reject(new Error('connection reset'));
      return undefined;
    });
    const store = new DynamoDbEventStore({ tableName, client: failingDeletes, createTable: true });
    stores.push(store);
    await store.open();
    await store.createDatabase('db', T0);
    const old = ev({ subject: 'old' });
    await store.appendTransaction('db', { events: [old, ev({ subject: 'old' })], recordedtime: T0 });
    const doomed = await databaseId(tableName, 'db');

    expect(await store.deleteDatabase('db')).toBe(true);
    await store.settleCleanups();
    expect(process.emitWarning).toHaveBeenCalledWith(expect.stringContaining('resumes on the next start'));
    expect(await partitionSize(tableName, doomed)).toBeGreaterThan(0);
    expect(await trashEntries(tableName)).toBe(1);

    await store.createDatabase('db', T0);
    expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 0 });
    expect(await revisions(store, {})).toEqual([]);
    expect(await revisions(store, { selector: eq('subject', 'old') })).toEqual([]);
    expect(await store.findByKeys('db', [old])).toEqual([undefined]);
    expect(await store.appendTransaction('db', { events: [old], recordedtime: T0 })).toEqual({ kind: 'appended', firstRevision: 1, lastRevision: 1 });

    const restarted = await openStore(tableName);
    await restarted.settleCleanups();
    expect(await partitionSize(tableName, doomed)).toBe(0);
    expect(await trashEntries(tableName)).toBe(0);
    expect(await revisions(restarted, {})).toEqual([1]);
  });
});

describe('dynamodb: blobs and listed values', () => {
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
  // Deep equality walks megabytes element by element; a byte comparison is instant.
  const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.compare(a, b) === 0 && a.constructor === Uint8Array;
  const chunkCount = async (tableName: string) => partitionSize(tableName, await databaseId(tableName, 'db'), 'c#');

  it('stores blobs larger than a transaction, and leaves no chunks of replaced or refused versions', async () => {
    const tableName = newTable();
    const store = await openStore(tableName);
    await store.createDatabase('db', T0);
    const nine = bytes(9 * 1024 * 1024 + 5, 1);
    expect(await store.putBlob('db', 'components/big', nine)).toBe(true);
    expect(same(await store.getBlob('db', 'components/big'), nine)).toBe(true);
    const chunksOfOne = await chunkCount(tableName);
    expect(chunksOfOne).toBeGreaterThan(20);

    const replacement = bytes(2 * 1024 * 1024, 2);
    expect(await store.putBlob('db', 'components/big', replacement)).toBe(true);
    expect(same(await store.getBlob('db', 'components/big'), replacement)).toBe(true);
    expect(await chunkCount(tableName)).toBeLessThan(chunksOfOne);
    const afterReplace = await chunkCount(tableName);

    const contenders = await Promise.all([3, 4, 5].map((seed) => store.putBlob('db', 'components/once', bytes(1024 * 1024, seed), { ifAbsent: true })));
    expect(contenders.filter(Boolean)).toHaveLength(1);
    expect(same(await store.getBlob('db', 'components/once'), bytes(1024 * 1024, 3 + contenders.indexOf(true)))).toBe(true);
    const afterOnce = await chunkCount(tableName);
    expect(afterOnce).toBeGreaterThan(afterReplace);

    expect(await store.deleteBlobs('db', 'components/')).toBe(2);
    expect(await chunkCount(tableName)).toBe(0);
    expect(await store.putBlob('db', 'empty', new Uint8Array(0))).toBe(true);
    expect(await store.getBlob('db', 'empty')).toEqual(new Uint8Array(0));
  });

  it('publishes no blob into a database another server deleted', async () => {
    const tableName = newTable();
    const serverA = await openStore(tableName);
    const serverB = await openStore(tableName);
    await serverA.createDatabase('db', T0);
    await serverB.listBlobs('db', '');
    const doomed = await databaseId(tableName, 'db');
    await serverA.deleteDatabase('db');
    await serverA.settleCleanups();
    // B's cached incarnation is gone: the put is refused before or at its manifest.
    await expect(serverB.putBlob('db', 'late', bytes(1024 * 1024, 9))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await partitionSize(tableName, doomed)).toBe(0);
  });

  it('lists the values of transactions too large to carry them, and of other servers', async () => {
    const tableName = newTable();
    const serverA = await openStore(tableName);
    const serverB = await openStore(tableName);
    await serverA.createDatabase('db', T0);
    // 49 events leave one spare action in the transaction for 51 new values.
    const events = Array.from({ length: 49 }, (_, i) => ev({ subject: `subject-${String(i).padStart(2, '0')}`, type: i === 0 ? 'First' : 'Later' }));
    await serverA.appendTransaction('db', { events, recordedtime: T0 });
    expect(await serverB.distinctValues('db', 'subject', 'subject-', 100)).toEqual(events.map((e) => e.subject));
    expect(await serverB.distinctValues('db', 'event_type', '', 10)).toEqual(['First', 'Later']);
    await serverB.appendTransaction('db', { events: [ev({ source: 'zebra' })], recordedtime: T0 });
    expect(await serverA.distinctValues('db', 'stream', '', 10)).toEqual(['orders', 'zebra']);
    expect(await serverA.distinctValues('db', 'subject', 'subject-4', 3)).toEqual(['subject-40', 'subject-41', 'subject-42']);
  });
});

describe('dynamodb: the table', () => {
  it('refuses to open without the table unless asked to create it', async () => {
    const tableName = newTable();
    const store = new DynamoDbEventStore({ tableName, endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials });
    await expect(store.open()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`"${tableName}" does not exist`) });
    const created = await openStore(tableName);
    expect(await created.health()).toEqual({ status: 'connected' });
    await created.close();
    expect(await created.health()).toMatchObject({ status: 'unavailable' });
  });

  it('names what is wrong with a table of another layout', async () => {
    const tableName = newTable();
    await dynamo.admin.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const store = new DynamoDbEventStore({ tableName, endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials, createTable: true });
    await expect(store.open()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('global secondary index by_stream') });
  });
});
