/**
 * Keys on DynamoDB, with two servers on one table: a key made on one works on the other, a key
 * revoked on one is refused by the other at its next request, and a console session and its CSRF
 * token from one are good on the other (the signing secret is shared through the table).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useDynamoDbLocal } from '../support/dynamodb-local.ts';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const ADMIN_KEY = 'factum_dynamodb-access-admin-key-0123456789';
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };

const dynamodb = useDynamoDbLocal('access');
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  // The servers' AWS SDK reads the credentials of the suite's namespace from the environment.
  process.env.AWS_ACCESS_KEY_ID = dynamodb.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = dynamodb.credentials.secretAccessKey;
  const flags = { storage: 'dynamodb', dynamodbEndpoint: dynamodb.local.endpoint, dynamodbTable: 'factum-access', region: 'us-east-1', createTable: true };
  a = await startTestServer(flags, { FACTUM_ADMIN_KEY: ADMIN_KEY });
  // The second server is given no key: it finds the first one's in the table.
  b = await startTestServer(flags);
  expect((await a.client.post('/databases', { name: 'shared' }, ADMIN)).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

it('shares keys between servers, and a revocation on one is refused on the other at once', async () => {
  expect((await b.client.get('/databases/shared')).status).toBe(401);
  const created = (await a.client.post('/keys', { name: 'writer', databases: ['shared'], permissions: ['read', 'write'] }, ADMIN)).body as { key: { id: string }; secret: string };
  const auth = { 'x-api-key': created.secret };
  expect((await b.client.post('/databases/shared/events', { events: [cloudEvent()] }, auth)).status).toBe(200);
  expect((await b.client.get('/keys', ADMIN)).body.keys.map((k: { id: string }) => k.id)).toContain(created.key.id);

  expect((await a.client.delete(`/keys/${created.key.id}`, ADMIN)).status).toBe(204);
  const refused = await b.client.post('/databases/shared/events', { events: [cloudEvent()] }, auth);
  expect(refused.status).toBe(401);
  expect((await b.client.get('/databases/shared', ADMIN)).body.event_count).toBe(1);
});

it('takes a console session and its CSRF token from one server on the other', async () => {
  const signInPage = await fetch(`${a.server.url}/console/sign-in`);
  const token = /name="_csrf" value="([^"]+)"/.exec(await signInPage.text())![1]!;
  const csrfCookie = signInPage.headers.getSetCookie().find((c) => c.startsWith('factum_csrf='))!.split(';')[0]!;
  const signedIn = await fetch(`${a.server.url}/console/sign-in`, {
    method: 'POST',
    body: `key=${encodeURIComponent(ADMIN_KEY)}&next=%2F&_csrf=${encodeURIComponent(token)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    redirect: 'manual',
  });
  expect(signedIn.status).toBe(303);
  const session = signedIn.headers.getSetCookie().find((c) => c.startsWith('factum_session='))!.split(';')[0]!;
  // A page of server A gives the token bound to the session; server B takes it.
  const home = await fetch(`${a.server.url}/`, { headers: { cookie: session } });
  const pageToken = /name="_csrf" value="([^"]+)"/.exec(await home.text())![1]!;
  const pageCookie = home.headers.getSetCookie().find((c) => c.startsWith('factum_csrf='))!.split(';')[0]!;
  const created = await fetch(`${b.server.url}/console/databases`, {
    method: 'POST',
    body: `name=from-b&_csrf=${encodeURIComponent(pageToken)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${session}; ${pageCookie}` },
    redirect: 'manual',
  });
  expect(created.status).toBe(303);
  expect((await a.client.get('/databases/from-b', ADMIN)).status).toBe(200);
});
