/**
 * `consumer_ack` on an append, over HTTP on the file store: the position moves with the events,
 * a consumer reading as it resumes after it, and every refusal writes nothing (an unknown
 * consumer, a revision past the head, an ack at or before the position, a schema mistake). A
 * retry of a committed append is answered as a replay, not refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, errorOf } from '../support/http.ts';
import { openNdjson } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

let ts: SubscriptionServer;
let seq = 0;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'file' }, { pollIntervalMs: 100 });
});
afterAll(() => ts?.stop());

async function databaseWithConsumer(): Promise<string> {
  const name = `ack-${++seq}`;
  expect((await ts.client.post('/databases', { name })).status).toBe(201);
  for (const type of ['Job', 'Noise', 'Job', 'Job']) expect((await ts.client.post(`/databases/${name}/events`, { events: [cloudEvent({ type })] })).status).toBe(200);
  expect((await ts.client.post(`/databases/${name}/consumers`, { name: 'projector', selectors: [{ event_type: 'Job' }] })).status).toBe(201);
  return name;
}

const head = async (db: string) => (await ts.client.get(`/databases/${db}`)).body.latest_revision as number;
const consumer = async (db: string) => (await ts.client.get(`/databases/${db}/consumers/projector`)).body as { position: number; lag: number; acked_at: string | null };

describe('consumer_ack on an append', () => {
  it('moves the position with the events, and a subscription as the consumer resumes after it', async () => {
    const db = await databaseWithConsumer();
    const reply = await ts.client.post(`/databases/${db}/events`, {
      events: [cloudEvent({ type: 'Done', data: { job: 1 } })],
      consumer_ack: { consumer: 'projector', revision: 3 },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ revision: 5, events_count: 1 });
    expect(await consumer(db)).toMatchObject({ position: 3, lag: 1 });
    expect((await consumer(db)).acked_at).toMatch(/^\d{4}-/);
    // A plain ack below it does not move it back; one past it moves it on.
    expect((await ts.client.post(`/databases/${db}/consumers/projector/ack`, { revision: 1 })).body).toMatchObject({ position: 3, moved: false });
    const stream = await openNdjson(`${ts.url}/databases/${db}/subscriptions?consumer=projector`);
    expect(await stream.next()).toMatchObject({ type: 'subscribed', after: 3 });
    expect(await stream.next()).toMatchObject({ type: 'event', revision: 4 });
    stream.close();
    expect((await ts.client.post(`/databases/${db}/consumers/projector/ack`, { revision: 4 })).body).toMatchObject({ position: 4, moved: true });
  });

  it('refuses an ack at or before the position with 409 and writes none of the events', async () => {
    const db = await databaseWithConsumer();
    const first = { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision: 3 } };
    expect((await ts.client.post(`/databases/${db}/events`, first)).status).toBe(200);
    for (const revision of [3, 1]) {
      const again = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision } });
      expect(again.status).toBe(409);
      expect(errorOf(again)).toMatchObject({ code: 'FAILED_PRECONDITION', details: { consumer: 'projector', position: 3, revision } });
    }
    // After a plain ack too.
    await ts.client.post(`/databases/${db}/consumers/projector/ack`, { revision: 4 });
    const behindAck = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision: 4 } });
    expect(errorOf(behindAck)).toMatchObject({ code: 'FAILED_PRECONDITION', details: { position: 4 } });
    expect(await head(db)).toBe(5);
    // The same append sent again (a retry after a lost answer) is a replay, not a refusal.
    const retry = await ts.client.post(`/databases/${db}/events`, first);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ revision: 5, replayed: true });
  });

  it('lets one of concurrent appends with the same ack commit, and refuses the others', async () => {
    const db = await databaseWithConsumer();
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision: 4 } })),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    expect(await head(db)).toBe(5);
  });

  it('refuses an unknown consumer (404), a revision past the head (400) and no events (400), writing nothing', async () => {
    const db = await databaseWithConsumer();
    const unknown = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent()], consumer_ack: { consumer: 'nobody', revision: 1 } });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', details: { consumer: 'nobody' } });
    const ahead = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent()], consumer_ack: { consumer: 'projector', revision: 5 } });
    expect(ahead.status).toBe(400);
    expect(errorOf(ahead).details).toMatchObject({ field: 'consumer_ack.revision', latest_revision: 4 });
    const empty = await ts.client.post(`/databases/${db}/events`, { events: [], consumer_ack: { consumer: 'projector', revision: 1 } });
    expect(empty.status).toBe(400);
    for (const bad of [{ consumer: 'projector' }, { consumer: 'projector', revision: 0 }, { consumer: 'Bad Name', revision: 1 }, { consumer: 'projector', revision: 1, extra: true }]) {
      const reply = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent()], consumer_ack: bad });
      expect(reply.status).toBe(400);
      expect(errorOf(reply).code).toBe('INVALID_ARGUMENT');
    }
    expect(await head(db)).toBe(4);
    expect(await consumer(db)).toMatchObject({ position: 0 });
  });

  it('keeps the position of a checkpoint across a restart', async () => {
    const db = await databaseWithConsumer();
    expect((await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision: 4 } })).status).toBe(200);
    await ts.close();
    ts = await startSubscriptionServer({ storage: 'file', dataDir: ts.dataDir }, { pollIntervalMs: 100 });
    expect(await consumer(db)).toMatchObject({ position: 4, lag: 0 });
    const again = await ts.client.post(`/databases/${db}/events`, { events: [cloudEvent({ type: 'Done' })], consumer_ack: { consumer: 'projector', revision: 4 } });
    expect(again.status).toBe(409);
  });
});
