/**
 * Content-Encoding a body does not live up to, or that the route does not decode: 400 in the
 * error shape naming the header, never a 500. JSON bodies may be gzip, deflate or br; multipart
 * uploads are read as sent, so a compressed one is refused rather than parsed as its bytes.
 */
import { describe, expect, it } from 'vitest';
import { encodeBody, formBody, multipartBody, multipartType } from '../fuzz/bodies.ts';
import { jsonOf, postRaw, type RawOutcome } from '../fuzz/raw-http.ts';
import { expectReply, useServer } from '../fuzz/test-server.ts';

const server = useServer();

const send = (target: string, contentType: string, encoding: string, body: Buffer | string) => postRaw(server.port, target, contentType, body, [['Content-Encoding', encoding]]);

/** The refusal's error, checked to be a 400 in the error shape about the Content-Encoding header. */
function encodingRefusal(outcome: RawOutcome) {
  const reply = expectReply(outcome, 400);
  const error = jsonOf(reply)?.error;
  expect(error, reply.text).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('Content-Encoding'), details: { field: 'content-encoding' } });
  return error;
}

const QUERY = JSON.stringify({ selectors: [{ subject: 'x' }] });

describe('a JSON body whose Content-Encoding does not hold', () => {
  it.each(['gzip', 'deflate', 'br'])('is 400 when it is not %s at all, or cut short', async (encoding) => {
    encodingRefusal(await send('/databases/fz/query', 'application/json', encoding, 'not gzip'));
    const whole = encodeBody(encoding as 'gzip', QUERY);
    encodingRefusal(await send('/databases/fz/query', 'application/json', encoding, whole.subarray(0, whole.length - 4)));
    // The same encoding, done right, is read.
    expectReply(await send('/databases/fz/query', 'application/json', encoding, whole), 200);
  });

  it.each(['bogus', 'zstd-ish', 'gzip, br', 'x-gzip'])('is 400 naming the accepted codings for an unknown one (%s)', async (encoding) => {
    for (const target of ['/databases/fz/query', '/databases/fz/events', '/databases/fz/state-changes/x/process']) {
      const error = encodingRefusal(await send(target, 'application/json', encoding, QUERY));
      expect(error.details).toMatchObject({ value: encoding, accepted: ['identity', 'gzip', 'deflate', 'br'] });
    }
  });
});

describe('a compressed multipart upload', () => {
  const upload = multipartBody('b', [{ name: 'metadata', value: '{"state_change_name":"x"}' }, { name: 'wasm', value: 'not wasm', filename: 'c.wasm' }]);

  it.each(['/databases/fz/state-views', '/api/v1/db/fz/state-views', '/databases/fz/state-changes', '/api/v1/db/fz/state-changes'])('is 400 on %s, compressed or not', async (target) => {
    for (const encoding of ['gzip', 'deflate', 'br', 'bogus']) {
      for (const body of [upload, encodeBody('gzip', upload)]) {
        const error = encodingRefusal(await send(target, multipartType('b'), encoding, body));
        expect(error.details).toMatchObject({ value: encoding, accepted: ['identity'] });
      }
    }
  });

  it('is refused by the console’s upload forms with the form shown again', async () => {
    for (const target of ['/databases/fz/console/state-views', '/databases/fz/console/state-changes']) {
      const reply = expectReply(await send(target, multipartType('b'), 'gzip', encodeBody('gzip', upload)), 400);
      expect(reply.headers['content-type']).toMatch(/^text\/html/);
      expect(reply.text).toContain('Content-Encoding &quot;gzip&quot; is not supported here');
    }
  });
});

describe('a console form whose Content-Encoding does not hold', () => {
  it('is a 400 page, not a 500', async () => {
    for (const encoding of ['gzip', 'bogus']) {
      const reply = expectReply(await send('/console/databases', 'application/x-www-form-urlencoded', encoding, formBody({ name: 'x' })), 400);
      expect(reply.headers['content-type']).toMatch(/^text\/html/);
    }
  });
});
