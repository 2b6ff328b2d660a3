/**
 * GET /metrics after a known workload, on the file store and the memory store: every counter
 * moved by exactly that workload, labels stay bounded (route templates, never URLs; no database
 * unless the operator asks), and Node's process metrics are there too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { moved, scrape } from './scrape.ts';

const EVENTS = '/databases/{database}/events';

describe.each(['file', 'memory'] as const)('metrics on the %s store', (storage) => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage });
  });
  afterAll(() => ts?.stop());

  it('counts appends, events, bytes, queries, events read and requests by exactly the workload', async () => {
    const before = await scrape(ts.client);
    expect((await ts.client.post('/databases', { name: 'shop' })).status).toBe(201);
    for (const count of [2, 1, 3]) {
      const events = Array.from({ length: count }, (_, i) => cloudEvent({ type: i === 0 ? 'OrderCreated' : 'OrderPaid', subject: `o-${count}`, data: { n: i, note: 'é' } }));
      expect((await ts.client.post('/databases/shop/events', { events })).status).toBe(200);
    }
    const listing = await ts.client.get('/databases/shop/events?limit=100');
    expect(listing.body.events).toHaveLength(6);
    const query = await ts.client.post('/databases/shop/query', { selectors: [{ event_type: 'OrderCreated' }] });
    expect(query.body.events).toHaveLength(3);
    expect((await ts.client.get('/databases/shop/events/99')).status).toBe(404);
    expect((await ts.client.get('/no/such/route')).status).toBe(404);
    expect((await ts.client.get('/databases/other-name/events/7')).status).toBe(404);
    const after = await scrape(ts.client);
    const delta = moved(before, after);

    // Stored events are answered as the exact text stored, so their bytes can be counted back.
    const bytes = (listing.body.events as unknown[]).reduce<number>((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(delta('factum_appends_total')).toBe(3);
    expect(delta('factum_events_appended_total')).toBe(6);
    expect(delta('factum_appended_bytes_total')).toBe(bytes);
    expect(delta('factum_queries_total')).toBe(2);
    expect(delta('factum_events_read_total')).toBe(6 + 3);

    expect(delta('factum_http_requests_total', { method: 'POST', route: '/databases', status: '201' })).toBe(1);
    expect(delta('factum_http_requests_total', { method: 'POST', route: EVENTS, status: '200' })).toBe(3);
    expect(delta('factum_http_request_duration_seconds_count', { method: 'POST', route: EVENTS })).toBe(3);
    expect(delta('factum_http_request_duration_seconds_bucket', { method: 'POST', route: EVENTS, le: '+Inf' })).toBe(3);
    expect(delta('factum_http_request_duration_seconds_sum', { method: 'POST', route: EVENTS })).toBeGreaterThan(0);
    expect(delta('factum_http_requests_total', { method: 'GET', route: EVENTS, status: '200' })).toBe(1);
    expect(delta('factum_http_requests_total', { method: 'POST', route: '/databases/{database}/query', status: '200' })).toBe(1);
    // Two databases' names, one series: the template.
    expect(delta('factum_http_requests_total', { method: 'GET', route: `${EVENTS}/{revision}`, status: '404' })).toBe(2);
    expect(delta('factum_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);

    if (storage === 'file') {
      // One after the other, each append is a group commit of its own.
      expect(delta('factum_group_commits_total')).toBe(3);
      expect(delta('factum_group_commit_transactions_count')).toBe(3);
      expect(delta('factum_group_commit_transactions_sum')).toBe(3);
      expect(delta('factum_group_commit_transactions_bucket', { le: '1' })).toBe(3);
      expect(delta('factum_fdatasync_duration_seconds_count')).toBe(3);
      expect(delta('factum_fdatasync_duration_seconds_sum')).toBeGreaterThan(0);
    } else {
      expect(after.value('factum_group_commits_total')).toBe(0);
    }
  });

  it('names no database and no raw path in any label, and has Node process metrics', async () => {
    await ts.client.get('/databases/shop/events/1?x=%2Fsecret');
    await ts.client.raw('GET', '/databases/s%ZZ/events');
    const text = (await scrape(ts.client)).text;
    expect(text).not.toMatch(/database="/);
    expect(text).not.toMatch(/shop|other-name|secret|s%ZZ|no\/such/);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('groups the console as one route', async () => {
    const before = await scrape(ts.client);
    for (const path of ['/', '/databases/shop/console', '/databases/shop/query-builder', '/assets/factum.css']) expect((await ts.client.get(path)).status, path).toBe(200);
    const delta = moved(before, await scrape(ts.client));
    expect(delta('factum_http_requests_total', { method: 'GET', route: 'console', status: '200' })).toBe(4);
  });
});

describe('group commit under concurrent appends', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'file' });
  });
  afterAll(() => ts?.stop());

  it('counts every transaction once, however many share a commit', async () => {
    expect((await ts.client.post('/databases', { name: 'busy' })).status).toBe(201);
    const before = await scrape(ts.client);
    const replies = await Promise.all(Array.from({ length: 40 }, () => ts.client.post('/databases/busy/events', { events: [cloudEvent()] })));
    expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200));
    const delta = moved(before, await scrape(ts.client));
    expect(delta('factum_appends_total')).toBe(40);
    expect(delta('factum_group_commit_transactions_sum')).toBe(40);
    const commits = delta('factum_group_commits_total');
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(40);
    expect(delta('factum_group_commit_transactions_count')).toBe(commits);
    expect(delta('factum_fdatasync_duration_seconds_count')).toBe(commits);
  });
});

describe('database labels, when the operator enables them', () => {
  it.each([
    ['the environment', {}, { FACTUM_METRICS_DATABASE_LABELS: '1' }],
    ['the flag', { metricsDatabaseLabels: true }, {}],
  ] as const)('labels per-database metrics with the database set by %s', async (_how, flags, env) => {
    const ts = await startTestServer({ storage: 'memory', ...flags }, env);
    try {
      for (const name of ['alpha', 'beta']) expect((await ts.client.post('/databases', { name })).status).toBe(201);
      await ts.client.post('/databases/alpha/events', { events: [cloudEvent(), cloudEvent()] });
      await ts.client.post('/databases/beta/events', { events: [cloudEvent()] });
      await ts.client.post('/databases/beta/query', {});
      const after = await scrape(ts.client);
      expect(after.value('factum_events_appended_total', { database: 'alpha' })).toBe(2);
      expect(after.value('factum_events_appended_total', { database: 'beta' })).toBe(1);
      expect(after.value('factum_appends_total', { database: 'beta' })).toBe(1);
      expect(after.value('factum_queries_total', { database: 'beta' })).toBe(1);
      expect(after.value('factum_events_read_total', { database: 'beta' })).toBe(1);
      expect(after.has('factum_events_appended_total')).toBe(false);
      // Routes stay templates all the same.
      expect(after.text).not.toMatch(/route="[^"]*(alpha|beta)/);
    } finally {
      await ts.stop();
    }
  });
});

describe('two servers in one process', () => {
  it('count each for itself', async () => {
    const [one, two] = await Promise.all([startTestServer({ storage: 'memory' }), startTestServer({ storage: 'memory' })]);
    try {
      await one.client.post('/databases', { name: 'db' });
      await one.client.post('/databases/db/events', { events: [cloudEvent()] });
      expect((await scrape(one.client)).value('factum_events_appended_total')).toBe(1);
      expect((await scrape(two.client)).value('factum_events_appended_total')).toBe(0);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});
