/**
 * Keeping strangers out, over real HTTP: other origins in open mode and with keys, the life of a
 * key (created, scoped, revoked at once), keys hashed at rest, rate limits, onboarding as an agent
 * runs it, llms.txt from openapi.yaml, and the console's sign-in and CSRF tokens.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.ts';
import { operations } from '../../src/schema/openapi.ts';
import { startServer } from '../../src/server.ts';
import { cloudEvent, TestClient } from '../support/http.ts';
import { loadConsoleCsrf } from '../support/console-csrf.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const ADMIN_KEY = 'factum_access-test-admin-key-0123456789';
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
const FOREIGN = 'http://127.0.0.1:9';

describe('another origin, on a server without keys', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory' });
    await ts.client.post('/databases', { name: 'shop' });
  });
  afterAll(() => ts?.stop());

  it('gets no CORS headers, and cannot delete or append whatever the request', async () => {
    const preflight = await fetch(`${ts.server.url}/databases/shop`, { method: 'OPTIONS', headers: { origin: FOREIGN, 'access-control-request-method': 'DELETE' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const deleted = await ts.client.delete('/databases/shop', { origin: FOREIGN });
    expect(deleted.status).toBe(403);
    expect(deleted.body.error.code).toBe('PERMISSION_DENIED');
    const appended = await ts.client.post('/databases/shop/events', { events: [cloudEvent()] }, { origin: FOREIGN });
    expect(appended.status).toBe(403);
    const crossSite = await ts.client.delete('/databases/shop', { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const form = await fetch(`${ts.server.url}/databases/shop/console/delete`, { method: 'POST', body: 'x=1', headers: { origin: FOREIGN, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expect(form.status).toBe(403);
    expect((await ts.client.get('/databases/shop')).status).toBe(200);
    expect((await ts.client.get('/databases/shop')).body.event_count).toBe(0);
  });

  it('refuses a console form without its CSRF token even from the same origin, and takes it with one', async () => {
    const own = new URL(ts.server.url).origin;
    const headers = { origin: own, 'content-type': 'application/x-www-form-urlencoded' };
    const bare = await fetch(`${ts.server.url}/console/databases`, { method: 'POST', body: 'name=no-token', headers, redirect: 'manual' });
    expect(bare.status).toBe(403);
    const csrf = await loadConsoleCsrf(ts.server.url);
    const forged = await fetch(`${ts.server.url}/console/databases`, { method: 'POST', body: 'name=forged&_csrf=abc.def', headers: { ...headers, cookie: csrf.cookie }, redirect: 'manual' });
    expect(forged.status).toBe(403);
    const sent = await fetch(`${ts.server.url}/console/databases`, { method: 'POST', body: `name=with-token&_csrf=${encodeURIComponent(csrf.token)}`, headers: { ...headers, cookie: csrf.cookie }, redirect: 'manual' });
    expect(sent.status).toBe(303);
    expect((await ts.client.get('/databases/no-token')).status).toBe(404);
    expect((await ts.client.get('/databases/with-token')).status).toBe(200);
  });

  it('still serves programs, which name no origin', async () => {
    expect((await ts.client.post('/databases/shop/events', { events: [cloudEvent()] })).status).toBe(200);
  });
});

describe('an allowed origin', () => {
  let ts: TestServer;
  const allowed = 'http://app.example:3000';
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory', corsOrigin: [allowed] });
    await ts.client.post('/databases', { name: 'shop' });
  });
  afterAll(() => ts?.stop());

  it('gets CORS with the headers a browser app needs, and may change data', async () => {
    const preflight = await fetch(`${ts.server.url}/databases/shop/events`, {
      method: 'OPTIONS',
      headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-api-key,content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-api-key/i);
    const appended = await ts.client.post('/databases/shop/events', { events: [cloudEvent()] }, { origin: allowed });
    expect(appended.status).toBe(200);
    const exposed = appended.headers.get('access-control-expose-headers') ?? '';
    for (const header of ['ETag', 'Location', 'Factum-Revision', 'Factum-Evolved-Events', 'Factum-Attempts', 'X-RateLimit-Remaining', 'Retry-After']) expect(exposed).toContain(header);
    expect((await ts.client.delete('/databases/shop', { origin: 'http://app.example:3001' })).status).toBe(403);
  });
});

describe('API keys', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'file' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    for (const name of ['shop', 'crm']) expect((await ts.client.post('/databases', { name }, ADMIN)).status).toBe(201);
  });
  afterAll(() => ts?.stop());

  const create = async (body: object) => {
    const reply = await ts.client.post('/keys', body, ADMIN);
    expect(reply.status, reply.text).toBe(201);
    return reply.body as { key: { id: string; databases: string[] }; secret: string };
  };

  it('shows a secret once, with a prefix, and never again', async () => {
    const created = await create({ name: 'reader', databases: ['shop'], permissions: ['read'] });
    expect(created.secret).toMatch(/^factum_[A-Za-z0-9_-]{43}$/);
    const listed = await ts.client.get('/keys', ADMIN);
    expect(listed.text).not.toContain(created.secret);
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(created.key.id);
    expect((await ts.client.get(`/keys/${created.key.id}`, ADMIN)).body.key).toMatchObject({ name: 'reader', databases: ['shop'], permissions: ['read'], expires_at: null });
  });

  it('takes Bearer and X-API-Key, lists only the databases a key reads, and refuses what it may not do', async () => {
    const { secret } = await create({ name: 'shop reader', databases: ['shop'], permissions: ['read'] });
    expect((await ts.client.get('/databases', { authorization: `Bearer ${secret}` })).body.databases.map((d: { name: string }) => d.name)).toEqual(['shop']);
    expect((await ts.client.get('/databases/shop', { 'x-api-key': secret })).status).toBe(200);
    const crm = await ts.client.get('/databases/crm', { 'x-api-key': secret });
    expect(crm.status).toBe(403);
    expect(crm.body.error).toMatchObject({ code: 'PERMISSION_DENIED', details: { database: 'crm' } });
    const append = await ts.client.post('/databases/shop/events', { events: [cloudEvent()] }, { 'x-api-key': secret });
    expect(append.status).toBe(403);
    expect(append.body.error.details.permission).toBe('write');
    const both = await ts.client.get('/databases', { authorization: `Bearer ${secret}`, 'x-api-key': ADMIN_KEY });
    expect(both.status).toBe(400);
    expect((await ts.client.get('/databases')).status).toBe(401);
    expect((await ts.client.get('/health')).status).toBe(200);
  });

  it('revokes a key at once', async () => {
    const { key, secret } = await create({ name: 'short-lived', databases: ['*'], permissions: ['read'] });
    expect((await ts.client.get('/databases', { 'x-api-key': secret })).status).toBe(200);
    expect((await ts.client.delete(`/keys/${key.id}`, ADMIN)).status).toBe(204);
    expect((await ts.client.get('/databases', { 'x-api-key': secret })).status).toBe(401);
    expect((await ts.client.get(`/keys/${key.id}`, ADMIN)).status).toBe(404);
  });

  it('lets a database admin create only its own databases, and only a key for every database manage keys', async () => {
    const { secret } = await create({ name: 'shop admin', databases: ['shop', 'shop-2'], permissions: ['admin'] });
    const own = { authorization: `Bearer ${secret}` };
    expect((await ts.client.post('/databases', { name: 'shop-2' }, own)).status).toBe(201);
    expect((await ts.client.post('/databases', { name: 'elsewhere' }, own)).status).toBe(403);
    expect((await ts.client.get('/keys', own)).status).toBe(403);
    expect((await ts.client.post('/keys', { name: 'escalate', databases: ['*'], permissions: ['admin'] }, own)).status).toBe(403);
  });

  it('refuses a key that expires in the past or names a bad database', async () => {
    expect((await ts.client.post('/keys', { name: 'x', databases: ['shop'], permissions: ['read'], expires_at: '2001-01-01T00:00:00Z' }, ADMIN)).status).toBe(400);
    expect((await ts.client.post('/keys', { name: 'x', databases: ['Not A Name'], permissions: ['read'] }, ADMIN)).status).toBe(400);
    expect((await ts.client.post('/keys', { name: 'x', databases: ['shop'], permissions: ['root'] }, ADMIN)).status).toBe(400);
  });

  it('keeps working after a restart, with the same keys', async () => {
    const { secret } = await create({ name: 'durable', databases: ['shop'], permissions: ['read'] });
    ts = await ts.restart();
    expect((await ts.client.get('/databases/shop', { 'x-api-key': secret })).status).toBe(200);
    expect((await ts.client.get('/databases/shop')).status).toBe(401);
  });
});

describe('keys at rest', () => {
  it('are hashed: no secret appears in the data directory or the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString('utf8')), done()) });
    const ts = await startTestServer({ storage: 'file' });
    await ts.server.close();
    const config = resolveConfig({ port: '0', storage: 'file', dataDir: ts.dataDir, logLevel: 'debug' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const server = await startServer(config, pino({ level: 'debug' }, sink));
    try {
      const client = new TestClient(server.url);
      const secrets = [ADMIN_KEY];
      await client.post('/databases', { name: 'shop' }, ADMIN);
      for (let i = 0; i < 3; i++) secrets.push((await client.post('/keys', { name: `k${i}`, databases: ['shop'], permissions: ['read', 'write'] }, ADMIN)).body.secret as string);
      for (const secret of secrets) {
        await client.get('/databases/shop', { 'x-api-key': secret });
        await client.post('/databases/shop/events', { events: [cloudEvent()] }, { authorization: `Bearer ${secret}` });
      }
      await client.post('/console/sign-in', `key=${encodeURIComponent(secrets[1]!)}`, { 'content-type': 'application/x-www-form-urlencoded' });
      const files = await allFiles(ts.dataDir);
      expect(files.length).toBeGreaterThan(5);
      const stored = (await Promise.all(files.map((f) => readFile(f)))).map((b) => b.toString('latin1')).join('\n');
      const logged = lines.join('');
      expect(logged).toContain('"url":"/databases/shop"');
      for (const secret of secrets) {
        expect(stored).not.toContain(secret);
        expect(logged).not.toContain(secret);
        expect(stored).not.toContain(secret.slice(7, 30));
      }
    } finally {
      await server.close();
      await ts.stop();
    }
  });
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('rate limits', () => {
  let ts: TestServer;
  afterEach(() => ts?.stop());

  it('say what is left on every answer, and answer 429 with Retry-After past the limit, per key', async () => {
    ts = await startTestServer({ storage: 'memory', rateLimit: '5', rateLimitWindowMs: '60000' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const other = (await ts.client.post('/keys', { name: 'other', databases: ['*'], permissions: ['read'] }, ADMIN)).body.secret as string;
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const reply = await ts.client.get('/databases', ADMIN);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-ratelimit-limit')).toBe('5');
      expect(Number(reply.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      seen.push(Number(reply.headers.get('x-ratelimit-remaining')));
    }
    expect(seen).toEqual([3, 2, 1, 0]);
    const over = await ts.client.get('/databases', ADMIN);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('RESOURCE_EXHAUSTED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key has its own count.
    expect((await ts.client.get('/databases', { 'x-api-key': other })).status).toBe(200);
  });
});

describe('subscriptions per caller', () => {
  it('are bounded per key, and one key at its bound does not stop another', async () => {
    const ts = await startTestServer({ storage: 'memory', maxSubscriptionsPerCaller: '2' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const open: AbortController[] = [];
    try {
      await ts.client.post('/databases', { name: 'shop' }, ADMIN);
      const other = (await ts.client.post('/keys', { name: 'other', databases: ['shop'], permissions: ['read'] }, ADMIN)).body.secret as string;
      const subscribe = async (key: string) => {
        const controller = new AbortController();
        open.push(controller);
        const res = await fetch(`${ts.server.url}/databases/shop/subscriptions`, { headers: { 'x-api-key': key, accept: 'application/x-ndjson' }, signal: controller.signal });
        return { status: res.status, retryAfter: res.headers.get('retry-after') };
      };
      expect((await subscribe(ADMIN_KEY)).status).toBe(200);
      expect((await subscribe(ADMIN_KEY)).status).toBe(200);
      expect(await subscribe(ADMIN_KEY)).toEqual({ status: 429, retryAfter: expect.any(String) });
      expect((await subscribe(other)).status).toBe(200);
    } finally {
      for (const controller of open) controller.abort();
      await ts.stop();
    }
  });
});

describe('events quotas', () => {
  let ts: TestServer;
  afterEach(() => ts?.stop());

  it('refuse an append that would pass the quota, writing nothing, also when appends race for the last places', async () => {
    ts = await startTestServer({ storage: 'file' });
    await ts.client.post('/databases', { name: 'shop' });
    expect((await ts.client.put('/databases/shop/quota', { events: 5 })).body).toEqual({ database: 'shop', events_used: 0, events_quota: 5 });
    expect((await ts.client.post('/databases/shop/events', { events: [cloudEvent(), cloudEvent()] })).status).toBe(200);
    const over = await ts.client.post('/databases/shop/events', { events: [cloudEvent(), cloudEvent(), cloudEvent(), cloudEvent()] });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'RESOURCE_EXHAUSTED', details: { events_quota: 5, events_used: 2, events_in_request: 4 } });
    expect(over.headers.get('retry-after')).toBeNull();
    expect((await ts.client.get('/databases/shop')).body.event_count).toBe(2);
    // Ten single-event appends race for the three places left: exactly three get one.
    const raced = await Promise.all(Array.from({ length: 10 }, () => ts.client.post('/databases/shop/events', { events: [cloudEvent()] })));
    expect(raced.filter((r) => r.status === 200)).toHaveLength(3);
    expect(raced.filter((r) => r.status === 429)).toHaveLength(7);
    expect((await ts.client.get('/databases/shop/quota')).body).toEqual({ database: 'shop', events_used: 5, events_quota: 5 });
    // Removing the quota lets appends in again.
    expect((await ts.client.put('/databases/shop/quota', { events: null })).status).toBe(200);
    expect((await ts.client.post('/databases/shop/events', { events: [cloudEvent()] })).status).toBe(200);
    expect((await ts.client.put('/databases/shop/quota', { events: -1 })).status).toBe(400);
  });
});

describe('onboarding and llms.txt', () => {
  let ts: TestServer;
  afterEach(() => ts?.stop());

  it('describes every operation in llms.txt, from openapi.yaml', async () => {
    ts = await startTestServer({ storage: 'memory' });
    const reply = await ts.client.get('/llms.txt');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(reply.text).toMatch(/^# Factum\n\n> /);
    for (const op of operations.values()) expect(reply.text).toContain(`### ${op.method} ${op.path}\n`);
    for (const code of ['UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED']) expect(reply.text).toContain(`| ${code} |`);
    expect(reply.text).toContain(`Base URL: ${ts.server.url}`);
    expect(reply.text).toContain('- CreateKeyRequest: {');
    expect(reply.text).toContain('does not offer onboarding');
  });

  it('runs as an agent would: read llms.txt, onboard, append and query with the new key', async () => {
    ts = await startTestServer({ storage: 'memory', onboarding: true, onboardingEventsQuota: '3' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const guide = (await ts.client.get('/llms.txt')).text;
    expect(guide).toContain('POST /onboard');
    const onboarded = await ts.client.post('/onboard', { name: 'Ada Agent', email: 'Ada@Example.com' });
    expect(onboarded.status, onboarded.text).toBe(201);
    expect(onboarded.headers.get('cache-control')).toBe('no-store');
    const { database, key, secret, quota } = onboarded.body as { database: { name: string }; key: { databases: string[]; permissions: string[] }; secret: string; quota: object };
    expect(database.name).toMatch(/^ada-agent-[0-9a-f]{8}$/);
    expect(key).toMatchObject({ databases: [database.name], permissions: ['read', 'write', 'deploy'] });
    expect(quota).toEqual({ database: database.name, events_used: 0, events_quota: 3 });
    const auth = { authorization: `Bearer ${secret}` };
    expect((await ts.client.post(`/databases/${database.name}/events`, { events: [cloudEvent({ type: 'Hello' })] }, auth)).status).toBe(200);
    const query = await ts.client.post(`/databases/${database.name}/query`, { selectors: [{ event_type: 'Hello' }] }, auth);
    expect(query.body.events).toHaveLength(1);
    expect((await ts.client.get('/usage', auth)).body).toEqual({ databases: [{ database: database.name, events_used: 1, events_quota: 3 }] });
    // One database per identity, whatever the case of its email.
    expect((await ts.client.post('/onboard', { name: 'Ada again', email: 'ada@example.com' })).status).toBe(409);
    // The key reaches its own database only, and cannot make keys.
    expect((await ts.client.get('/databases', auth)).body.databases).toHaveLength(1);
    expect((await ts.client.get('/keys', auth)).status).toBe(403);
  });

  it('is off unless enabled, needs keys, and is rate limited per address', async () => {
    ts = await startTestServer({ storage: 'memory' });
    expect((await ts.client.post('/onboard', { name: 'x', email: 'x@example.com' })).status).toBe(404);
    await ts.stop();
    await expect(startTestServer({ storage: 'memory', onboarding: true })).rejects.toThrow(/onboarding needs API keys/);
    ts = await startTestServer({ storage: 'memory', onboarding: true, onboardingPerHour: '2' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    expect((await ts.client.post('/onboard', { name: 'a', email: 'a@example.com' })).status).toBe(201);
    expect((await ts.client.post('/onboard', { name: 'b', email: 'not-an-email' })).status).toBe(400);
    const limited = await ts.client.post('/onboard', { name: 'c', email: 'c@example.com' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
  });
});

describe('the console with keys', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    await ts.client.post('/databases', { name: 'shop' }, ADMIN);
  });
  afterAll(() => ts?.stop());

  it('sends pages to the sign-in page, and signs in with a key into an HttpOnly, SameSite=Strict session', async () => {
    const page = await fetch(`${ts.server.url}/databases/shop/console`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/sign-in?next=%2Fdatabases%2Fshop%2Fconsole');
    const csrf = await loadConsoleCsrfFrom(ts.server.url + '/console/sign-in');
    const wrong = await fetch(`${ts.server.url}/console/sign-in`, { method: 'POST', body: `key=nope&next=%2F&_csrf=${csrf.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie }, redirect: 'manual' });
    expect(wrong.status).toBe(401);
    const signedIn = await fetch(`${ts.server.url}/console/sign-in`, {
      method: 'POST',
      body: `key=${encodeURIComponent(ADMIN_KEY)}&next=%2Fdatabases%2Fshop%2Fconsole&_csrf=${csrf.token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie },
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/databases/shop/console');
    const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('factum_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const session = cookie.split(';')[0]!;
    const shown = await fetch(`${ts.server.url}/databases/shop/console`, { headers: { cookie: session } });
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('Signed in as admin');
    // The session reads the API, but never changes data through it: a cookie is not a key.
    expect((await fetch(`${ts.server.url}/databases/shop`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${ts.server.url}/databases/shop`, { method: 'DELETE', headers: { cookie: session } })).status).toBe(401);
  });

  it('refuses a redirect after sign-in to another site', async () => {
    const csrf = await loadConsoleCsrfFrom(ts.server.url + '/console/sign-in');
    const reply = await fetch(`${ts.server.url}/console/sign-in`, {
      method: 'POST',
      body: `key=${encodeURIComponent(ADMIN_KEY)}&next=%2F%2Fevil.example%2F&_csrf=${csrf.token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie },
      redirect: 'manual',
    });
    expect(reply.headers.get('location')).toBe('/');
  });
});

/** The CSRF cookie and token of a page other than the home page (which needs a session). */
async function loadConsoleCsrfFrom(url: string): Promise<{ token: string; cookie: string }> {
  const res = await fetch(url);
  const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('factum_csrf='))!.split(';')[0]!;
  return { token, cookie };
}
