/**
 * /mcp as plain HTTP: what a client that is not the SDK may send. Every refusal is a 4xx with
 * a JSON-RPC error, never a 5xx; the server keeps no sessions, so GET and DELETE are 405.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { answerOf, connectMcp } from './mcp-client.ts';

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({ storage: 'memory', maxBodyBytes: String(64 * 1024) });
});
afterAll(() => ts?.stop());

const BOTH = 'application/json, text/event-stream';

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${ts.server.url}/mcp`, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: BOTH, ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as any) : undefined };
}

/** A JSON-RPC request, or without an id a notification. */
const rpc = (method: string, params: unknown, id?: number) => JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, params });

describe('POST /mcp', () => {
  it('answers JSON-RPC requests with JSON and no session, any request on its own', async () => {
    const init = await post(rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } }, 1));
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toMatch(/^application\/json/);
    expect(init.headers.get('mcp-session-id')).toBeNull();
    expect(init.body.result).toMatchObject({ serverInfo: { name: 'factum' }, capabilities: { tools: {} }, instructions: expect.stringMatching(/query_events/) });
    // Stateless: a tools/call needs no initialize before it on the same connection.
    const call = await post(rpc('tools/call', { name: 'list_databases', arguments: {} }, 2), { 'mcp-protocol-version': '2025-06-18' });
    expect(call.status).toBe(200);
    expect(call.body).toMatchObject({ jsonrpc: '2.0', id: 2, result: { structuredContent: { databases: [] } } });
    expect((await post(rpc('notifications/initialized', {}))).status).toBe(202);
  });

  it.each([
    ['a body that is not JSON', '{"jsonrpc": "2.0", "id": 1,', {}, 400, -32700],
    ['JSON that is not JSON-RPC', '{"hello": "world"}', {}, 400, -32700],
    ['a JSON null', 'null', {}, 400, -32700],
    ['another content type', rpc('tools/list', {}, 1), { 'content-type': 'text/plain' }, 415, -32000],
    ['an Accept without text/event-stream', rpc('tools/list', {}, 1), { accept: 'application/json' }, 406, -32000],
    ['a body over the size limit', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(70 * 1024) } }), {}, 413, -32000],
    ['an unsupported protocol version', rpc('tools/list', {}, 1), { 'mcp-protocol-version': '1999-01-01' }, 400, -32000],
  ])('refuses %s with a 4xx JSON-RPC error', async (_case, body, headers, status, code) => {
    const reply = await post(body, headers);
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code, message: expect.any(String) } });
  });

  it('answers an unknown method or tool as a JSON-RPC error of that request', async () => {
    const unknown = await post(rpc('resources/list', {}, 7));
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ id: 7, error: { code: -32601 } });
    const noTool = await post(rpc('tools/call', { name: 'nope', arguments: {} }, 8));
    expect(noTool.body).toMatchObject({ id: 8, error: { code: -32602, message: expect.stringMatching(/nope/) } });
  });

  it('keeps serving the SDK client after all that', async () => {
    const client = await connectMcp(ts.server.url);
    try {
      expect((await answerOf(client, 'list_databases')).databases).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('GET and DELETE /mcp', () => {
  it.each(['GET', 'DELETE'])('answers %s with 405, as a server without sessions', async (method) => {
    const res = await fetch(`${ts.server.url}/mcp`, { method, headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
  });
});
