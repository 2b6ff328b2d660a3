/**
 * JSON nested thousands of levels deep parses, but overflowed the stack in what came next (the
 * selector schema, the stored JSON of a group commit). Every JSON the server reads from a client
 * is now held to MAX_JSON_DEPTH: 400 INVALID_ARGUMENT naming the limit, nothing written, and the
 * other appends of the same moment unharmed.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/core/json-depth.ts';
import { formBody, multipartBody, multipartType, nestedArrays, nestedSelector } from '../fuzz/bodies.ts';
import { jsonOf, postRaw, type RawOutcome } from '../fuzz/raw-http.ts';
import { loadConsoleCsrf } from '../support/console-csrf.ts';
import { expectReply, useServer } from '../fuzz/test-server.ts';
import { cloudEvent } from '../support/http.ts';

// The file store: its group commit is where a deep event used to overflow the stack.
const server = useServer({ storage: 'file' });

const DEEP = 10_000;
/** Console forms go as a browser sends them: with the page's CSRF cookie and token. */
const post = async (target: string, contentType: string, body: string | Buffer) => {
  const csrf = target.includes('/console/') ? await loadConsoleCsrf(server.ts.server.url) : undefined;
  return postRaw(server.port, target, contentType, body, csrf ? [['Cookie', csrf.cookie], ['X-CSRF-Token', csrf.token]] : []);
};
const event = (data: string) => `{"specversion":"1.0","id":"deep-${Math.random()}","source":"s","type":"Deep","data":${data}}`;

function expectDepthRefusal(outcome: RawOutcome, field: string) {
  const reply = expectReply(outcome, 400);
  expect(jsonOf(reply)?.error, reply.text).toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining(`limit of ${MAX_JSON_DEPTH} levels`),
    details: { field, limit: MAX_JSON_DEPTH },
  });
}

describe('deeply nested JSON bodies', () => {
  it('refuses a query whose selector nests 10 000 ands', async () => {
    expectDepthRefusal(await post('/databases/fz/query', 'application/json', `{"selector":${nestedSelector(DEEP)}}`), '(body)');
  });

  it('refuses an event whose data is 10 000 nested arrays, in either media type, and writes nothing', async () => {
    expectDepthRefusal(await post('/databases/fz/events', 'application/json', `{"events":[${event(nestedArrays(DEEP))}]}`), '(body)');
    expectDepthRefusal(await post('/databases/fz/events', 'application/cloudevents-batch+json', `[${event(nestedArrays(DEEP))}]`), '(body)');
    expect((await server.ts.client.get('/databases/fz')).body).toMatchObject({ latest_revision: 0, event_count: 0 });
  });

  it('leaves the appends committed with it alone', async () => {
    const [deep, ...fine] = await Promise.all([
      post('/databases/fz/events', 'application/json', `{"events":[${event(nestedArrays(DEEP))}]}`),
      ...Array.from({ length: 5 }, () => server.ts.client.post('/databases/fz/events', { events: [cloudEvent()] })),
    ]);
    expectDepthRefusal(deep!, '(body)');
    expect(fine.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('takes JSON nested exactly to the limit, and refuses one level more', async () => {
    // The body, `events`, the event: three levels before the data's own.
    expectReply(await post('/databases/fz/events', 'application/json', `{"events":[${event(nestedArrays(MAX_JSON_DEPTH - 3))}]}`), 200);
    expectDepthRefusal(await post('/databases/fz/events', 'application/json', `{"events":[${event(nestedArrays(MAX_JSON_DEPTH - 2))}]}`), '(body)');
  });

  it('refuses a command nested 10 000 levels deep', async () => {
    expectDepthRefusal(await post('/databases/fz/state-changes/x/process', 'application/json', `{"command":${nestedArrays(DEEP)}}`), '(body)');
  });
});

describe('deeply nested JSON in uploads and forms', () => {
  it('refuses a metadata part nested 10 000 levels deep', async () => {
    const body = multipartBody('b', [
      { name: 'metadata', value: `{"state_view_name":"v","content_type":"application/json","query_temporality":"revision","event_selector":${nestedSelector(DEEP)}}` },
      { name: 'wasm', value: 'not wasm', filename: 'v.wasm' },
    ]);
    expectDepthRefusal(await post('/databases/fz/state-views', multipartType('b'), body), 'metadata');
  });

  it.each([
    ['the upload form’s event selector', '/databases/fz/console/state-views', 'Event selector', { state_view_name: 'v', content_type: 'application/json', query_temporality: 'revision', event_selector: nestedSelector(DEEP) }],
    ['the upload form’s state views', '/databases/fz/console/state-changes', 'State views read', { state_change_name: 'c', state_views: nestedArrays(DEEP) }],
  ])('refuses %s nested 10 000 levels deep, at the field', async (_case, target, label, fields) => {
    const body = multipartBody('b', [...Object.entries(fields).map(([name, value]) => ({ name, value })), { name: 'wasm', value: 'not wasm', filename: 'c.wasm' }]);
    expect(expectReply(await post(target, multipartType('b'), body), 400).text).toContain(`${label} nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`);
  });

  it.each([
    ['command', 'Command', { command: nestedArrays(DEEP) }],
    ['parameters', 'Parameters', { command: '{}', parameters: `{"a":${nestedArrays(DEEP)}}` }],
  ])('refuses a command form whose %s nests 10 000 levels deep', async (_case, label, fields) => {
    // A state change that does not exist: the form is checked before it is looked up.
    const reply = expectReply(await post('/databases/fz/console/state-changes/x/process', 'application/x-www-form-urlencoded', formBody(fields)), 400);
    expect(reply.text).toContain(`${label} nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`);
  });
});
