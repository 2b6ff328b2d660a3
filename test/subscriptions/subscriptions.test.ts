/**
 * Subscriptions over NDJSON (fetch) and WebSocket (ws): past events, `caught_up`, live events,
 * the selectors and starts of both forms, heartbeats, the limit on open subscriptions, a deleted
 * database, and what is refused before a stream starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf } from '../support/http.ts';
import { openNdjson, openWebSocket, revisionsOf, type WireFrame } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

let ts: SubscriptionServer;
let seq = 0;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'memory' }, { heartbeatMs: 200 });
});
afterAll(() => ts?.stop());

async function newDatabase(): Promise<string> {
  const name = `subs-${++seq}`;
  expect((await ts.client.post('/databases', { name })).status).toBe(201);
  return name;
}

/** Appends one event per type given, in one transaction each; returns their revisions. */
async function append(db: string, ...types: string[]): Promise<number[]> {
  const revisions: number[] = [];
  for (const type of types) {
    const reply = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type, subject: `s-${type}` })] });
    expect(reply.status).toBe(200);
    revisions.push(reply.body.revision as number);
  }
  return revisions;
}

const url = (path: string) => ts.url + path;

describe('subscriptions over NDJSON', () => {
  it('sends past events, caught_up with the head, then live events, each with its revision', async () => {
    const db = await newDatabase();
    await append(db, 'A', 'B', 'A');
    const stream = await openNdjson(url(`/databases/${db}/subscriptions?event_type=A`));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(await stream.next()).toEqual({ type: 'subscribed', after: 0 });
    const past = await stream.until((f) => f.type === 'caught_up');
    expect(revisionsOf(past)).toEqual([1, 3]);
    expect(past.at(-1)).toEqual({ type: 'caught_up', revision: 3 });
    expect(past[0]!.event).toMatchObject({ type: 'A', revision: 1, specversion: '1.0' });

    await append(db, 'B', 'A');
    const live = await stream.until((f) => f.type === 'event');
    expect(live.at(-1)!.revision).toBe(5);
    expect(live.at(-1)!.event).toMatchObject({ type: 'A', revision: 5 });
    stream.close();
  });

  it('starts after a revision, or at the latest, and takes a full query body in the POST form', async () => {
    const db = await newDatabase();
    await append(db, 'A', 'B', 'C', 'A');
    const after = await openNdjson(url(`/databases/${db}/subscriptions?after=2`));
    expect(revisionsOf(await after.until((f) => f.type === 'caught_up'))).toEqual([3, 4]);
    after.close();

    const latest = await openNdjson(url(`/databases/${db}/subscriptions?after=latest`));
    expect(await latest.next()).toEqual({ type: 'subscribed', after: 4 });
    expect(await latest.next()).toEqual({ type: 'caught_up', revision: 4 });
    await append(db, 'C');
    expect((await latest.next())!.revision).toBe(5);
    latest.close();

    const body = { selectors: [{ event_type: 'B' }, { type: 'starts_with', attr: { subject: 's-C' } }], after: 1 };
    const posted = await openNdjson(url(`/databases/${db}/subscriptions`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(revisionsOf(await posted.until((f) => f.type === 'caught_up'))).toEqual([2, 3, 5]);
    posted.close();
  });

  it('sends heartbeats with its position while nothing happens', async () => {
    const db = await newDatabase();
    await append(db, 'A', 'B');
    const stream = await openNdjson(url(`/databases/${db}/subscriptions?event_type=A`));
    await stream.until((f) => f.type === 'caught_up');
    const started = Date.now();
    expect(await stream.next(2000)).toEqual({ type: 'heartbeat', revision: 2 });
    expect(Date.now() - started).toBeLessThan(1000);
    stream.close();
  });

  it('ends with an error frame when its database is deleted', async () => {
    const db = await newDatabase();
    await append(db, 'A');
    const stream = await openNdjson(url(`/databases/${db}/subscriptions`));
    await stream.until((f) => f.type === 'caught_up');
    expect((await ts.client.delete(`/databases/${db}`)).status).toBe(204);
    const last = (await stream.until((f) => f.type === 'error', 3000)).at(-1)!;
    expect(last).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' }, resume_after: 1 });
    expect(await stream.next()).toBeUndefined();
  });

  it('refuses what it cannot serve before the stream starts, in the error shape', async () => {
    const db = await newDatabase();
    await append(db, 'A');
    const missing = await ts.client.get('/databases/no-such-db/subscriptions');
    expect(missing.status).toBe(404);
    const beyond = await ts.client.get(`/databases/${db}/subscriptions?after=7`);
    expect(beyond.status).toBe(400);
    expect(errorOf(beyond).details).toMatchObject({ field: 'after', latest_revision: 1 });
    expect(errorOf(await ts.client.get(`/databases/${db}/subscriptions?after=soon`)).code).toBe('INVALID_ARGUMENT');
    expect((await ts.client.get(`/databases/${db}/subscriptions`, { accept: 'application/json' })).status).toBe(400);
    const badSelector = await ts.client.post(`/databases/${db}/subscriptions`, { selectors: [{ colour: 'red' }] });
    expect(badSelector.status).toBe(400);
    expect(errorOf(await ts.client.get(`/databases/${db}/subscriptions?consumer=nobody`)).code).toBe('NOT_FOUND');
  });

  it('refuses subscriptions past the limit with 429 and Retry-After, and takes them again once one ends', async () => {
    const db = await newDatabase();
    ts.hub.configure({ maxSubscriptions: 2 });
    try {
      const first = await openNdjson(url(`/databases/${db}/subscriptions`));
      const second = await openNdjson(url(`/databases/${db}/subscriptions`));
      const refused = await ts.client.get(`/databases/${db}/subscriptions`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(errorOf(refused)).toMatchObject({ code: 'RESOURCE_EXHAUSTED', details: { limit: 2, open: 2 } });
      await expect(openWebSocket(url(`/databases/${db}/subscriptions?after=0`))).rejects.toMatchObject({ status: 429 });
      first.close();
      await waitFor(() => ts.hub.stats().open === 1);
      const third = await openNdjson(url(`/databases/${db}/subscriptions`));
      expect(third.status).toBe(200);
      second.close();
      third.close();
    } finally {
      ts.hub.configure({ maxSubscriptions: 1000 });
    }
  });
});

describe('subscriptions over WebSocket', () => {
  it('starts from the URL parameters and sends the same frames', async () => {
    const db = await newDatabase();
    await append(db, 'A', 'B');
    const ws = await openWebSocket(url(`/databases/${db}/subscriptions?event_type=B`));
    expect(await ws.next()).toEqual({ type: 'subscribed', after: 0 });
    const past = await ws.until((f) => f.type === 'caught_up');
    expect(revisionsOf(past)).toEqual([2]);
    await append(db, 'B');
    expect((await ws.next())!).toMatchObject({ type: 'event', revision: 3, event: { type: 'B', revision: 3 } });
    ws.close();
  });

  it('waits for a subscribe message without parameters, and a later one replaces the selector', async () => {
    const db = await newDatabase();
    await append(db, 'A', 'B', 'A', 'B');
    const ws = await openWebSocket(url(`/databases/${db}/subscriptions`));
    ws.send({ type: 'subscribe', selectors: [{ event_type: 'A' }] });
    expect(await ws.next()).toEqual({ type: 'subscribed', after: 0 });
    expect(revisionsOf(await ws.until((f) => f.type === 'caught_up'))).toEqual([1, 3]);

    ws.send({ type: 'subscribe', selector: { type: 'equals', attr: { event_type: 'B' } }, after: 2 });
    const frames = await ws.until((f) => f.type === 'caught_up');
    const subscribed = frames.findIndex((f) => f.type === 'subscribed');
    expect(frames[subscribed]).toEqual({ type: 'subscribed', after: 2 });
    expect(revisionsOf(frames.slice(subscribed))).toEqual([4]);
    await append(db, 'A', 'B');
    expect((await ws.until((f) => f.type === 'event')).at(-1)!.revision).toBe(6);
    ws.close();
  });

  it('answers a bad message with an error frame and closes with 4000 + its status', async () => {
    const db = await newDatabase();
    const ws = await openWebSocket(url(`/databases/${db}/subscriptions`));
    ws.send({ type: 'subscribe', after: 99 });
    expect(await ws.next()).toMatchObject({ type: 'error', error: { code: 'INVALID_ARGUMENT', details: { field: 'after' } } });
    expect(await ws.closed).toEqual({ code: 4400, reason: 'INVALID_ARGUMENT' });

    const garbled = await openWebSocket(url(`/databases/${db}/subscriptions`));
    garbled.socket.send('not json');
    expect(((await garbled.next()) as WireFrame).error!.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an upgrade it cannot serve with an HTTP error', async () => {
    await expect(openWebSocket(url('/databases/no-such-db/subscriptions'))).rejects.toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    await expect(openWebSocket(url('/databases/x/elsewhere'))).rejects.toMatchObject({ status: 404 });
    const db = await newDatabase();
    await expect(openWebSocket(url(`/databases/${db}/subscriptions?after=-1`))).rejects.toMatchObject({ status: 400 });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
