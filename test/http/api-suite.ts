/**
 * The HTTP API suite: every route and error case over real HTTP. Run against each storage
 * adapter by the *.test.ts files beside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf, type TestClient } from '../support/http.ts';
import type { TestServer } from '../support/server.ts';

let dbSeq = 0;
const freshName = () => `db-${process.pid}-${++dbSeq}`;

export function describeApiSuite(label: string, start: () => Promise<TestServer>): void {
  describe(`HTTP API (${label})`, () => {
    let ts: TestServer;
    let api: TestClient;
    beforeAll(async () => {
      ts = await start();
      api = ts.client;
    });
    afterAll(async () => {
      await ts?.stop();
    });

    async function newDatabase(): Promise<string> {
      const name = freshName();
      expect((await api.post('/databases', { name })).status).toBe(201);
      return name;
    }
    async function append(db: string, events: unknown[], constraints?: unknown[]) {
      return api.post(`/databases/${db}/events`, constraints ? { events, constraints } : { events });
    }

    describe('health', () => {
      it('answers plain OK and a detailed status', async () => {
        const plain = await api.get('/health');
        expect(plain.status).toBe(200);
        expect(plain.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(plain.text).toBe('OK');
        const detailed = await api.get('/health/detailed');
        expect(detailed.status).toBe(200);
        expect(detailed.body).toMatchObject({ status: 'healthy', version: expect.any(String), storage: { adapter: label, status: 'connected' } });
        expect(Number.isInteger(detailed.body.uptime_seconds)).toBe(true);
      });

      it('serves the OpenAPI document', async () => {
        const doc = await api.get('/openapi.yaml');
        expect(doc.status).toBe(200);
        expect(doc.text).toContain('openapi: 3.1.0');
        expect(doc.text).toContain('/databases/{database}/query:');
      });

      it('answers unknown routes with 404 in the error shape', async () => {
        const reply = await api.get('/no/such/thing');
        expect(reply.status).toBe(404);
        expect(errorOf(reply).code).toBe('NOT_FOUND');
      });
    });

    describe('databases', () => {
      it('creates, lists, describes and deletes a database', async () => {
        const name = freshName();
        const created = await api.post('/databases', { name });
        expect(created.status).toBe(201);
        expect(created.headers.get('location')).toBe(`/databases/${name}`);
        expect(created.body).toEqual({ database: { name, created_at: expect.any(String), latest_revision: 0, event_count: 0 } });
        expect(Date.parse(created.body.database.created_at)).not.toBeNaN();

        const list = await api.get('/databases');
        expect(list.body.databases).toContainEqual(created.body.database);

        await append(name, [cloudEvent(), cloudEvent()]);
        const one = await api.get(`/databases/${name}`);
        expect(one.body).toEqual({ ...created.body.database, latest_revision: 2, event_count: 2, state_views: [], state_changes: [] });

        const deleted = await api.delete(`/databases/${name}`);
        expect(deleted.status).toBe(204);
        expect(deleted.text).toBe('');
        expect((await api.get(`/databases/${name}`)).status).toBe(404);
        expect(errorOf(await api.delete(`/databases/${name}`)).code).toBe('NOT_FOUND');
        expect((await api.get('/databases')).body.databases.map((d: { name: string }) => d.name)).not.toContain(name);
      });

      it('refuses a taken name with 409 ALREADY_EXISTS', async () => {
        const name = await newDatabase();
        const again = await api.post('/databases', { name });
        expect(again.status).toBe(409);
        expect(errorOf(again).code).toBe('ALREADY_EXISTS');
      });

      it('starts a re-created database from revision 0', async () => {
        const name = await newDatabase();
        const event = cloudEvent();
        await append(name, [event, cloudEvent()]);
        await api.delete(`/databases/${name}`);
        await api.post('/databases', { name });
        expect((await api.get(`/databases/${name}`)).body).toMatchObject({ latest_revision: 0, event_count: 0 });
        expect((await api.get(`/databases/${name}/events`)).body.events).toEqual([]);
        expect((await append(name, [event])).body).toEqual({ revision: 1, events_count: 1 });
      });

      it.each([
        ['uppercase', 'My-Database'],
        ['underscore', 'my_db'],
        ['leading hyphen', '-db'],
        ['trailing hyphen', 'db-'],
        ['dots', '..'],
        ['empty', ''],
        ['64 characters', 'a'.repeat(64)],
        ['unicode', 'dätabase'],
      ])('refuses a name with %s with 400', async (_case, name) => {
        const reply = await api.post('/databases', { name });
        expect(reply.status).toBe(400);
        const error = errorOf(reply);
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.details.field).toBe('name');
      });

      it('accepts a 63-character name', async () => {
        const name = `a${'-'.repeat(61)}b`;
        expect((await api.post('/databases', { name })).status).toBe(201);
        expect((await api.delete(`/databases/${name}`)).status).toBe(204);
      });

      it.each([
        ['/databases/%2e%2e'],
        ['/databases/..'],
        ['/databases/%2e'],
        ['/databases/%2E%2E/%2E%2E/etc'],
        ['/databases/UPPER'],
        [`/databases/${'x'.repeat(300)}`],
        ['/databases/a%2Fb'],
        ['/databases/%00'],
      ])('refuses the odd path %s with 4xx and the error shape, never 5xx', async (path) => {
        for (const method of ['GET', 'DELETE'] as const) {
          const reply = await api.raw(method, path);
          expect(reply.status).toBeGreaterThanOrEqual(400);
          expect(reply.status).toBeLessThan(500);
          errorOf(reply);
        }
        const reply = await api.raw('POST', `${path}/events`, JSON.stringify({ events: [cloudEvent()] }));
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
      });

      it('answers 404 for a well-formed name that does not exist, on every route', async () => {
        for (const reply of [
          await api.get('/databases/nope-nope'),
          await api.delete('/databases/nope-nope'),
          await api.post('/databases/nope-nope/events', { events: [cloudEvent()] }),
          await api.get('/databases/nope-nope/events'),
          await api.get('/databases/nope-nope/events/1'),
          await api.post('/databases/nope-nope/query', {}),
        ]) {
          expect(reply.status).toBe(404);
          expect(errorOf(reply).code).toBe('NOT_FOUND');
        }
      });
    });

    describe('appends', () => {
      it('stores a transaction with dense revisions and a recorded time, and reads it back', async () => {
        const db = await newDatabase();
        const first = cloudEvent({ subject: 'order-123', time: '2024-01-15T10:30:00Z', datacontenttype: 'application/json', data: { orderId: 'order-123', total: 99.99 } });
        const second = cloudEvent({ type: 'OrderPaid', subject: 'order-123', data_base64: 'aGVsbG8=', traceid: 'abc', retries: 2, urgent: true });
        const reply = await append(db, [first, second]);
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ revision: 2, events_count: 2 });
        expect((await append(db, [cloudEvent()])).body).toEqual({ revision: 3, events_count: 1 });

        const one = await api.get(`/databases/${db}/events/2`);
        expect(one.status).toBe(200);
        expect(one.body).toEqual({ ...second, revision: 2, recordedtime: expect.any(String) });
        const firstBack = (await api.get(`/databases/${db}/events/1`)).body;
        expect(firstBack).toEqual({ ...first, revision: 1, recordedtime: one.body.recordedtime });
        expect(Math.abs(Date.parse(firstBack.recordedtime) - Date.now())).toBeLessThan(60_000);
      });

      it('accepts a bare array as application/cloudevents-batch+json', async () => {
        const db = await newDatabase();
        const reply = await api.post(`/databases/${db}/events`, [cloudEvent(), cloudEvent()], { 'content-type': 'application/cloudevents-batch+json' });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ revision: 2, events_count: 2 });
        // A bare array is not an AppendRequest object.
        const wrong = await api.post(`/databases/${db}/events`, [cloudEvent()]);
        expect(wrong.status).toBe(400);
      });

      it('answers a retried transaction with its original revisions and stores nothing twice', async () => {
        const db = await newDatabase();
        const tx = [cloudEvent({ subject: 'a' }), cloudEvent({ subject: 'b' })];
        expect((await append(db, tx)).body).toEqual({ revision: 2, events_count: 2 });
        await append(db, [cloudEvent()]);
        // Attribute order does not matter; the same event is the same event.
        const reordered = tx.map((e) => Object.fromEntries(Object.entries(e).reverse()));
        const retry = await append(db, reordered, [{ type: 'max_revision', revision: 0 }]);
        expect(retry.status).toBe(200);
        expect(retry.body).toEqual({ revision: 2, events_count: 2, replayed: true });
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(3);
      });

      it('refuses a different event reusing a stored source and id with 409 ALREADY_EXISTS', async () => {
        const db = await newDatabase();
        const event = cloudEvent({ data: { v: 1 } });
        await append(db, [event]);
        const changed = await append(db, [{ ...event, data: { v: 2 } }]);
        expect(changed.status).toBe(409);
        const error = errorOf(changed);
        expect(error.code).toBe('ALREADY_EXISTS');
        expect(error.details.conflicts[0]).toMatchObject({ index: 0, id: event.id, revision: 1 });
        // Mixing a stored event with new ones is not a retry either.
        const mixed = await append(db, [event, cloudEvent()]);
        expect(mixed.status).toBe(409);
        expect(errorOf(mixed).code).toBe('ALREADY_EXISTS');
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(1);
      });

      it.each([
        ['no specversion', { specversion: undefined }, 'specversion'],
        ['wrong specversion', { specversion: '0.3' }, 'specversion'],
        ['empty id', { id: '' }, 'id'],
        ['no source', { source: undefined }, 'source'],
        ['no type', { type: undefined }, 'type'],
        ['numeric type', { type: 7 }, 'type'],
        ['bad time', { time: '15/01/2024' }, 'time'],
        ['time without zone', { time: '2024-01-15T10:30:00' }, 'time'],
        ['uppercase extension', { TraceId: 'x' }, 'TraceId'],
        ['object extension', { ext: { a: 1 } }, 'ext'],
        ['bad base64', { data_base64: 'not base64!' }, 'data_base64'],
        ['both data forms', { data: 1, data_base64: 'AA==' }, 'data_base64'],
        ['a revision', { revision: 5 }, 'revision'],
        ['a recordedtime', { recordedtime: '2024-01-15T10:30:00Z' }, 'recordedtime'],
      ])('refuses an event with %s: 400 naming the event index and field', async (_case, fields, field) => {
        const db = await newDatabase();
        const bad = JSON.parse(JSON.stringify(cloudEvent(fields)));
        const reply = await append(db, [cloudEvent(), bad]);
        expect(reply.status).toBe(400);
        const error = errorOf(reply);
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.details.index).toBe(1);
        expect(String(error.details.field)).toContain(field);
        expect(error.message).toContain('events[1]');
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
      });

      it('refuses two events with the same source and id in one transaction', async () => {
        const db = await newDatabase();
        const event = cloudEvent();
        const reply = await append(db, [event, { ...event }]);
        expect(reply.status).toBe(400);
        expect(errorOf(reply).details).toMatchObject({ index: 1, field: 'id' });
      });

      it('refuses empty transactions and unknown fields', async () => {
        const db = await newDatabase();
        expect((await append(db, [])).status).toBe(400);
        expect((await api.post(`/databases/${db}/events`, { events: [cloudEvent()], extra: 1 })).status).toBe(400);
        expect((await api.post(`/databases/${db}/events`, {})).status).toBe(400);
      });
    });

    describe('constraints', () => {
      it('checks min and max revision against the latest revision', async () => {
        const db = await newDatabase();
        await append(db, [cloudEvent(), cloudEvent()]);
        expect((await append(db, [cloudEvent()], [{ type: 'max_revision', revision: 2 }])).status).toBe(200);
        const stale = await append(db, [cloudEvent()], [{ type: 'max_revision', revision: 2 }]);
        expect(stale.status).toBe(409);
        const error = errorOf(stale);
        expect(error.code).toBe('FAILED_PRECONDITION');
        expect(error.details.violations).toEqual([
          {
            index: 0,
            constraint: { type: 'max_revision', revision: 2 },
            actual_revision: 3,
            first_breaking_event: { revision: 3, type: 'OrderCreated', subject: null },
            message: expect.stringContaining('above the maximum 2'),
          },
        ]);
        expect((await append(db, [cloudEvent()], [{ type: 'min_revision', revision: 3 }])).status).toBe(200);
        const tooEarly = await append(db, [cloudEvent()], [{ type: 'min_revision', revision: 10 }]);
        expect(tooEarly.status).toBe(409);
        expect(errorOf(tooEarly).details.violations[0]).toMatchObject({ actual_revision: 4, first_breaking_event: null });
        expect((await append(db, [cloudEvent()], [{ type: 'revision_range', min: 4, max: 4 }])).status).toBe(200);
        expect((await append(db, [cloudEvent()], [{ type: 'revision_range', min: 1, max: 4 }])).status).toBe(409);
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(5);
      });

      it('scopes constraints to a selector (uniqueness, must-exist, unchanged-since)', async () => {
        const db = await newDatabase();
        const user = (name: string) => ({ type: 'and', selectors: [{ type: 'equals', attr: { event_type: 'UserRegistered' } }, { type: 'equals', attr: { subject: name } }] });
        const register = (name: string) => append(db, [cloudEvent({ type: 'UserRegistered', subject: name })], [{ type: 'max_revision', revision: 0, selector: user(name) }]);
        expect((await register('alice')).status).toBe(200);
        expect((await register('bob')).status).toBe(200);
        const dup = await register('alice');
        expect(dup.status).toBe(409);
        expect(errorOf(dup).details.violations[0]).toMatchObject({ actual_revision: 1, first_breaking_event: { revision: 1, type: 'UserRegistered', subject: 'alice' } });

        const mustExist = (name: string) => append(db, [cloudEvent({ type: 'UserRenamed', subject: name })], [{ type: 'min_revision', revision: 1, selector: user(name) }]);
        expect((await mustExist('bob')).status).toBe(200);
        expect((await mustExist('carol')).status).toBe(409);

        // Unchanged since I read at revision 3: other subjects may move on meanwhile.
        await append(db, [cloudEvent({ subject: 'other' })]);
        const aliceScope = { subject: 'alice' };
        expect((await append(db, [cloudEvent({ subject: 'alice' })], [{ type: 'max_revision', revision: 3, selector: aliceScope }])).status).toBe(200);
        expect((await append(db, [cloudEvent({ subject: 'alice' })], [{ type: 'max_revision', revision: 3, selector: aliceScope }])).status).toBe(409);
      });

      it('lists every violated constraint and writes nothing', async () => {
        const db = await newDatabase();
        await append(db, [cloudEvent({ subject: 'x' }), cloudEvent({ subject: 'y' })]);
        const reply = await append(db, [cloudEvent()], [
          { type: 'max_revision', revision: 1 },
          { type: 'min_revision', revision: 1, selector: { subject: 'x' } },
          { type: 'max_revision', revision: 0, selector: { subject: 'y' } },
          { type: 'revision_range', min: 5, max: 9, selector: { subject: 'x' } },
        ]);
        expect(reply.status).toBe(409);
        const { details } = errorOf(reply);
        expect(details.basis_revision).toBe(2);
        expect(details.violations.map((v: { index: number }) => v.index)).toEqual([0, 2, 3]);
        expect(details.violations[1]).toMatchObject({ actual_revision: 2, first_breaking_event: { revision: 2, subject: 'y' } });
        expect(details.violations[2]).toMatchObject({ actual_revision: 1, first_breaking_event: null });
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(2);
      });

      it.each([
        ['min above max', { type: 'revision_range', min: 5, max: 2 }],
        ['empty selector', { type: 'max_revision', revision: 0, selector: {} }],
        ['empty and', { type: 'max_revision', revision: 0, selector: { type: 'and', selectors: [] } }],
        ['negative revision', { type: 'max_revision', revision: -1 }],
        ['missing revision', { type: 'min_revision' }],
        ['missing max', { type: 'revision_range', min: 1 }],
        ['unknown type', { type: 'exact_revision', revision: 1 }],
        ['fractional revision', { type: 'max_revision', revision: 1.5 }],
        ['unknown selector field', { type: 'max_revision', revision: 1, selector: { colour: 'red' } }],
      ])('refuses an invalid constraint (%s) with 400', async (_case, constraint) => {
        const db = await newDatabase();
        const reply = await append(db, [cloudEvent()], [constraint]);
        expect(reply.status).toBe(400);
        expect(errorOf(reply).code).toBe('INVALID_ARGUMENT');
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
      });

      it('lets exactly one of 50 concurrent appends with the same max_revision succeed', async () => {
        const db = await newDatabase();
        await append(db, [cloudEvent()]);
        const replies = await Promise.all(Array.from({ length: 50 }, () => append(db, [cloudEvent()], [{ type: 'max_revision', revision: 1 }])));
        expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
        expect(replies.filter((r) => r.status === 409).every((r) => errorOf(r).code === 'FAILED_PRECONDITION')).toBe(true);
        expect(replies.filter((r) => r.status === 409)).toHaveLength(49);
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(2);
      });

      it('lets exactly one of many writers claim a username, without blocking writers on other subjects', async () => {
        const db = await newDatabase();
        const claim = (name: string) =>
          append(db, [cloudEvent({ type: 'UsernameClaimed', subject: name })], [
            { type: 'max_revision', revision: 0, selector: { event_type: 'UsernameClaimed', subject: name } },
          ]);
        const contested = Array.from({ length: 30 }, () => claim('popular'));
        const others = Array.from({ length: 30 }, (_, i) => claim(`user-${i}`));
        const [c, o] = await Promise.all([Promise.all(contested), Promise.all(others)]);
        expect(c.filter((r) => r.status === 200)).toHaveLength(1);
        expect(c.filter((r) => r.status === 409)).toHaveLength(29);
        expect(o.every((r) => r.status === 200)).toBe(true);
        const stored = await api.post(`/databases/${db}/query`, { selectors: [{ subject: 'popular' }] });
        expect(stored.body.events).toHaveLength(1);
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(31);
      });
    });

    describe('queries', () => {
      let db: string;
      beforeAll(async () => {
        db = await newDatabase();
        await append(db, [
          cloudEvent({ source: 'orders', type: 'OrderCreated', subject: 'order-1', time: '2024-01-01T00:00:00Z' }),
          cloudEvent({ source: 'orders', type: 'OrderShipped', subject: 'order-1', time: '2024-01-05T00:00:00Z' }),
          cloudEvent({ source: 'billing', type: 'InvoiceIssued', subject: 'order-1', time: '2024-01-03T00:00:00Z' }),
        ]);
        await append(db, [
          cloudEvent({ source: 'orders', type: 'OrderCreated', subject: 'order-2', time: '2024-02-01T00:00:00Z' }),
          cloudEvent({ source: 'billing', type: 'InvoiceIssued', time: '2024-02-02T00:00:00Z' }),
        ]);
      });
      const revisions = async (body: unknown) => {
        const reply = await api.post(`/databases/${db}/query`, body);
        expect(reply.status).toBe(200);
        return reply.body.events.map((e: { revision: number }) => e.revision);
      };

      it('selects by stream, type and subject; fields AND-ed, selectors OR-ed', async () => {
        expect(await revisions({})).toEqual([1, 2, 3, 4, 5]);
        expect(await revisions({ selectors: [{ stream: 'billing' }] })).toEqual([3, 5]);
        expect(await revisions({ selectors: [{ source: 'billing' }] })).toEqual([3, 5]);
        expect(await revisions({ selectors: [{ stream: 'orders', subject: 'order-1' }] })).toEqual([1, 2]);
        expect(await revisions({ selectors: [{ event_type: 'OrderShipped' }, { stream: 'billing', subject: 'order-1' }] })).toEqual([2, 3]);
      });

      it('takes the tree form, prefixes and subject-less events', async () => {
        expect(await revisions({ selector: { type: 'or', selectors: [{ type: 'equals', attr: { event_type: 'OrderCreated' } }, { type: 'equals', attr: { subject: null } }] } })).toEqual([1, 4, 5]);
        expect(await revisions({ selectors: [{ type: 'starts_with', attr: { event_type: 'Order' } }] })).toEqual([1, 2, 4]);
        expect(await revisions({ selectors: [{ type: 'and', selectors: [{ type: 'starts_with', attr: { subject: 'order-' } }, { stream: 'billing' }] }] })).toEqual([3]);
      });

      it('bounds by revision and effective time, forward and backward', async () => {
        expect(await revisions({ revision_range: { start: 2, end: 4 } })).toEqual([2, 3, 4]);
        expect(await revisions({ revision_range: { start: 2 }, direction: 'backward' })).toEqual([5, 4, 3, 2]);
        expect(await revisions({ effective_time_range: { start: '2024-01-02T00:00:00Z', end: '2024-02-01T00:00:00Z' } })).toEqual([2, 3, 4]);
        expect(await revisions({ effective_time_range: { end: '2024-01-01T01:00:00+01:00' } })).toEqual([1]);
        expect(await revisions({ selectors: [{ stream: 'orders' }], direction: 'backward', limit: 2 })).toEqual([4, 2]);
      });

      it('pages with cursors that stay stable while writers append', async () => {
        const scratch = await newDatabase();
        await append(scratch, Array.from({ length: 25 }, (_, i) => cloudEvent({ subject: i % 2 ? 'odd' : 'even' })));
        const seen: number[] = [];
        let body: Record<string, unknown> = { selectors: [{ subject: 'even' }], limit: 5 };
        let page = await api.post(`/databases/${scratch}/query`, body);
        expect(page.body.revision).toBe(25);
        // Events appended after the first page are not part of this query's pages.
        await append(scratch, [cloudEvent({ subject: 'even' })]);
        for (;;) {
          expect(page.status).toBe(200);
          seen.push(...page.body.events.map((e: { revision: number }) => e.revision));
          if (!page.body.has_more) break;
          expect(page.body.next_cursor).toEqual(expect.any(String));
          body = { ...body, cursor: page.body.next_cursor };
          page = await api.post(`/databases/${scratch}/query`, body);
        }
        expect(page.body.next_cursor).toBeNull();
        expect(seen).toEqual(Array.from({ length: 13 }, (_, i) => 2 * i + 1));

        const back = await api.post(`/databases/${scratch}/query`, { direction: 'backward', limit: 10 });
        const back2 = await api.post(`/databases/${scratch}/query`, { direction: 'backward', limit: 10, cursor: back.body.next_cursor });
        expect(back2.body.events.map((e: { revision: number }) => e.revision)).toEqual([16, 15, 14, 13, 12, 11, 10, 9, 8, 7]);
      });

      it('refuses a cursor from another query or not from this server', async () => {
        const first = await api.post(`/databases/${db}/query`, { limit: 1 });
        const other = await api.post(`/databases/${db}/query`, { limit: 1, selectors: [{ stream: 'orders' }], cursor: first.body.next_cursor });
        expect(other.status).toBe(400);
        expect(errorOf(other).details.field).toBe('cursor');
        expect((await api.post(`/databases/${db}/query`, { cursor: 'garbage' })).status).toBe(400);
      });

      it.each([
        ['limit 0', { limit: 0 }],
        ['limit over 10000', { limit: 10_001 }],
        ['string limit', { limit: '5' }],
        ['bad direction', { direction: 'sideways' }],
        ['bad time', { effective_time_range: { start: 'yesterday' } }],
        ['empty selector', { selectors: [{}] }],
        ['unknown field', { selectors: [], colour: 'red' }],
        ['unknown attr', { selectors: [{ type: 'equals', attr: { colour: 'red' } }] }],
        ['selectors not a list', { selectors: { stream: 'x' } }],
      ])('refuses %s with 400', async (_case, body) => {
        const reply = await api.post(`/databases/${db}/query`, body);
        expect(reply.status).toBe(400);
        expect(errorOf(reply).code).toBe('INVALID_ARGUMENT');
      });

      it('lists all events with after/limit pagination', async () => {
        const page1 = await api.get(`/databases/${db}/events?limit=2`);
        expect(page1.body).toMatchObject({ has_more: true, next_cursor: '2' });
        expect(page1.body.events.map((e: { revision: number }) => e.revision)).toEqual([1, 2]);
        const page3 = await api.get(`/databases/${db}/events?limit=2&after=4`);
        expect(page3.body).toMatchObject({ has_more: false, next_cursor: null });
        expect(page3.body.events.map((e: { revision: number }) => e.revision)).toEqual([5]);
        expect((await api.get(`/databases/${db}/events`)).body.events).toHaveLength(5);
        for (const bad of ['limit=0', 'limit=abc', 'after=-1', 'limit=10001']) {
          const reply = await api.get(`/databases/${db}/events?${bad}`);
          expect(reply.status).toBe(400);
          errorOf(reply);
        }
      });

      it('reads one event by revision, 404 past the end, 400 for non-revisions', async () => {
        expect((await api.get(`/databases/${db}/events/3`)).body).toMatchObject({ revision: 3, type: 'InvoiceIssued' });
        expect(errorOf(await api.get(`/databases/${db}/events/99`)).code).toBe('NOT_FOUND');
        for (const bad of ['0', '-1', 'abc', '1.5']) expect((await api.get(`/databases/${db}/events/${bad}`)).status).toBe(400);
      });
    });

    describe('bad input', () => {
      it('refuses malformed JSON, wrong content types and wrong body types with 400, writing nothing', async () => {
        const db = await newDatabase();
        const cases: Array<[string, string | undefined]> = [
          ['{"events": [', 'application/json'],
          ['not json at all', 'application/json'],
          ['{"events": "nope"}', 'application/json'],
          ['null', 'application/json'],
          ['42', 'application/json'],
          ['{"events":[]}', 'text/plain'],
          ['{"events":[]}', undefined],
        ];
        for (const [body, type] of cases) {
          const res = await fetch(`${api.baseUrl}/databases/${db}/events`, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
          expect(res.status, `${type}: ${body}`).toBe(400);
          const json = (await res.json()) as { error: { code: string } };
          expect(json.error.code).toBe('INVALID_ARGUMENT');
        }
        expect((await api.post('/databases', '{"name": ', { 'content-type': 'application/json' })).status).toBe(400);
        expect((await api.post('/databases', { name: 7 })).status).toBe(400);
        expect((await api.post('/databases', { name: 'ok-name', extra: true })).status).toBe(400);
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
      });

      it('refuses an oversized body with 413 in the error shape, writing nothing', async () => {
        const db = await newDatabase();
        const huge = { events: [cloudEvent({ data: 'x'.repeat(17 * 1024 * 1024) })] };
        const reply = await api.post(`/databases/${db}/events`, huge);
        expect(reply.status).toBe(413);
        expect(errorOf(reply).code).toBe('PAYLOAD_TOO_LARGE');
        expect((await api.get(`/databases/${db}`)).body.latest_revision).toBe(0);
      });
    });
  });
}
