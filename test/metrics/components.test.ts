/**
 * Component metrics after a known workload on a real server: the transpile cache (a miss, then a
 * hit for the same bytes), calls by function and outcome with their durations, and the calls
 * stopped at their time and memory limits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { moved, scrape } from './scrape.ts';

let components: Awaited<ReturnType<typeof loadComponents<'misbehaving-view'>>>;
let ts: TestServer;
let cacheDir: string;

beforeAll(async () => {
  components = await loadComponents('misbehaving-view');
  cacheDir = await mkdtemp(join(tmpdir(), 'factum-metrics-cache-'));
  // A time limit well above what running out of memory takes on a busy machine, so the call that
  // grows is stopped by the memory limit and the one that loops by the clock.
  ts = await startTestServer({ storage: 'memory', componentCacheDir: cacheDir, componentTimeoutMs: '10000', componentMemoryMb: '64' });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ts?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

function upload(db: string, name: string) {
  const form = new FormData();
  form.append('metadata', JSON.stringify({ state_view_name: name, content_type: 'text/plain', event_selector: { event_type: 'Tick' }, query_temporality: 'revision', parameters: ['mode'] }));
  form.append('wasm', new Blob([components['misbehaving-view'] as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'view.wasm');
  return fetch(`${ts.server.url}/databases/${db}/state-views`, { method: 'POST', body: form });
}

describe('component metrics', () => {
  it('count transpile-cache hits and misses, calls, timeouts and memory kills', async () => {
    expect((await ts.client.post('/databases', { name: 'views' })).status).toBe(201);
    await ts.client.post('/databases/views/events', { events: [cloudEvent({ type: 'Tick' }), cloudEvent({ type: 'Tick' })] });
    const start = await scrape(ts.client);

    expect((await upload('views', 'first')).status).toBe(201);
    expect((await upload('views', 'second')).status).toBe(201);
    const uploaded = await scrape(ts.client);
    const prepared = moved(start, uploaded);
    expect(prepared('factum_component_transpile_cache_total', { result: 'miss' })).toBe(1);
    expect(prepared('factum_component_transpile_cache_total', { result: 'hit' })).toBe(1);

    const rendered = await ts.client.get('/databases/views/state-views/first');
    expect(rendered.text).toBe('2');
    const afterRender = await scrape(ts.client);
    const render = moved(uploaded, afterRender);
    // A first render: the state before any event, the two events, the rendering.
    for (const fn of ['initialState', 'evolve', 'render']) {
      expect(render('factum_component_calls_total', { function: fn, outcome: 'ok' }), fn).toBe(1);
      expect(render('factum_component_call_duration_seconds_count', { function: fn }), fn).toBe(1);
      expect(render('factum_component_call_duration_seconds_sum', { function: fn }), fn).toBeGreaterThan(0);
    }
    expect(render('factum_http_requests_total', { method: 'GET', route: '/databases/{database}/state-views/{name}', status: '200' })).toBe(1);

    expect((await ts.client.get('/databases/views/state-views/second?mode=loop')).status).toBe(429);
    expect((await ts.client.get('/databases/views/state-views/second?mode=grow')).status).toBe(429);
    const limits = moved(afterRender, await scrape(ts.client));
    expect(limits('factum_component_timeouts_total')).toBe(1);
    expect(limits('factum_component_memory_kills_total')).toBe(1);
    const stopped = ['timeout', 'memory'].map((outcome) =>
      ['initialState', 'evolve', 'render'].reduce((n, fn) => n + limits('factum_component_calls_total', { function: fn, outcome }), 0),
    );
    expect(stopped).toEqual([1, 1]);
  }, 120_000);
});
