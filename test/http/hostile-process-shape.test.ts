/**
 * The process route answers in one shape. Business rejections were `{"success": false, "error"}`
 * but the server's own refusals a bare `{"error"}`, so a client branching on `success` read
 * undefined. Now every error answer carries `success: false` beside the standard `error`,
 * whatever refused the command and wherever (the body parser, the path, the use case, a view).
 */
import { describe, expect, it } from 'vitest';
import { nestedArrays } from '../fuzz/bodies.ts';
import { jsonOf, sendRaw } from '../fuzz/raw-http.ts';
import { errorTable } from '../fuzz/routes.ts';
import { createOrder, loadSeedComponents, publish, SEEDED_CHANGE, seedShop } from '../fuzz/seed.ts';
import { expectReply, useServer } from '../fuzz/test-server.ts';
import type { TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';

const server = useServer({ maxBodyBytes: '65536', componentTimeoutMs: '3000' }, async (ts: TestServer) => {
  const components = { ...(await loadSeedComponents()), ...(await loadComponents('misbehaving-view')) };
  await seedShop(ts.client, 'shop', components);
  // A state change whose view fails when the command says so.
  await publish(ts.client, 'shop', 'state-views', { state_view_name: 'misbehaving', content_type: 'application/json', event_selector: { event_type: 'Tick' }, query_temporality: 'revision', parameters: ['mode'] }, components['misbehaving-view']);
  await publish(ts.client, 'shop', 'state-changes', { state_change_name: 'fragile', state_views: [{ name: 'misbehaving', parameters: { mode: '{mode}' } }] }, components['process-order']);
}, BUILD_TIMEOUT_MS);

const PROCESS = `/databases/shop/state-changes/${SEEDED_CHANGE}/process`;
const codes = errorTable();

const JSON_TYPE: Array<[string, string]> = [['Content-Type', 'application/json']];

type Case = [label: string, target: string, headers: Array<[string, string]>, body: string, status: number, code: string];

describe('every error answer of the process route', () => {
  it.each<Case>([
    ['no such database', '/databases/nope/state-changes/process-order/process', JSON_TYPE, '{"command":{}}', 404, 'NOT_FOUND'],
    ['no such state change', '/databases/shop/state-changes/nope/process', JSON_TYPE, '{"command":{}}', 404, 'NOT_FOUND'],
    ['no command', PROCESS, JSON_TYPE, '{}', 400, 'INVALID_ARGUMENT'],
    ['a body that is not JSON', PROCESS, JSON_TYPE, '{"command":', 400, 'INVALID_ARGUMENT'],
    ['another media type', PROCESS, [['Content-Type', 'text/plain']], '{"command":{}}', 400, 'INVALID_ARGUMENT'],
    ['a bad dry_run', `${PROCESS}?dry_run=maybe`, JSON_TYPE, '{"command":{}}', 400, 'INVALID_ARGUMENT'],
    ['a path that does not decode', '/databases/shop/state-changes/%ff/process', JSON_TYPE, '{"command":{}}', 400, 'INVALID_ARGUMENT'],
    ['a command nested too deep', PROCESS, JSON_TYPE, `{"command":${nestedArrays(10_000)}}`, 400, 'INVALID_ARGUMENT'],
    ['a body over the size limit', PROCESS, JSON_TYPE, `{"command":"${'x'.repeat(70_000)}"}`, 413, 'PAYLOAD_TOO_LARGE'],
    ['a Content-Encoding it cannot decode', PROCESS, [...JSON_TYPE, ['Content-Encoding', 'gzip']], '{"command":{}}', 400, 'INVALID_ARGUMENT'],
    ['a command without the parameter its view needs', PROCESS, JSON_TYPE, JSON.stringify({ command: { ...createOrder('o-1'), customer_id: undefined } }), 400, 'INVALID_ARGUMENT'],
    ['a view parameter over its length', PROCESS, JSON_TYPE, JSON.stringify({ command: createOrder('o-1'), parameters: { customer_id: 'c'.repeat(2000) } }), 400, 'INVALID_ARGUMENT'],
    ['a view that fails', '/databases/shop/state-changes/fragile/process', JSON_TYPE, JSON.stringify({ command: { mode: 'throw' } }), 500, 'INTERNAL'],
  ])('says success: false beside the standard error: %s', async (_case, target, headers, body, status, code) => {
    const reply = expectReply(await sendRaw(server.port, { method: 'POST', target, headers, body }), status);
    expect(jsonOf(reply), reply.text).toEqual({ success: false, error: { code, message: expect.any(String), details: expect.any(Object) } });
    expect(codes.get(code)).toBe(status);
  });

  it('keeps the shape of a business rejection, with the component’s own code', async () => {
    const reply = await server.ts.client.post(PROCESS, { command: { ...createOrder('o-2'), customer_id: 'c-unknown' } });
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ success: false, error: { code: 'UNKNOWN_CUSTOMER', message: expect.any(String), details: expect.any(Object) } });
  });

  it('says success: true when the command went through', async () => {
    const reply = await server.ts.client.post(PROCESS, { command: createOrder('o-3') });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ success: true, revision: 2 });
  });
});
