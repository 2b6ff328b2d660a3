/**
 * The latest-value items behind exact reads, and group commit: what the conformance suite sees
 * only as right answers. Reads must cost what their window holds, not what the database holds;
 * answers must stay right while the items lag behind (a 49-event append has no room for them);
 * heads written before the items existed must work and be caught up; concurrent appends must
 * share transactions and still each get their own outcome.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, QueryCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventQuery } from '../../src/storage/types.ts';
import { interceptSend, useDynamoDbLocal } from '../support/dynamodb-local.ts';

const T0 = '2024-01-15T10:30:00.000Z';
const dynamo = useDynamoDbLocal('latest');
const { credentials } = dynamo;

const stores: DynamoDbEventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  vi.restoreAllMocks();
});

let tables = 0;
/** What the store asked of DynamoDB: items its queries read, and transactions that carried events. */
interface Traffic {
  scanned: number;
  queries: number;
  eventTransactions: number;
  /** Set to refuse the transactions that only write latest-value items. */
  refuseCatchUps: boolean;
}

async function openStore(tableName = `latest-${++tables}`): Promise<{ store: DynamoDbEventStore; traffic: Traffic; tableName: string }> {
  const traffic: Traffic = { scanned: 0, queries: 0, eventTransactions: 0, refuseCatchUps: false };
  const client = interceptSend(new DynamoDBClient({ endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials }), (command, forward) => {
    if (command instanceof QueryCommand) {
      traffic.queries++;
      return forward().then((out) => {
        traffic.scanned += (out as { ScannedCount?: number }).ScannedCount ?? 0;
        return out;
      });
    }
    if (command instanceof TransactWriteItemsCommand) {
      const carriesEvents = (command.input.TransactItems ?? []).some((a) => a.Put);
      if (carriesEvents) traffic.eventTransactions++;
      else if (traffic.refuseCatchUps) return Promise.reject(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
    }
    return undefined;
  });
  const store = new DynamoDbEventStore({ tableName, client, createTable: true });
  stores.push(store);
  await store.open();
  return { store, traffic, tableName };
}

let seq = 0;
const ev = (partial: Partial<CloudEvent> = {}): CloudEvent => ({ specversion: '1.0', id: `l-${++seq}`, source: 'accounts', type: 'ProfileUpdated', ...partial });
const eq = (attr: 'stream' | 'event_type' | 'subject', value: string | null): Selector => ({ type: 'equals', attr, value });
const claimed = (name: string): Selector => ({ type: 'and', selectors: [eq('event_type', 'UsernameClaimed'), eq('subject', name)] });
const latest = (selector: Selector, extra: Partial<EventQuery> = {}): EventQuery => ({ selector, direction: 'backward', limit: 1, ...extra });
const revisionsOf = (page: { events: Array<{ revision: number }> }) => page.events.map((e) => e.revision);

/** `count` events in appends of 49 (each too large to carry its latest-value items), then one small append. */
async function fill(store: DynamoDbEventStore, count: number, make: (i: number) => CloudEvent = (i) => ev({ subject: `user-${i % 37}` })): Promise<void> {
  for (let done = 0; done < count; done += 49) {
    const events = Array.from({ length: Math.min(49, count - done) }, (_, i) => make(done + i));
    expect((await store.appendTransaction('db', { events, recordedtime: T0 })).kind).toBe('appended');
  }
  // The writer covers each commit before its next round: once this is answered, all are covered.
  expect((await store.appendTransaction('db', { events: [ev()], recordedtime: T0 })).kind).toBe('appended');
}

async function headItem(tableName: string): Promise<Record<string, { N?: string; S?: string }>> {
  const { Item: entry } = await dynamo.admin.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'catalog' }, sk: { S: 'db#db' } }, ConsistentRead: true }));
  const { Item } = await dynamo.admin.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: entry!.db!.S! }, sk: { S: 'head' } }, ConsistentRead: true }));
  return Item as Record<string, { N?: string; S?: string }>;
}

describe('dynamodb: exact reads cost their window', () => {
  it('checks a selector against a database of 1000 events by reading a handful of items', async () => {
    const { store, traffic, tableName } = await openStore();
    await store.createDatabase('db', T0);
    await fill(store, 980, (i) => (i === 5 ? ev({ type: 'UsernameClaimed', subject: 'alice' }) : ev({ subject: i % 3 === 0 ? 'alice' : `user-${i % 37}` })));
    const head = (await store.getDatabase('db'))!.latest_revision;
    expect(Number((await headItem(tableName)).lt!.N)).toBe(head);

    const cost = async (query: EventQuery) => {
      const before = { ...traffic };
      const page = await store.query('db', query);
      return { revisions: revisionsOf(page), scanned: traffic.scanned - before.scanned, queries: traffic.queries - before.queries };
    };
    // Never claimed: the items say so without reading a single event.
    expect(await cost(latest(claimed('bob')))).toEqual({ revisions: [], scanned: 0, queries: 0 });
    // Claimed long ago, while alice has hundreds of later events of another type: the read starts
    // at alice's latest event and walks back to the claim (AND leaves are bounded, not joined).
    const alice = await cost(latest(claimed('alice')));
    expect(alice.revisions).toEqual([6]);
    // Equality and OR: the latest match is the first item read.
    const one = await cost(latest(eq('subject', 'user-1')));
    expect(one.revisions).toEqual([927]);
    expect(one.scanned).toBeLessThanOrEqual(1);
    const either = await cost(latest({ type: 'or', selectors: [eq('subject', 'user-2'), eq('subject', 'user-3')] }));
    expect(either.revisions).toEqual([966]);
    expect(either.scanned).toBeLessThanOrEqual(1);
    // Up to an older revision: the item's `prev`, or the bound, keeps it short.
    const older = await cost(latest(eq('subject', 'user-1'), { toRevision: head - 40 }));
    expect(older.revisions).toHaveLength(1);
    expect(older.scanned).toBeLessThanOrEqual(40);
    // A window after N, as a max_revision N check reads it, costs the window.
    const window = await cost(latest({ type: 'starts_with', attr: 'subject', value: 'nobody' }, { fromRevision: head - 10 }));
    expect(window).toMatchObject({ revisions: [], scanned: 11 });
    // A few pages of a consistent base-table read over the window, never a walk of the database.
    expect(window.queries).toBeLessThanOrEqual(3);
  });
});

describe('dynamodb: latest-value items behind the events', () => {
  it('answers exactly while they cannot be written, and catches up once they can', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { store, traffic, tableName } = await openStore();
    await store.createDatabase('db', T0);
    traffic.refuseCatchUps = true;
    const events = Array.from({ length: 49 }, (_, i) => ev({ subject: i === 30 ? 'carol' : `user-${i}`, type: i === 30 ? 'UsernameClaimed' : 'ProfileUpdated' }));
    expect(await store.appendTransaction('db', { events, recordedtime: T0 })).toMatchObject({ kind: 'appended', lastRevision: 49 });
    await store.settleCatchUps();
    expect(Number((await headItem(tableName)).lt!.N)).toBe(0);
    expect(revisionsOf(await store.query('db', latest(claimed('carol'))))).toEqual([31]);
    expect(revisionsOf(await store.query('db', { selector: eq('subject', 'carol'), direction: 'forward', limit: 10 }))).toEqual([31]);
    expect(await store.distinctValues('db', 'subject', 'car', 10)).toEqual(['carol']);

    traffic.refuseCatchUps = false;
    expect((await store.appendTransaction('db', { events: [ev({ subject: 'dave' })], recordedtime: T0 })).kind).toBe('appended');
    await store.settleCatchUps();
    expect(Number((await headItem(tableName)).lt!.N)).toBe(50);
    expect(revisionsOf(await store.query('db', latest(claimed('carol'))))).toEqual([31]);
    expect(await store.distinctValues('db', 'subject', '', 100)).toContain('dave');
  });

  it('reads a database whose head predates them, and builds them from its events', async () => {
    const first = await openStore();
    await first.store.createDatabase('db', T0);
    await fill(first.store, 120);
    await first.store.close();
    // What an earlier version left: no `lt`, no latest-value items.
    const head = await headItem(first.tableName);
    const dbId = head.pk!.S!;
    await dynamo.admin.send(new UpdateItemCommand({ TableName: first.tableName, Key: { pk: { S: dbId }, sk: { S: 'head' } }, UpdateExpression: 'REMOVE lt' }));
    const { Items = [] } = await dynamo.admin.send(
      new QueryCommand({ TableName: first.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)', ExpressionAttributeValues: { ':pk': { S: dbId }, ':l': { S: 'l#' } }, ConsistentRead: true }),
    );
    expect(Items.length).toBeGreaterThan(30);
    for (const item of Items) await dynamo.admin.send(new DeleteItemCommand({ TableName: first.tableName, Key: { pk: item.pk!, sk: item.sk! } }));

    const { store } = await openStore(first.tableName);
    expect(revisionsOf(await store.query('db', latest(eq('subject', 'user-3'))))).toEqual([115]);
    expect((await store.appendTransaction('db', { events: [ev({ subject: 'user-3' })], recordedtime: T0 })).kind).toBe('appended');
    await store.settleCatchUps();
    expect(Number((await headItem(first.tableName)).lt!.N)).toBe(122);
    expect(revisionsOf(await store.query('db', latest(eq('subject', 'user-3'))))).toEqual([122]);
    expect(await store.distinctValues('db', 'subject', 'user-3', 10)).toEqual(['user-3', 'user-30', 'user-31', 'user-32', 'user-33', 'user-34', 'user-35', 'user-36']);
  });
});

describe('dynamodb: group commit', () => {
  it('shares transactions among concurrent appends, each with its own outcome', async () => {
    const { store, traffic } = await openStore();
    await store.createDatabase('db', T0);
    const stored = ev({ subject: 'taken' });
    await store.appendTransaction('db', { events: [stored], recordedtime: T0 });
    const before = traffic.eventTransactions;
    const requests = Array.from({ length: 24 }, (_, i) => {
      if (i === 7) return { events: [ev(), { ...stored, data: 'changed' }], recordedtime: T0 };
      if (i === 11) return { events: [ev()], recordedtime: T0, guard: { basis: 0, scopes: [eq('subject', 'taken')] } };
      return { events: [ev({ subject: `s-${i}` })], recordedtime: T0, guard: { basis: 1, scopes: [eq('subject', `s-${i}`)] } };
    });
    const outcomes = await Promise.all(requests.map((request) => store.appendTransaction('db', request)));
    expect(outcomes[7]).toMatchObject({ kind: 'duplicates', existing: [undefined, { revision: 1 }] });
    expect(outcomes[11]).toMatchObject({ kind: 'guard_failed' });
    const appended = outcomes.filter((o) => o.kind === 'appended').map((o) => (o.kind === 'appended' ? o.lastRevision : 0));
    expect(appended.sort((a, b) => a - b)).toEqual(Array.from({ length: 22 }, (_, i) => i + 2));
    expect(traffic.eventTransactions - before).toBeLessThan(12);
  });
});
