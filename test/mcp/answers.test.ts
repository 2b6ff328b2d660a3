/**
 * Answers that the sessions in tools.test.ts do not reach: renders of every kind of content
 * and over the bound, abridged command answers, and a server fault, which is logged and
 * answered without its own message.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { MAX_ANSWER_BYTES } from '../../src/http/mcp/answers.ts';
import { MAX_RENDER_BYTES, processedAnswer, renderedAnswer } from '../../src/http/mcp/bounded-answers.ts';
import type { FactumContext } from '../../src/usecases/context.ts';
import type { RenderResult } from '../../src/usecases/state-views.ts';
import { connectMcp, errorOf } from './mcp-client.ts';

const rendered = (contentType: string, content: Uint8Array): RenderResult => ({
  name: 'v',
  version: 3,
  revision: 7,
  etag: '"e"',
  evolvedEvents: 0,
  notModified: false,
  contentType,
  content,
});
const bytes = (text: string) => new TextEncoder().encode(text);

describe('a rendered view as an answer', () => {
  it.each([
    ['JSON as its value', 'application/json', bytes('{"a":[1,2]}'), { a: [1, 2] }],
    ['a +json type as its value', 'application/vnd.factum+json; charset=utf-8', bytes('[true]'), [true]],
    ['JSON that is not as its text', 'application/json', bytes('{oops'), '{oops'],
    ['HTML as text', 'text/html', bytes('<p>hé</p>'), '<p>hé</p>'],
  ])('gives %s', (_case, contentType, content, expected) => {
    expect(renderedAnswer('db', rendered(contentType, content))).toEqual({ name: 'v', version: 3, revision: 7, content_type: contentType, content: expected });
  });

  it('gives binary content, and text that is not UTF-8, in base64', () => {
    expect(renderedAnswer('db', rendered('image/png', new Uint8Array([137, 80, 78, 71])))).toMatchObject({ content: 'iVBORw==', content_encoding: 'base64' });
    expect(renderedAnswer('db', rendered('text/plain', new Uint8Array([0xff, 0xfe])))).toMatchObject({ content: '//4=', content_encoding: 'base64' });
  });

  it('refuses content over its bound, pointing to the HTTP route', () => {
    expect(() => renderedAnswer('db', rendered('text/plain', new Uint8Array(MAX_RENDER_BYTES + 1)))).toThrow(
      expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: expect.stringContaining('GET /databases/db/state-views/v') }),
    );
  });
});

describe('a processed command as an answer', () => {
  const event = (revision: number, data: unknown) => ({ specversion: '1.0' as const, id: `e-${revision}`, source: 's', type: 'T', subject: 'x', data, revision, recordedtime: '2026-01-01T00:00:00Z' });

  it('is the API answer, and past the answer bound lists its stored events by their keys instead of failing', () => {
    expect(processedAnswer({ success: true, events: [event(1, 1)], revision: 1, attempts: 2 })).toEqual({ success: true, events: [event(1, 1)], revision: 1 });
    const big = 'x'.repeat(MAX_ANSWER_BYTES);
    expect(processedAnswer({ success: true, events: [event(1, big), event(2, big)], revision: 2, attempts: 1 })).toEqual({
      success: true,
      revision: 2,
      events: [
        { revision: 1, source: 's', id: 'e-1', type: 'T', subject: 'x' },
        { revision: 2, source: 's', id: 'e-2', type: 'T', subject: 'x' },
      ],
      events_abridged: true,
    });
  });
});

describe('a server fault in a tool', () => {
  const logged: Array<{ level: number; msg: string; err?: { message: string } }> = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // A store with no server records (so no keys) whose database list fails.
    const store = { listDatabases: () => Promise.reject(new Error('disk on fire')), getRecord: () => Promise.resolve(undefined) };
    const ctx = { store, components: {}, now: () => new Date() } as unknown as FactumContext;
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    server = createServer(createApp(ctx, { logger, version: 'test', maxBodyBytes: 1 << 20, maxComponentBytes: 1 << 20 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

  it('is logged with the error, and answered INTERNAL without its own message', async () => {
    const client = await connectMcp(url);
    try {
      expect(await errorOf(client, 'list_databases')).toEqual({ code: 'INTERNAL', message: 'internal server error', details: {} });
    } finally {
      await client.close();
    }
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, msg: 'unexpected error', err: expect.objectContaining({ message: 'disk on fire' }) }));
  });
});
