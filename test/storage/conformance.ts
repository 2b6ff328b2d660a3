/**
 * The storage conformance suite: every adapter must pass all of it. An adapter's test file
 * calls `describeEventStoreConformance` with a factory for fresh, opened stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import type { Selector } from '../../src/core/selectors.ts';
import type { AppendOutcome, EventQuery, EventStore } from '../../src/storage/types.ts';
import { describeCheckpointCases } from './conformance-checkpoints.ts';
import { describeExtensionCases } from './conformance-extensions.ts';

export interface StoreFixture {
  store: EventStore;
  /** Closes the store and opens a new one on the same data, where the adapter persists. */
  reopen?: () => Promise<EventStore>;
  cleanup(): Promise<void>;
}

const T0 = '2024-01-15T10:30:00.000Z';
let seq = 0;

export function ev(partial: Partial<CloudEvent> = {}): CloudEvent {
  seq += 1;
  return { specversion: '1.0', id: `e-${seq}-${Math.random().toString(36).slice(2)}`, source: 'orders', type: 'OrderCreated', ...partial };
}

function appended(outcome: AppendOutcome): { firstRevision: number; lastRevision: number } {
  if (outcome.kind !== 'appended') throw new Error(`expected appended, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const eq = (attr: 'stream' | 'event_type' | 'subject', value: string | null): Selector => ({ type: 'equals', attr, value });

export function describeEventStoreConformance(adapterName: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`${adapterName} storage conformance`, () => {
    let fx: StoreFixture;
    let store: EventStore;
    beforeEach(async () => {
      fx = await makeFixture();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    const append = (db: string, events: CloudEvent[], extra: Partial<Parameters<EventStore['appendTransaction']>[1]> = {}) =>
      store.appendTransaction(db, { events, recordedtime: T0, ...extra });
    const all = async (db: string, q: Partial<EventQuery> = {}) =>
      (await store.query(db, { direction: 'forward', limit: 10_000, ...q })).events.map((e) => JSON.parse(e.json) as StoredEvent);

    describe('databases', () => {
      it('creates, lists, reads and deletes databases', async () => {
        expect(await store.listDatabases()).toEqual([]);
        const created = await store.createDatabase('alpha', T0);
        expect(created).toEqual({ name: 'alpha', created_at: T0, latest_revision: 0, event_count: 0 });
        await store.createDatabase('beta', T0);
        expect((await store.listDatabases()).map((d) => d.name)).toEqual(['alpha', 'beta']);
        expect(await store.getDatabase('alpha')).toEqual(created);
        expect(await store.getDatabase('missing')).toBeUndefined();
        expect(await store.deleteDatabase('alpha')).toBe(true);
        expect(await store.deleteDatabase('alpha')).toBe(false);
        expect((await store.listDatabases()).map((d) => d.name)).toEqual(['beta']);
      });

      it('refuses a name that is taken', async () => {
        await store.createDatabase('alpha', T0);
        await expect(store.createDatabase('alpha', T0)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      });

      it('starts a re-created database from revision 0 with no trace of the old one', async () => {
        await store.createDatabase('alpha', T0);
        const old = ev();
        appended(await append('alpha', [old, ev(), ev()]));
        await store.deleteDatabase('alpha');
        await store.createDatabase('alpha', T0);
        expect(await store.getDatabase('alpha')).toMatchObject({ latest_revision: 0, event_count: 0 });
        expect(await all('alpha')).toEqual([]);
        // The old event's key is free again.
        expect(appended(await append('alpha', [old]))).toEqual({ kind: 'appended', firstRevision: 1, lastRevision: 1 });
      });

      it('refuses appends and reads on a database that does not exist', async () => {
        await expect(append('missing', [ev()])).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(store.query('missing', { direction: 'forward', limit: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(store.readEvent('missing', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });
    });

    describe('appends', () => {
      beforeEach(async () => {
        await store.createDatabase('db', T0);
      });

      it('gives dense revisions and keeps every attribute and the data exactly', async () => {
        const first = ev({ subject: 'order-1', time: '2024-01-15T10:00:00Z', datacontenttype: 'application/json', data: { total: 99.99, items: [1, 'two', null], nested: { ü: 'ß' } } });
        const second = ev({ type: 'OrderShipped', data_base64: 'AAEC/w==', datacontenttype: 'application/octet-stream', traceparent: 'abc', priority: 3 });
        expect(appended(await append('db', [first, second]))).toEqual({ kind: 'appended', firstRevision: 1, lastRevision: 2 });
        expect(appended(await append('db', [ev()]))).toEqual({ kind: 'appended', firstRevision: 3, lastRevision: 3 });
        const stored = await all('db');
        expect(stored.map((e) => e.revision)).toEqual([1, 2, 3]);
        expect(stored[0]).toEqual({ ...first, revision: 1, recordedtime: T0 });
        expect(stored[1]).toEqual({ ...second, revision: 2, recordedtime: T0 });
        const raw = await store.readEvent('db', 2);
        expect(raw?.revision).toBe(2);
        expect(JSON.parse(raw!.json)).toEqual(stored[1]);
        expect(await store.readEvent('db', 4)).toBeUndefined();
        expect(await store.readEvent('db', 0)).toBeUndefined();
        expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 3, event_count: 3 });
      });

      it('keeps databases apart', async () => {
        await store.createDatabase('other', T0);
        appended(await append('db', [ev(), ev()]));
        const shared = ev();
        appended(await append('other', [shared]));
        appended(await append('db', [shared]));
        expect((await all('other')).map((e) => e.revision)).toEqual([1]);
        expect((await all('db')).map((e) => e.revision)).toEqual([1, 2, 3]);
      });

      it('serializes concurrent appends into dense, unique revisions', async () => {
        const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => append('db', [ev({ subject: `s-${i}` }), ev({ subject: `s-${i}` })])));
        const ranges = outcomes.map(appended).sort((a, b) => a.firstRevision - b.firstRevision);
        ranges.forEach((r, i) => expect(r).toEqual({ kind: 'appended', firstRevision: 2 * i + 1, lastRevision: 2 * i + 2 }));
        const stored = await all('db');
        expect(stored.map((e) => e.revision)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        // Both events of a transaction stay together.
        for (let i = 0; i < 100; i += 2) expect(stored[i]!.subject).toBe(stored[i + 1]!.subject);
      });

      it('reports stored events that share source and id, and writes nothing', async () => {
        const a = ev({ subject: 'x' });
        appended(await append('db', [a]));
        const fresh = ev();
        const outcome = await append('db', [fresh, { ...a, data: { changed: true } }]);
        expect(outcome.kind).toBe('duplicates');
        if (outcome.kind !== 'duplicates') return;
        expect(outcome.existing[0]).toBeUndefined();
        expect(outcome.existing[1]!.revision).toBe(1);
        expect(JSON.parse(outcome.existing[1]!.json)).toMatchObject({ id: a.id, source: a.source, subject: 'x' });
        expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 1 });
        const found = await store.findByKeys('db', [a, fresh, { source: 'orders', id: 'never' }]);
        expect(found.map((f) => f?.revision)).toEqual([1, undefined, undefined]);
        // Same id from another source is a different event.
        appended(await append('db', [{ ...a, source: 'elsewhere' }]));
      });

      it('lets exactly one of many concurrent appends of the same event through', async () => {
        const same = ev();
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => append('db', [same])));
        expect(outcomes.filter((o) => o.kind === 'appended')).toHaveLength(1);
        expect(outcomes.filter((o) => o.kind === 'duplicates')).toHaveLength(19);
        expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 1 });
      });

      it('fails a guarded append when an event in scope came after the basis', async () => {
        appended(await append('db', [ev({ subject: 'alice' }), ev({ subject: 'bob' })]));
        const aliceScope = eq('subject', 'alice');
        expect(await append('db', [ev()], { guard: { basis: 0, scopes: [aliceScope] } })).toEqual({ kind: 'guard_failed', head: 2 });
        // Basis at or past the last matching event: passes.
        appended(await append('db', [ev({ subject: 'alice' })], { guard: { basis: 1, scopes: [eq('subject', 'carol'), aliceScope] } }));
        // The whole database as scope.
        expect(await append('db', [ev()], { guard: { basis: 2, scopes: [undefined] } })).toMatchObject({ kind: 'guard_failed' });
        appended(await append('db', [ev()], { guard: { basis: 3, scopes: [undefined] } }));
        expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 4 });
      });

      it('lets one of many concurrent guarded appends on one scope through, and does not block other scopes', async () => {
        const claims = Array.from({ length: 30 }, (_, i) =>
          append('db', [ev({ type: 'UserRegistered', subject: i % 3 === 0 ? 'taken-name' : `name-${i}` })], {
            guard: { basis: 0, scopes: [{ type: 'and', selectors: [eq('event_type', 'UserRegistered'), eq('subject', i % 3 === 0 ? 'taken-name' : `name-${i}`)] }] },
          }),
        );
        const outcomes = await Promise.all(claims);
        const contested = outcomes.filter((_, i) => i % 3 === 0);
        const others = outcomes.filter((_, i) => i % 3 !== 0);
        expect(contested.filter((o) => o.kind === 'appended')).toHaveLength(1);
        expect(others.every((o) => o.kind === 'appended')).toBe(true);
        expect((await all('db', { selector: eq('subject', 'taken-name') }))).toHaveLength(1);
      });
    });

    describe('extension attributes', () => {
      describeExtensionCases({ store: () => store, reopen: async () => (fx.reopen ? (store = await fx.reopen()) : undefined) });
    });

    describe('checkpoints and revision limits', () => {
      describeCheckpointCases({ store: () => store, reopen: async () => (fx.reopen ? (store = await fx.reopen()) : undefined) });
    });

    describe('queries', () => {
      beforeEach(async () => {
        await store.createDatabase('db', T0);
        // 1 orders/OrderCreated/order-1   2 orders/OrderShipped/order-1   3 billing/InvoiceIssued/order-1
        // 4 orders/OrderCreated/order-2   5 billing/InvoiceIssued/(none)  6 orders/OrderCreated/order-10
        appended(await append('db', [
          ev({ source: 'orders', type: 'OrderCreated', subject: 'order-1', time: '2024-01-01T00:00:00Z' }),
          ev({ source: 'orders', type: 'OrderShipped', subject: 'order-1', time: '2024-01-05T00:00:00Z' }),
        ]));
        appended(await append('db', [ev({ source: 'billing', type: 'InvoiceIssued', subject: 'order-1', time: '2024-01-03T00:00:00Z' })]));
        appended(await append('db', [
          ev({ source: 'orders', type: 'OrderCreated', subject: 'order-2', time: '2024-02-01T00:00:00+01:00' }),
          ev({ source: 'billing', type: 'InvoiceIssued' }),
          ev({ source: 'orders', type: 'OrderCreated', subject: 'order-10', time: '2023-12-31T23:59:59.999Z' }),
        ]));
      });
      const revs = async (q: Partial<EventQuery>) => (await all('db', q)).map((e) => e.revision);

      it('selects by stream, type and subject, and by no subject', async () => {
        expect(await revs({ selector: eq('stream', 'billing') })).toEqual([3, 5]);
        expect(await revs({ selector: eq('event_type', 'OrderCreated') })).toEqual([1, 4, 6]);
        expect(await revs({ selector: eq('subject', 'order-1') })).toEqual([1, 2, 3]);
        expect(await revs({ selector: eq('subject', null) })).toEqual([5]);
        expect(await revs({ selector: eq('subject', 'nope') })).toEqual([]);
        expect(await revs({})).toEqual([1, 2, 3, 4, 5, 6]);
      });

      it('combines with and, or and prefixes', async () => {
        expect(await revs({ selector: { type: 'and', selectors: [eq('stream', 'orders'), eq('subject', 'order-1')] } })).toEqual([1, 2]);
        expect(await revs({ selector: { type: 'or', selectors: [eq('event_type', 'OrderShipped'), eq('stream', 'billing')] } })).toEqual([2, 3, 5]);
        expect(await revs({ selector: { type: 'starts_with', attr: 'subject', value: 'order-1' } })).toEqual([1, 2, 3, 6]);
        expect(await revs({ selector: { type: 'starts_with', attr: 'event_type', value: 'Order' } })).toEqual([1, 2, 4, 6]);
        expect(await revs({
          selector: { type: 'or', selectors: [{ type: 'and', selectors: [eq('stream', 'orders'), eq('event_type', 'OrderCreated')] }, eq('subject', null)] },
        })).toEqual([1, 4, 5, 6]);
        // Overlapping branches yield each event once.
        expect(await revs({ selector: { type: 'or', selectors: [eq('subject', 'order-1'), eq('stream', 'orders')] } })).toEqual([1, 2, 3, 4, 6]);
      });

      it('bounds by revision and by effective time, in both directions', async () => {
        expect(await revs({ fromRevision: 2, toRevision: 4 })).toEqual([2, 3, 4]);
        expect(await revs({ fromRevision: 2, toRevision: 4, direction: 'backward' })).toEqual([4, 3, 2]);
        expect(await revs({ selector: eq('stream', 'orders'), direction: 'backward' })).toEqual([6, 4, 2, 1]);
        expect(await revs({ fromTimeMs: Date.parse('2024-01-01T00:00:00Z'), toTimeMs: Date.parse('2024-01-05T00:00:00Z') })).toEqual([1, 2, 3]);
        // Time zones count; an event without `time` takes effect when recorded (T0).
        expect(await revs({ fromTimeMs: Date.parse('2024-01-31T23:00:00Z'), toTimeMs: Date.parse('2024-01-31T23:00:00Z') })).toEqual([4]);
        expect(await revs({ selector: eq('subject', null), fromTimeMs: Date.parse(T0), toTimeMs: Date.parse(T0) })).toEqual([5]);
        expect(await revs({ toTimeMs: Date.parse('2024-01-01T00:00:00Z') })).toEqual([1, 6]);
        expect(await revs({ fromRevision: 5, toRevision: 3 })).toEqual([]);
        expect(await revs({ fromRevision: 7 })).toEqual([]);
      });

      it('lists distinct attribute values by prefix, for type-ahead', async () => {
        expect(await store.distinctValues('db', 'event_type', '', 10)).toEqual(['InvoiceIssued', 'OrderCreated', 'OrderShipped']);
        expect(await store.distinctValues('db', 'subject', 'order-1', 10)).toEqual(['order-1', 'order-10']);
        expect(await store.distinctValues('db', 'stream', '', 1)).toEqual(['billing']);
        expect(await store.distinctValues('db', 'stream', 'zzz', 10)).toEqual([]);
      });

      it('pages with a limit and tells whether more match', async () => {
        const page = await store.query('db', { selector: eq('stream', 'orders'), direction: 'forward', limit: 2 });
        expect(page.events.map((e) => e.revision)).toEqual([1, 2]);
        expect(page.hasMore).toBe(true);
        const next = await store.query('db', { selector: eq('stream', 'orders'), fromRevision: 3, direction: 'forward', limit: 2 });
        expect(next.events.map((e) => e.revision)).toEqual([4, 6]);
        expect(next.hasMore).toBe(false);
        const back = await store.query('db', { direction: 'backward', limit: 5 });
        expect(back.events.map((e) => e.revision)).toEqual([6, 5, 4, 3, 2]);
        expect(back.hasMore).toBe(true);
      });
    });

    describe('server records', () => {
      const text = (s: string) => new TextEncoder().encode(s);

      it('stores, lists, reads and deletes records outside any database', async () => {
        expect(await store.putRecord('keys/a', text('{"a":1}'))).toBe(true);
        expect(await store.putRecord('keys/b', text('{"b":2}'))).toBe(true);
        expect(await store.putRecord('sessions/x', text('s'))).toBe(true);
        expect(await store.getRecord('keys/a')).toEqual(text('{"a":1}'));
        expect(await store.getRecord('keys/none')).toBeUndefined();
        expect(await store.listRecords('keys/')).toEqual(['keys/a', 'keys/b']);
        expect(await store.putRecord('keys/a', text('again'), { ifAbsent: true })).toBe(false);
        expect(await store.putRecord('keys/a', text('{"a":3}'))).toBe(true);
        expect(await store.getRecord('keys/a')).toEqual(text('{"a":3}'));
        expect(await store.deleteRecord('keys/a')).toBe(true);
        expect(await store.deleteRecord('keys/a')).toBe(false);
        expect(await store.getRecord('keys/a')).toBeUndefined();
        // A record whose key starts like another's is not deleted with it.
        await store.putRecord('keys/bb', text('bb'));
        await store.deleteRecord('keys/b');
        expect(await store.listRecords('keys/')).toEqual(['keys/bb']);
      });

      it('keeps records apart from databases, through a database delete', async () => {
        await store.createDatabase('keys', T0);
        await store.putRecord('keys/k', text('record'));
        await store.putBlob('keys', 'keys/k', text('blob'));
        await store.deleteDatabase('keys');
        expect(await store.getRecord('keys/k')).toEqual(text('record'));
        expect(await store.listDatabases()).toEqual([]);
      });

      it('lets exactly one of concurrent create-if-absent puts win', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putRecord('secret', text(`s${i}`), { ifAbsent: true })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getRecord('secret')).toEqual(text(`s${results.indexOf(true)}`));
      });

      it('keeps records across a restart, where the adapter persists', async () => {
        if (!fx.reopen) return;
        await store.putRecord('keys/durable', text('kept'));
        await store.putRecord('keys/gone', text('x'));
        await store.deleteRecord('keys/gone');
        store = await fx.reopen();
        expect(await store.getRecord('keys/durable')).toEqual(text('kept'));
        expect(await store.getRecord('keys/gone')).toBeUndefined();
      });
    });

    describe('blobs', () => {
      beforeEach(async () => {
        await store.createDatabase('db', T0);
      });
      const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

      it('stores, lists, reads and deletes blobs by key prefix', async () => {
        expect(await store.putBlob('db', 'views/a/v1/component.wasm', bytes(1000))).toBe(true);
        expect(await store.putBlob('db', 'views/a/v2/component.wasm', bytes(10))).toBe(true);
        expect(await store.putBlob('db', 'views/b/v1/metadata.json', new TextEncoder().encode('{"x":1}'))).toBe(true);
        expect(await store.getBlob('db', 'views/a/v1/component.wasm')).toEqual(bytes(1000));
        expect(await store.getBlob('db', 'views/a/v3/component.wasm')).toBeUndefined();
        expect(await store.listBlobs('db', 'views/a/')).toEqual(['views/a/v1/component.wasm', 'views/a/v2/component.wasm']);
        expect(await store.listBlobs('db', '')).toHaveLength(3);
        // Overwrite, unless asked to write only if absent.
        expect(await store.putBlob('db', 'views/a/v2/component.wasm', bytes(20))).toBe(true);
        expect(await store.putBlob('db', 'views/a/v2/component.wasm', bytes(30), { ifAbsent: true })).toBe(false);
        expect(await store.getBlob('db', 'views/a/v2/component.wasm')).toEqual(bytes(20));
        expect(await store.deleteBlobs('db', 'views/a/')).toBe(2);
        expect(await store.listBlobs('db', '')).toEqual(['views/b/v1/metadata.json']);
      });

      it('holds large blobs intact', async () => {
        const big = new Uint8Array(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) >>> 3;
        await store.putBlob('db', 'big', big);
        const back = await store.getBlob('db', 'big');
        // Compared as buffers: deep equality over millions of elements is needlessly slow.
        expect(back?.length).toBe(big.length);
        expect(Buffer.compare(Buffer.from(back!), Buffer.from(big))).toBe(0);
      });

      it('lets exactly one of concurrent create-if-absent puts win', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.putBlob('db', 'versions/7', bytes(5, i), { ifAbsent: true })));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.getBlob('db', 'versions/7')).toEqual(bytes(5, winner));
      });

      it('deletes blobs with their database, and keeps databases apart', async () => {
        await store.createDatabase('other', T0);
        await store.putBlob('db', 'k', bytes(3));
        await store.putBlob('other', 'k', bytes(4));
        await store.deleteDatabase('db');
        await store.createDatabase('db', T0);
        expect(await store.getBlob('db', 'k')).toBeUndefined();
        expect(await store.getBlob('other', 'k')).toEqual(bytes(4));
        await expect(store.getBlob('missing', 'k')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });
    });

    it('keeps everything across a restart, where the adapter persists', async (ctx) => {
      if (!fx.reopen) ctx.skip();
      await store.createDatabase('kept', T0);
      await store.createDatabase('gone', T0);
      const events = Array.from({ length: 30 }, (_, i) => ev({ subject: `s-${i % 4}`, data: { i, text: 'x'.repeat(i * 10) } }));
      for (let i = 0; i < 30; i += 3) appended(await append('kept', events.slice(i, i + 3)));
      await store.deleteDatabase('gone');
      await store.putBlob('kept', 'views/x/v1', Uint8Array.from([1, 2, 3]));
      store = await fx.reopen!();
      expect(await store.getBlob('kept', 'views/x/v1')).toEqual(Uint8Array.from([1, 2, 3]));
      expect((await store.listDatabases()).map((d) => d.name)).toEqual(['kept']);
      const stored = await all('kept');
      expect(stored).toEqual(events.map((e, i) => ({ ...e, revision: i + 1, recordedtime: T0 })));
      expect((await all('kept', { selector: eq('subject', 's-2') })).map((e) => e.revision)).toEqual([3, 7, 11, 15, 19, 23, 27]);
      // The uniqueness of source + id survives too, and revisions continue densely.
      expect((await append('kept', [events[5]!])).kind).toBe('duplicates');
      expect(appended(await append('kept', [ev()]))).toMatchObject({ firstRevision: 31 });
    });
  });
}
