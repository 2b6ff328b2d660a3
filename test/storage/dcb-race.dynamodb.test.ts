/**
 * Extension attributes on DynamoDB where exactness is at stake: the course-subscription race
 * (dcb-race.ts) between two servers whose GSIs lag by a minute, the cost of a constraint check
 * on an extension (the events after its revision, not the database), and the transaction limit
 * once extension index items take actions.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import { parseSelector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import { appendEvents } from '../../src/usecases/append-events.ts';
import type { FactumContext } from '../../src/usecases/context.ts';
import { IndexLag, interceptSend, useDynamoDbLocal } from '../support/dynamodb-local.ts';
import { runCourseRace } from './dcb-race.ts';

const dynamo = useDynamoDbLocal('dcb');
const T0 = '2024-01-15T10:30:00.000Z';
let tables = 0;
const stores: DynamoDbEventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

let seq = 0;
const ev = (partial: Record<string, unknown> = {}): CloudEvent => ({ specversion: '1.0', id: `dcb-${++seq}`, source: 'school', type: 'StudentSubscribed', ...partial });

/** Items DynamoDB read for queries (ScannedCount, what is paid for), counted on the way back. */
class ReadCounter {
  scanned = 0;
  attach(client: DynamoDBClient): DynamoDBClient {
    return interceptSend(client, (command, forward) =>
      command instanceof QueryCommand
        ? forward().then((out) => {
            this.scanned += (out as { ScannedCount?: number }).ScannedCount ?? 0;
            return out;
          })
        : undefined,
    );
  }
}

async function server(tableName: string, wrap: (client: DynamoDBClient) => DynamoDBClient = (c) => c): Promise<DynamoDbEventStore> {
  const client = wrap(new DynamoDBClient({ endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials: dynamo.credentials }));
  // Selective reads over more than 5 revisions would go to the GSIs if the adapter trusted them.
  const store = new DynamoDbEventStore({ tableName, client, createTable: true, directScanMaxRevisions: 5 });
  stores.push(store);
  await store.open();
  return store;
}

describe('DynamoDB: DCB decisions over extension attributes', () => {
  it('gives the course exactly its capacity and no student more than their limit, between two servers, whatever the GSIs lag', async () => {
    const tableName = `dcb-${++tables}`;
    const lag = new IndexLag(60_000);
    const [a, b] = [await server(tableName, (c) => lag.attach(c)), await server(tableName, (c) => lag.attach(c))];
    const { conflicts } = await runCourseRace([a, b], 'school');
    expect(conflicts).toBeGreaterThan(0);
    // A query that accepts lag still finds every subscription of c1: extensions are read from items written with their events.
    const page = await a.query('school', { selector: parseSelector({ event_type: 'StudentSubscribed', extensions: { course: 'c1' } }), direction: 'forward', limit: 100, allowIndexLag: true });
    expect(page.events).toHaveLength(10);
  }, 180_000);

  it('checks a max_revision constraint on an extension by the events after its revision, not the size of the database', async () => {
    const counter = new ReadCounter();
    const store = await server(`dcb-${++tables}`, (c) => counter.attach(c));
    await store.createDatabase('school', T0);
    // 660 events of other courses (33 a transaction: each takes three actions), then one of c1.
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 33 }, (_, j) => ev({ course: `other-${(i * 33 + j) % 300}` }));
      expect((await store.appendTransaction('school', { events: batch, recordedtime: T0 })).kind).toBe('appended');
    }
    expect((await store.appendTransaction('school', { events: [ev({ course: 'c1' })], recordedtime: T0 })).kind).toBe('appended');
    const ctx: FactumContext = { store, components: undefined as never, now: () => new Date() };
    const head = (await store.getDatabase('school'))!.latest_revision;
    counter.scanned = 0;
    await appendEvents(ctx, 'school', [ev({ course: 'c1', student: 's1' })], [{ type: 'max_revision', revision: head, selector: parseSelector({ extensions: { course: 'c1' } }) }]);
    expect(counter.scanned).toBeLessThan(10);
    // And the check holds: a decision taken before that append is refused.
    await expect(
      appendEvents(ctx, 'school', [ev({ course: 'c1', student: 's2' })], [{ type: 'max_revision', revision: head, selector: parseSelector({ extensions: { course: 'c1' } }) }]),
    ).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('counts extension index items against the 100 actions of a transaction, refusing with a clear 4xx and writing nothing', async () => {
    const store = await server(`dcb-${++tables}`);
    await store.createDatabase('school', T0);
    // Two extensions make four actions an event: 25 events take 101 with the revision update.
    const tooMany = Array.from({ length: 25 }, (_, i) => ev({ course: 'c1', student: `s${i}` }));
    await expect(store.appendTransaction('school', { events: tooMany, recordedtime: T0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('takes 101 DynamoDB actions'),
      details: { field: 'events', limit: 100, actions: 101, count: 25 },
    });
    expect((await store.getDatabase('school'))!.latest_revision).toBe(0);
    expect(await store.appendTransaction('school', { events: tooMany.slice(1), recordedtime: T0 })).toMatchObject({ kind: 'appended', lastRevision: 24 });
    expect((await store.query('school', { selector: parseSelector({ extensions: { course: 'c1' } }), direction: 'forward', limit: 100 })).events).toHaveLength(24);
  });
});
