/**
 * Several servers on one DynamoDB table: two adapter instances stand for two Factum servers, each
 * with its own caches and its own queue of appends, so every race between them is decided by
 * DynamoDB alone.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import { eventItems, itemBytes, MAX_EVENTS_PER_TRANSACTION, MAX_ITEM_BYTES } from '../../src/storage/dynamodb/items.ts';
import type { AppendOutcome, EventStore } from '../../src/storage/types.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let local: DynamoDbLocal;
const credentials = { accessKeyId: `races${process.pid}x${Date.now()}`, secretAccessKey: 'local' };

beforeAll(async () => {
  local = await startDynamoDbLocal();
});
afterAll(async () => {
  await local?.stop();
});

let seq = 0;
function ev(partial: Partial<CloudEvent> = {}): CloudEvent {
  seq += 1;
  return { specversion: '1.0', id: `r-${seq}`, source: 'races', type: 'Happened', ...partial };
}

const eq = (attr: 'stream' | 'event_type' | 'subject', value: string): Selector => ({ type: 'equals', attr, value });

let tables = 0;
let serverA: DynamoDbEventStore;
let serverB: DynamoDbEventStore;

beforeEach(async () => {
  const tableName = `races-${++tables}`;
  // A generous operation bound: a loaded machine must not turn a race into a timeout (timeouts
  // are tested in dynamodb-outage.test.ts).
  const make = () => new DynamoDbEventStore({ tableName, endpoint: local.endpoint, region: 'us-east-1', credentials, createTable: true, operationTimeoutMs: 30_000 });
  serverA = make();
  await serverA.open();
  serverB = make();
  await serverB.open();
  await serverA.createDatabase('db', T0);
});

afterEach(async () => {
  await serverA.close();
  await serverB.close();
});

async function stored(store: EventStore): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (let from = 1; ; ) {
    const page = await store.query('db', { fromRevision: from, direction: 'forward', limit: 500 });
    out.push(...page.events.map((e) => JSON.parse(e.json) as StoredEvent));
    if (!page.hasMore) return out;
    from = page.events.at(-1)!.revision + 1;
  }
}

describe('dynamodb: concurrent servers', () => {
  it('gives 20 concurrent writers on two servers dense, unique revisions and loses nothing', async () => {
    const writers = 20;
    const appendsPerWriter = 8;
    const ranges: Array<{ writer: number; first: number; last: number }> = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const server = w % 2 === 0 ? serverA : serverB;
        for (let n = 0; n < appendsPerWriter; n++) {
          const size = 1 + ((w + n) % 3);
          const events = Array.from({ length: size }, (_, i) => ev({ subject: `w${w}`, data: { n, i } }));
          const outcome = await server.appendTransaction('db', { events, recordedtime: T0 });
          if (outcome.kind !== 'appended') throw new Error(`writer ${w}: ${JSON.stringify(outcome)}`);
          expect(outcome.lastRevision - outcome.firstRevision + 1).toBe(size);
          ranges.push({ writer: w, first: outcome.firstRevision, last: outcome.lastRevision });
        }
      }),
    );
    const total = ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
    // The acknowledged ranges tile 1..total exactly: no revision given twice, none skipped.
    ranges.sort((a, b) => a.first - b.first);
    ranges.forEach((r, i) => expect(r.first).toBe(i === 0 ? 1 : ranges[i - 1]!.last + 1));
    expect(ranges.at(-1)!.last).toBe(total);

    for (const server of [serverA, serverB]) {
      const events = await stored(server);
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // Every acknowledged transaction is stored where it was acknowledged, whole.
      for (const r of ranges) {
        for (let rev = r.first; rev <= r.last; rev++) expect(events[rev - 1]!.subject).toBe(`w${r.writer}`);
      }
      expect(new Set(events.map((e) => e.id)).size).toBe(total);
      expect(await server.getDatabase('db')).toMatchObject({ latest_revision: total });
    }
  });

  it('lets exactly one of many appends at the same expected revision through, round after round', async () => {
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      const basis = (await serverA.getDatabase('db'))!.latest_revision;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? serverA : serverB).appendTransaction('db', {
            events: [ev({ subject: `round-${round}` })],
            recordedtime: T0,
            guard: { basis, scopes: [undefined] },
          }),
        ),
      );
      expect(outcomes.filter((o) => o.kind === 'appended')).toEqual([{ kind: 'appended', firstRevision: basis + 1, lastRevision: basis + 1 }]);
      expect(outcomes.filter((o) => o.kind === 'guard_failed')).toHaveLength(7);
    }
    expect((await stored(serverB)).map((e) => e.subject)).toEqual(Array.from({ length: rounds }, (_, r) => `round-${r}`));
  });

  it('lets one claim of a name through while claims of other names succeed alongside', async () => {
    const registered = (name: string): Selector => ({ type: 'and', selectors: [eq('event_type', 'UserRegistered'), eq('subject', name)] });
    for (let round = 0; round < 5; round++) {
      const basis = (await serverB.getDatabase('db'))!.latest_revision;
      const claims: Array<Promise<AppendOutcome>> = [];
      for (let i = 0; i < 16; i++) {
        // Half contest one name; the others each claim a name of their own.
        const name = i % 2 === 0 ? `taken-${round}` : `free-${round}-${i}`;
        claims.push(
          (i % 4 < 2 ? serverA : serverB).appendTransaction('db', {
            events: [ev({ type: 'UserRegistered', subject: name })],
            recordedtime: T0,
            guard: { basis, scopes: [registered(name)] },
          }),
        );
      }
      const outcomes = await Promise.all(claims);
      const contested = outcomes.filter((_, i) => i % 2 === 0);
      expect(contested.filter((o) => o.kind === 'appended')).toHaveLength(1);
      expect(contested.filter((o) => o.kind === 'guard_failed')).toHaveLength(7);
      expect(outcomes.filter((_, i) => i % 2 === 1).every((o) => o.kind === 'appended')).toBe(true);
      const holders = await serverA.query('db', { selector: registered(`taken-${round}`), direction: 'forward', limit: 10 });
      expect(holders.events).toHaveLength(1);
    }
    expect((await serverA.getDatabase('db'))!.latest_revision).toBe(5 * 9);
  });

  it('sees a database deleted and re-created by another server', async () => {
    expect((await serverB.appendTransaction('db', { events: [ev(), ev()], recordedtime: T0 })).kind).toBe('appended');
    const kept = ev();
    expect((await serverB.appendTransaction('db', { events: [kept], recordedtime: T0 })).kind).toBe('appended');
    expect(await serverA.deleteDatabase('db')).toBe(true);
    // Server B still knows the old incarnation; DynamoDB tells it the truth.
    await expect(serverB.appendTransaction('db', { events: [ev()], recordedtime: T0 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(serverB.query('db', { direction: 'forward', limit: 10 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await serverA.createDatabase('db', T0);
    await serverB.readEvent('db', 1).then((e) => expect(e).toBeUndefined());
    expect(await serverB.appendTransaction('db', { events: [kept], recordedtime: T0 })).toEqual({ kind: 'appended', firstRevision: 1, lastRevision: 1 });
    expect((await stored(serverA)).map((e) => e.id)).toEqual([kept.id]);
  });
});

describe('dynamodb: limits', () => {
  async function nothingWritten(): Promise<void> {
    for (const server of [serverA, serverB]) {
      expect(await server.getDatabase('db')).toMatchObject({ latest_revision: 0 });
      expect((await server.query('db', { direction: 'forward', limit: 10 })).events).toEqual([]);
    }
  }

  /** An event whose item takes exactly `bytes` as the adapter counts it. */
  function eventOfItemSize(bytes: number, partial: Partial<CloudEvent> = {}): CloudEvent {
    const base = ev({ data: '', ...partial });
    const probe = itemBytes(eventItems('db#db#0000000000000000', base, Number.MAX_SAFE_INTEGER, T0, Date.now()).event);
    return { ...base, data: 'x'.repeat(bytes - probe) };
  }

  it('refuses an event over the item limit and writes nothing', async () => {
    const oversized = eventOfItemSize(MAX_ITEM_BYTES + 1);
    const request = { events: [ev(), oversized], recordedtime: T0 };
    await expect(serverA.appendTransaction('db', request)).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining('400 KB'),
      details: { index: 1 },
    });
    await nothingWritten();
    // An event exactly at the limit as counted here is one DynamoDB accepts.
    const largest = eventOfItemSize(MAX_ITEM_BYTES);
    expect(await serverB.appendTransaction('db', { events: [largest], recordedtime: T0 })).toMatchObject({ kind: 'appended', lastRevision: 1 });
    expect((await serverA.readEvent('db', 1))!.json).toContain(largest.id);
  });

  it('refuses too many events or too many bytes in one transaction and writes nothing', async () => {
    const many = Array.from({ length: MAX_EVENTS_PER_TRANSACTION + 1 }, () => ev());
    await expect(serverA.appendTransaction('db', { events: many, recordedtime: T0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(`at most ${MAX_EVENTS_PER_TRANSACTION} events`),
    });
    const heavy = Array.from({ length: 11 }, () => eventOfItemSize(390 * 1024));
    await expect(serverA.appendTransaction('db', { events: heavy, recordedtime: T0 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining('4 MB'),
    });
    await nothingWritten();
    // The largest transactions allowed go through.
    expect(await serverA.appendTransaction('db', { events: many.slice(1), recordedtime: T0 })).toMatchObject({ lastRevision: MAX_EVENTS_PER_TRANSACTION });
    expect(await serverB.appendTransaction('db', { events: heavy.slice(1), recordedtime: T0 })).toMatchObject({ lastRevision: MAX_EVENTS_PER_TRANSACTION + 10 });
  });
});
