/**
 * Multipart bodies busboy cannot read (no boundary, a form cut short, a part header of 100 KB)
 * are the client's: 400 on every upload route of the API and the console, not 500. And an
 * upload for a database that does not exist is 404 whatever its body, answered before the body
 * is read.
 */
import { describe, expect, it } from 'vitest';
import { multipartBody, multipartType } from '../fuzz/bodies.ts';
import { encodeRequest, jsonOf, postRaw, sendRaw } from '../fuzz/raw-http.ts';
import { expectReply, useServer } from '../fuzz/test-server.ts';
import { loadConsoleCsrf } from '../support/console-csrf.ts';

const server = useServer();

const API_UPLOADS = ['/databases/{db}/state-views', '/api/v1/db/{db}/state-views', '/databases/{db}/state-changes', '/api/v1/db/{db}/state-changes'];
const CONSOLE_UPLOADS = ['/databases/{db}/console/state-views', '/databases/{db}/console/state-changes'];

const MALFORMED: Array<[string, string, Buffer | string]> = [
  ['a multipart type without a boundary', 'multipart/form-data', multipartBody('b', [{ name: 'metadata', value: '{}' }])],
  ['a boundary that never comes', multipartType('b'), 'just some bytes'],
  ['a form cut short', multipartType('b'), '--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"st'],
  ['a 100 KB part header', multipartType('b'), multipartBody('b', [{ name: 'metadata', value: '{}', extraHeaders: [`X-Padding: ${'a'.repeat(100 * 1024)}`] }])],
  ['a part without Content-Disposition', multipartType('b'), '--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n'],
];

const upload = (target: string, contentType: string, body: Buffer | string) => postRaw(server.port, target, contentType, body);
const at = (template: string, db: string) => template.replace('{db}', db);

describe('a malformed multipart body', () => {
  it.each(MALFORMED)('is 400 in the error shape on each API upload route: %s', async (_case, contentType, body) => {
    for (const template of API_UPLOADS) {
      const reply = expectReply(await upload(at(template, 'fz'), contentType, body), 400);
      expect(jsonOf(reply)?.error, reply.text).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.any(String), details: expect.any(Object) });
    }
    expect((await server.ts.client.get('/databases/fz')).body).toMatchObject({ state_views: [], state_changes: [] });
  });

  it.each(MALFORMED)('is a 400 with the upload form again on the console: %s', async (_case, contentType, body) => {
    // As a browser sends it: with the page's CSRF cookie and token, so only the body is wrong.
    const csrf = await loadConsoleCsrf(server.ts.server.url);
    const headers: Array<[string, string]> = [['Cookie', csrf.cookie], ['X-CSRF-Token', csrf.token]];
    for (const template of CONSOLE_UPLOADS) {
      const reply = expectReply(await postRaw(server.port, at(template, 'fz'), contentType, body, headers), 400);
      expect(reply.headers['content-type']).toMatch(/^text\/html/);
      expect(reply.text).toContain('class="field-error"');
    }
  });
});

describe('an upload for a database that does not exist', () => {
  it.each(MALFORMED)('is 404 whatever the body: %s', async (_case, contentType, body) => {
    for (const template of [...API_UPLOADS, ...CONSOLE_UPLOADS]) {
      const reply = expectReply(await upload(at(template, 'nope'), contentType, body), 404);
      if (!template.includes('/console/')) expect(jsonOf(reply)?.error?.code, reply.text).toBe('NOT_FOUND');
    }
  });

  it('is answered before the body is sent, and the connection closes cleanly', async () => {
    for (const template of [...API_UPLOADS, ...CONSOLE_UPLOADS]) {
      // The head of a 64 MiB upload, of which only the first bytes ever come.
      const head = encodeRequest({ method: 'POST', target: at(template, 'nope'), headers: [['Content-Type', multipartType('b')], ['Content-Length', String(64 * 1024 * 1024)]] });
      const outcome = await sendRaw(server.port, Buffer.concat([head, Buffer.from('--b\r\nContent-Disposition: form-data; name="wasm"; filename="c.wasm"\r\n\r\n')]), { timeoutMs: 5_000 });
      expect(expectReply(outcome, 404).headers.connection).toBe('close');
    }
  });

  it('keeps the connection of a refusal with no body to wait for', async () => {
    const reply = await server.ts.client.post('/databases/nope/state-views', undefined, { 'content-type': multipartType('b') });
    expect(reply.status).toBe(404);
    expect(reply.headers.get('connection')).toBe('keep-alive');
  });
});
