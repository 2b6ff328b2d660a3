/**
 * Two servers on one DynamoDB table (DynamoDB Local): an event appended on one reaches a
 * subscriber on the other within about a second (the other finds it by polling the head), a
 * consumer's acks on one are its position on the other, and a connection reading as a consumer
 * on one server is superseded by one on the other.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { cloudEvent } from '../support/http.ts';
import { openNdjson, openWebSocket, revisionsOf } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

// DynamoDB Local keeps tables apart per access key: a key of its own isolates this file.
process.env.AWS_ACCESS_KEY_ID = `subs${process.pid}`;
process.env.AWS_SECRET_ACCESS_KEY = 'local';

let local: DynamoDbLocal;
let a: SubscriptionServer;
let b: SubscriptionServer;
beforeAll(async () => {
  local = await startDynamoDbLocal();
  const flags = { storage: 'dynamodb', dynamodbEndpoint: local.endpoint, dynamodbTable: 'factum-subs', region: 'us-east-1', createTable: true };
  a = await startSubscriptionServer(flags);
  b = await startSubscriptionServer(flags);
  expect((await a.client.post('/databases', { name: 'shared' })).status).toBe(201);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await local?.stop();
});

it('delivers an event appended on one server to a subscriber on the other within about a second', async () => {
  await a.client.post('/databases/shared/events', { events: [cloudEvent({ type: 'Early' })] });
  const ndjson = await openNdjson(`${b.url}/databases/shared/subscriptions`);
  const ws = await openWebSocket(`${b.url}/databases/shared/subscriptions?after=latest`);
  expect(revisionsOf(await ndjson.until((f) => f.type === 'caught_up'))).toEqual([1]);
  await ws.until((f) => f.type === 'caught_up');

  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const sent = Date.now();
    const revision = (await a.client.post('/databases/shared/events', { events: [cloudEvent({ type: 'Live' })] })).body.revision as number;
    await ndjson.until((f) => f.type === 'event' && f.revision === revision, 3000);
    await ws.until((f) => f.type === 'event' && f.revision === revision, 3000);
    latencies.push(Date.now() - sent);
  }
  // The default head poll is every 500 ms; reading the events adds a little.
  expect(Math.max(...latencies)).toBeLessThan(1500);
  ndjson.close();
  ws.close();
});

it('keeps a consumer’s position in the table, for every server, and hands its reading over across servers', async () => {
  await a.client.post('/databases/shared/consumers', { name: 'cross', selectors: [{ event_type: 'Live' }] });
  const acked = (await a.client.post('/databases/shared/consumers/cross/ack', { revision: 3 })).body;
  expect(acked).toMatchObject({ position: 3, moved: true });
  expect((await b.client.get('/databases/shared/consumers/cross')).body).toMatchObject({ position: 3, lag: 3, lag_exact: true });
  expect((await b.client.post('/databases/shared/consumers/cross/ack', { revision: 2 })).body).toMatchObject({ position: 3, moved: false });

  const onA = await openNdjson(`${a.url}/databases/shared/subscriptions?consumer=cross`);
  expect(await onA.next()).toEqual({ type: 'subscribed', after: 3, consumer: 'cross' });
  expect(revisionsOf(await onA.until((f) => f.type === 'caught_up'))).toEqual([4, 5, 6]);
  const onB = await openNdjson(`${b.url}/databases/shared/subscriptions?consumer=cross`);
  await onB.until((f) => f.type === 'caught_up');
  expect((await onA.until((f) => f.type === 'end', 3000)).at(-1)).toEqual({ type: 'end', reason: 'superseded', resume_after: 6 });
  onB.close();
});
