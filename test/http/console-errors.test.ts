/**
 * One error mapping for the API and the console: the same error answers with the same status
 * (and headers) as JSON on an API path and as an HTML page on a console path.
 */
import { csrfHeaders, loadConsoleCsrf } from '../support/console-csrf.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentionError } from '../../src/core/errors.ts';
import { errorOf, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('errors of the API and the console', () => {
  let ts: TestServer;
  let api: TestClient;

  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory', maxComponentBytes: '1024' });
    api = ts.client;
    expect((await api.post('/databases', { name: 'shop' })).status).toBe(201);
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it('answers a path that does not decode with 400, not 500: a page on the console, the error shape on the API', async () => {
    const page = await api.raw('GET', '/databases/%ff/console');
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(/^<!doctype html>/);
    expect(page.text).toContain('the path is not valid percent-encoding');

    const json = await api.raw('GET', '/databases/%ff');
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(errorOf(json).code).toBe('INVALID_ARGUMENT');
  });

  it('asks for a retry after contention, on pages and in the API alike', async () => {
    const store = ts.server.ctx.store;
    const original = store.listDatabases;
    store.listDatabases = async () => {
      throw new ContentionError('too much contention');
    };
    try {
      const page = await api.get('/');
      expect(page.status).toBe(409);
      expect(page.headers.get('retry-after')).toBe('1');
      expect(page.text).toContain('too much contention');
      const json = await api.get('/databases');
      expect(json.status).toBe(409);
      expect(json.headers.get('retry-after')).toBe('1');
      expect(errorOf(json).code).toBe('ABORTED');
    } finally {
      store.listDatabases = original;
    }
  });

  it('refuses a component over the size limit with 413 from the API and at the form’s file field', async () => {
    const wasm = new Blob([new Uint8Array(2048)]);
    const form = new FormData();
    form.append('metadata', JSON.stringify({ state_change_name: 'big' }));
    form.append('wasm', wasm, 'big.wasm');
    const json = await fetch(`${ts.server.url}/databases/shop/state-changes`, { method: 'POST', body: form });
    expect(json.status).toBe(413);
    expect(((await json.json()) as { error: { code: string; details: { limit: number } } }).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: 1024 } });

    const fields = new FormData();
    fields.append('state_change_name', 'big');
    fields.append('wasm', wasm, 'big.wasm');
    const csrf = await loadConsoleCsrf(ts.server.url);
    const page = await fetch(`${ts.server.url}/databases/shop/console/state-changes`, { method: 'POST', body: fields, headers: csrfHeaders(csrf, { 'HX-Request': 'true' }) });
    expect(page.status).toBe(413);
    const text = await page.text();
    expect(text).toMatch(/<p id="sc-upload-wasm-error" class="field-error" role="alert">Component file is over the limit of 1024 bytes/);
    // What was typed is kept.
    expect(text).toContain('value="big"');
  });
});
