/**
 * Requests Node's HTTP parser refuses never reach a route. They used to get an empty body, and a
 * 70 KB header a reset after its 431. Now each gets the error shape, a fitting status and
 * `Connection: close`, and the connection closes cleanly, however much the client still sends.
 */
import { describe, expect, it } from 'vitest';
import { jsonOf, sendRaw, type RawOutcome } from '../fuzz/raw-http.ts';
import { expectReply, useServer } from '../fuzz/test-server.ts';

const server = useServer({}, async () => undefined);

/** Sends `text` as it is, byte for byte. */
const raw = (text: string) => sendRaw(server.port, Buffer.from(text, 'latin1'));

function expectRefusal(outcome: RawOutcome, status: number, code: string) {
  const reply = expectReply(outcome, status);
  expect(reply.headers.connection).toBe('close');
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(jsonOf(reply), reply.text).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
}

describe('requests the HTTP parser refuses', () => {
  it.each([
    ['a space in the request target', 'GET /data bases HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a NUL byte in the request target', 'GET /databases\0 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a NUL byte in a header', 'GET /databases HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n'],
    ['two Content-Length headers', 'POST /databases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
    ['an invalid chunk size', 'POST /databases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['an invalid method', 'G@T /databases HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /databases HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n{}'],
    ['a request line without a version (HTTP/0.9)', 'GET /databases\r\n\r\n'],
    ['the HTTP/2 preface method without a version', 'PRI /databases/x\r\nHost: a\r\nHost: b\r\n\r\n'],
  ])('answers %s with 400 in the error shape', async (_case, request) => {
    expectRefusal(await raw(request), 400, 'INVALID_ARGUMENT');
  });

  it('answers an Expect it cannot meet with 417 in the error shape', async () => {
    const outcome = await raw('POST /databases HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"name":"exp"}');
    expectRefusal(outcome, 417, 'INVALID_ARGUMENT');
    // Nothing behind the refusal ran.
    expect((await server.ts.client.get('/databases/exp')).status).toBe(404);
  });

  it.each([20, 70, 500])('answers a %i KB header with 431, and closes without a reset', async (kb) => {
    for (let i = 0; i < 10; i++) {
      expectRefusal(await raw(`GET /databases HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(kb * 1024)}\r\n\r\n`), 431, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('still serves the next request', async () => {
    expect((await server.ts.client.get('/health')).text).toBe('OK');
  });
});
