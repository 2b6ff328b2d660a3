/**
 * Durable consumers on the file store: registering, positions that only move forward, lag,
 * subscribing as a consumer (resuming after its last ack, across a restart), two connections
 * reading as one consumer, and deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf } from '../support/http.ts';
import { openNdjson, openWebSocket, revisionsOf } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

let ts: SubscriptionServer;
let seq = 0;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'file' }, { pollIntervalMs: 100 });
});
afterAll(() => ts?.stop());

async function newDatabase(types: string[]): Promise<string> {
  const name = `cons-${++seq}`;
  expect((await ts.client.post('/databases', { name })).status).toBe(201);
  for (const type of types) expect((await ts.client.post(`/databases/${name}/events`, { events: [cloudEvent({ type })] })).status).toBe(200);
  return name;
}

const consumers = (db: string) => `/databases/${db}/consumers`;

describe('durable consumers', () => {
  it('registers once, is idempotent for the same registration, and refuses another under the name', async () => {
    const db = await newDatabase(['A', 'B', 'A']);
    const created = await ts.client.post(consumers(db), { name: 'billing', selectors: [{ event_type: 'A' }] });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/databases/${db}/consumers/billing`);
    expect(created.body).toMatchObject({ name: 'billing', selectors: [{ event_type: 'A' }], start: 'beginning', position: 0, acked_at: null, lag: 2, lag_exact: true });
    expect((await ts.client.post(consumers(db), { name: 'billing', selectors: [{ event_type: 'A' }] })).status).toBe(200);
    const clash = await ts.client.post(consumers(db), { name: 'billing', selectors: [{ event_type: 'B' }] });
    expect(clash.status).toBe(409);
    expect(errorOf(clash).code).toBe('ALREADY_EXISTS');
    expect(errorOf(await ts.client.post(consumers(db), { name: 'Bad Name' })).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(await ts.client.post(consumers(db), { name: 'future', start: 9 })).details).toMatchObject({ field: 'start' });

    const latest = await ts.client.post(consumers(db), { name: 'tail', start: 'latest' });
    expect(latest.body).toMatchObject({ position: 3, lag: 0 });
    const list = await ts.client.get(consumers(db));
    expect(list.body.revision).toBe(3);
    expect(list.body.consumers.map((c: { name: string; position: number }) => [c.name, c.position])).toEqual([
      ['billing', 0],
      ['tail', 3],
    ]);
    expect((await ts.client.get(`${consumers(db)}/missing`)).status).toBe(404);
  });

  it('moves its position forward only, and says so for an older ack', async () => {
    const db = await newDatabase(['A', 'A', 'A', 'A']);
    await ts.client.post(consumers(db), { name: 'worker' });
    const ack = (revision: number) => ts.client.post(`${consumers(db)}/worker/ack`, { revision });
    const first = await ack(3);
    expect(first.body).toMatchObject({ name: 'worker', position: 3, moved: true, acked_at: expect.any(String) });
    expect((await ack(2)).body).toEqual({ name: 'worker', position: 3, moved: false, acked_at: first.body.acked_at });
    expect((await ack(3)).body.moved).toBe(false);
    expect(errorOf(await ack(5)).details).toMatchObject({ field: 'revision', latest_revision: 4 });
    const described = await ts.client.get(`${consumers(db)}/worker`);
    expect(described.body).toMatchObject({ position: 3, acked_at: first.body.acked_at, lag: 1, lag_exact: true });
    // Concurrent acks from many clients: the greatest wins, whatever order they land in.
    await Promise.all([4, 1, 2, 4, 3].map((r) => ack(r)));
    expect((await ts.client.get(`${consumers(db)}/worker`)).body.position).toBe(4);
    // Old position records are pruned.
    expect((await ts.ctx.store.listBlobs(db, 'consumers/worker/')).filter((k) => k.includes('/positions/')).length).toBeLessThanOrEqual(2);
  });

  it('resumes a subscription right after its last ack, also after a restart', async () => {
    const db = await newDatabase(['A', 'B', 'A', 'B', 'A']);
    await ts.client.post(consumers(db), { name: 'reader', selectors: [{ event_type: 'A' }] });
    const first = await openNdjson(`${ts.url}/databases/${db}/subscriptions?consumer=reader`);
    expect(await first.next()).toEqual({ type: 'subscribed', after: 0, consumer: 'reader' });
    expect(revisionsOf(await first.until((f) => f.type === 'caught_up'))).toEqual([1, 3, 5]);
    first.close();
    await ts.client.post(`${consumers(db)}/reader/ack`, { revision: 3 });

    // A restart on the same data: the position is read back from storage.
    await ts.close();
    ts = await startSubscriptionServer({ storage: 'file', dataDir: ts.dataDir }, { pollIntervalMs: 100 });
    const restarted = ts;
    const again = await openNdjson(`${restarted.url}/databases/${db}/subscriptions?consumer=reader`);
    expect(await again.next()).toEqual({ type: 'subscribed', after: 3, consumer: 'reader' });
    expect(revisionsOf(await again.until((f) => f.type === 'caught_up'))).toEqual([5]);
    again.close();
    const withAfter = await restarted.client.get(`/databases/${db}/subscriptions?consumer=reader&after=1`);
    expect(errorOf(withAfter).details).toMatchObject({ field: 'after' });
  });

  it('lets the newest connection read as a consumer: the older one ends with superseded', async () => {
    const db = await newDatabase(['A', 'A']);
    await ts.client.post(consumers(db), { name: 'single' });
    const older = await openNdjson(`${ts.url}/databases/${db}/subscriptions?consumer=single`);
    await older.until((f) => f.type === 'caught_up');
    const newer = await openWebSocket(`${ts.url}/databases/${db}/subscriptions?consumer=single`);
    expect(revisionsOf(await newer.until((f) => f.type === 'caught_up'))).toEqual([1, 2]);
    expect((await older.until((f) => f.type === 'end')).at(-1)).toEqual({ type: 'end', reason: 'superseded', resume_after: 2 });
    expect(await older.next()).toBeUndefined();
    // The newer one goes on being served.
    await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'A' })] });
    expect((await newer.until((f) => f.type === 'event')).at(-1)!.revision).toBe(3);

    // Another server sharing the storage would see the holder record change: simulated here by
    // rewriting it, which the running subscription notices within a poll interval.
    const holderKey = (await ts.ctx.store.listBlobs(db, 'consumers/single/')).find((k) => k.endsWith('/holder'))!;
    await ts.ctx.store.putBlob(db, holderKey, new TextEncoder().encode(JSON.stringify({ session: 'elsewhere' })));
    expect((await newer.until((f) => f.type === 'end', 2000)).at(-1)).toMatchObject({ reason: 'superseded' });
    expect((await newer.closed).code).toBe(1000);
  });

  it('ends the subscriptions of a deleted consumer with an error frame', async () => {
    const db = await newDatabase(['A']);
    await ts.client.post(consumers(db), { name: 'doomed' });
    const stream = await openNdjson(`${ts.url}/databases/${db}/subscriptions?consumer=doomed`);
    await stream.until((f) => f.type === 'caught_up');
    expect((await ts.client.delete(`${consumers(db)}/doomed`)).status).toBe(204);
    expect((await stream.until((f) => f.type === 'error')).at(-1)).toMatchObject({ error: { code: 'NOT_FOUND' }, resume_after: 1 });
    expect((await ts.client.get(`${consumers(db)}/doomed`)).status).toBe(404);
    expect((await ts.client.delete(`${consumers(db)}/doomed`)).status).toBe(404);
    // Registered again, it starts afresh.
    expect((await ts.client.post(consumers(db), { name: 'doomed', start: 'latest' })).body.position).toBe(1);
  });
});
