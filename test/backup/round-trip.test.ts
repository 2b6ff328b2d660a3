/**
 * Backup and restore over the API: a file-store server's database is exported, then imported
 * into a DynamoDB server and into a fresh file-store server; all three answer the same queries
 * and render the same views, byte for byte, and export the same file. An import killed midway
 * and run again ends the same.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import type { TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents, TRANSPILED_DIR } from '../wasm/components.ts';
import { factum, spawnFactum } from './factum.ts';
import { seedShop } from './shop.ts';

// DynamoDB Local keeps tables apart per access key: a key of its own isolates this file.
process.env.AWS_ACCESS_KEY_ID = `backup${process.pid}`;
process.env.AWS_SECRET_ACCESS_KEY = 'local';

let local: DynamoDbLocal;
let source: TestServer;
let fileTarget: TestServer;
let dynamoTarget: TestServer;
let dir: string;
let exported: string;
let eventCount: number;

beforeAll(async () => {
  const components = await loadComponents('customer-profile', 'order-summary', 'process-order');
  local = await startDynamoDbLocal();
  const shared = { componentCacheDir: TRANSPILED_DIR };
  [source, fileTarget, dynamoTarget] = await Promise.all([
    startTestServer(shared),
    startTestServer(shared),
    startTestServer({ ...shared, storage: 'dynamodb', dynamodbEndpoint: local.endpoint, dynamodbTable: 'factum-backup', region: 'us-east-1', createTable: true }),
  ]);
  eventCount = await seedShop(source.client, 'shop', components);
  dir = await mkdtemp(join(tmpdir(), 'factum-backup-'));
  exported = join(dir, 'shop.ndjson');
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([source, fileTarget, dynamoTarget].map((s) => s?.stop()));
  await local?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Everything a client can read of a database, as text: what must be the same after a restore.
 * Without components: only what the events answer.
 */
async function answers(client: TestClient, database: string, withComponents = true): Promise<Record<string, string>> {
  const db = `/databases/${database}`;
  const out: Record<string, string> = {};
  const { name: _name, created_at: _created, state_views: views, state_changes: changes, ...description } = (await client.get(db)).body as Record<string, unknown>;
  out.description = JSON.stringify(withComponents ? { ...description, views, changes } : description);
  const componentPaths = ['/state-views', '/state-views/order-summary/versions', '/state-views/customer-profile/versions', '/state-changes/process-order'];
  for (const path of ['/events?after=0&limit=10000', '/events?after=100&limit=7', '/values/subject?prefix=c-1', '/values/event_type', ...(withComponents ? componentPaths : [])]) {
    out[path] = (await client.get(db + path)).text;
  }
  const queries = [
    { selectors: [{ subject: 'c-3' }] },
    { selectors: [{ event_type: 'OrderCreated', stream: 'shop' }], effective_time_range: { start: '2025-01-05T00:00:00Z', end: '2025-01-30T00:00:00Z' } },
    { selector: { type: 'starts_with', attr: { subject: 'c-1' } }, direction: 'backward', limit: 9 },
  ];
  for (const [i, query] of queries.entries()) {
    const first = await client.post(`${db}/query`, query);
    out[`query ${i}`] = first.text;
    if (first.body.next_cursor) out[`query ${i} page 2`] = (await client.post(`${db}/query`, { ...query, cursor: first.body.next_cursor })).text;
  }
  if (!withComponents) return out;
  const renders = ['customer-profile?customer_id=c-3', 'customer-profile?customer_id=c-7&revision=100', 'order-summary?version=1', 'order-summary?effective_time=2025-01-20T00:00:00Z'];
  for (const render of renders) {
    const reply = await client.get(`${db}/state-views/${render}`);
    out[render] = `${reply.status} ${reply.headers.get('etag')} ${reply.headers.get('factum-revision')} ${reply.text}`;
  }
  for (const component of ['state-views/order-summary/versions/2', 'state-changes/process-order/versions/1']) {
    const response = await fetch(`${client.baseUrl}${db}/${component}/component`);
    out[component] = `${response.status} ${response.headers.get('etag')} ${Buffer.from(await response.arrayBuffer()).toString('base64').length}`;
  }
  return out;
}

describe('backup and restore through the factum command', () => {
  it('exports every event as one line with its revision and recorded time, and every component version', async () => {
    await factum('export', '--url', source.server.url, '--database', 'shop', '--output', exported, '--quiet');
    const lines = (await readFile(exported, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(eventCount);
    expect(lines.map((l) => (JSON.parse(l) as { revision: number }).revision)).toEqual(Array.from({ length: eventCount }, (_, i) => i + 1));
    expect(lines[0]).toBe((await source.client.get('/databases/shop/events/1')).text);
    const components = `${exported}.components`;
    expect((await readdir(join(components, 'state-views', 'order-summary'))).sort()).toEqual(['1.json', '1.wasm', '2.json', '2.wasm']);
    expect((await readdir(join(components, 'state-changes', 'process-order'))).sort()).toEqual(['1.json', '1.wasm']);
  });

  // Restoring and reading back every answer of a database takes a while on a busy machine.
  const RESTORE_TIMEOUT_MS = 90_000;
  let original: Record<string, string> | undefined;
  const originalAnswers = async () => (original ??= await answers(source.client, 'shop'));

  it('restores into a DynamoDB server, which then answers exactly as the original', async () => {
    await factum('import', '--url', dynamoTarget.server.url, '--database', 'shop', '--input', exported, '--quiet');
    const expected = await originalAnswers();
    expect(expected['customer-profile?customer_id=c-3']).toMatch(/^200 .*"registered":true/);
    expect(await answers(dynamoTarget.client, 'shop')).toEqual(expected);
  }, RESTORE_TIMEOUT_MS);

  it('restores into a fresh file-store server, which then answers exactly as the original, version creation times included', async () => {
    await factum('import', '--url', fileTarget.server.url, '--database', 'shop', '--input', exported, '--quiet');
    const expected = await originalAnswers();
    expect(await answers(fileTarget.client, 'shop')).toEqual(expected);
    const versions = (await source.client.get('/databases/shop/state-views/order-summary/versions')).body.versions as Array<{ created_at: string }>;
    expect(expected['/state-views/order-summary/versions']).toContain(versions[0]!.created_at);
  }, RESTORE_TIMEOUT_MS);

  it('exports the same file from every server', async () => {
    const again = { dynamo: join(dir, 'dynamo.ndjson'), file: join(dir, 'file.ndjson') };
    await factum('export', '--url', dynamoTarget.server.url, '-d', 'shop', '-o', again.dynamo, '--no-components', '-q');
    await factum('export', '--url', fileTarget.server.url, '-d', 'shop', '-o', again.file, '--no-components', '-q');
    const original = await readFile(exported);
    expect((await readFile(again.dynamo)).equals(original)).toBe(true);
    expect((await readFile(again.file)).equals(original)).toBe(true);
  });

  it('imports again without duplicating anything', async () => {
    await factum('import', '--url', fileTarget.server.url, '--database', 'shop', '--input', exported, '--quiet');
    expect((await fileTarget.client.get('/databases/shop')).body.latest_revision).toBe(eventCount);
  });

  it('resumes an import that was killed midway, to the same result', { timeout: 90_000 }, async () => {
    const target = dynamoTarget.client;
    // One transaction per request, so the import is still under way when it is killed. Components
    // are left out: they are few, and importing one that is there already is covered above.
    const running = spawnFactum(['import', '--url', target.baseUrl, '--database', 'resumed', '--input', exported, '--no-components', '--batch-size', '1', '--quiet']);
    let head = 0;
    while (head < 60) {
      const reply = await target.get('/databases/resumed');
      head = reply.status === 200 ? reply.body.latest_revision : 0;
      if (running.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    running.child.kill('SIGKILL');
    const { signal, stderr } = await running.finished;
    expect(signal, `the import ended before it could be killed: ${stderr}`).toBe('SIGKILL');
    const atKill = (await target.get('/databases/resumed')).body.latest_revision;
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(eventCount);

    await factum('import', '--url', target.baseUrl, '--database', 'resumed', '--input', exported, '--no-components', '--quiet');
    expect(await answers(target, 'resumed', false)).toEqual(await answers(source.client, 'shop', false));
  });
});
