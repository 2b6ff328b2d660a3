/**
 * A path whose percent-encoding does not decode (`%ff%fe`, an overlong `%c0%ae`, a sequence cut
 * short) is the client's mistake: 400 in the error shape on every API route, a 400 page on every
 * console route, whichever path parameter it is in. Every route the app has is tried, sent raw
 * so nothing normalises the path on the way.
 */
import { describe, expect, it } from 'vitest';
import { describeOutcome, jsonOf, sendRaw } from '../fuzz/raw-http.ts';
import { consoleRoutes, fillPath, routedOperations } from '../fuzz/routes.ts';
import { useServer } from '../fuzz/test-server.ts';

const MALFORMED = ['%ff%fe', '%c0%ae%c0%ae', '%e2%82', '%ff'];
/** Values that are valid wherever they go, so the malformed one is what gets refused. */
const VALID: Record<string, string> = { database: 'fz', name: 'v', revision: '1', attribute: 'subject', version: '1', consumer: 'c' };

const server = useServer();

/** Each path of `template` with one parameter malformed, the others valid. */
function malformedPaths(template: string, params: string[]): string[] {
  return params.flatMap((param) => MALFORMED.map((bad) => fillPath(template, { ...VALID, [param]: bad })));
}

describe('a path that does not decode', () => {
  it('is 400 INVALID_ARGUMENT in the error shape on every API route', async () => {
    const wrong: string[] = [];
    for (const op of routedOperations(server.ts.server.ctx)) {
      for (const target of malformedPaths(op.template, op.pathParams)) {
        const outcome = await sendRaw(server.port, { method: op.method, target, headers: [['Content-Type', 'application/json']], body: '{}' });
        const body = outcome.kind === 'reply' ? jsonOf(outcome.reply) : undefined;
        const ok = outcome.kind === 'reply' && outcome.reply.status === 400 && !outcome.resetAfter && body?.error?.code === 'INVALID_ARGUMENT' && typeof body.error.message === 'string';
        if (!ok) wrong.push(`${op.method} ${target} → ${describeOutcome(outcome)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('is a 400 page on every console route', async () => {
    const wrong: string[] = [];
    for (const route of consoleRoutes(server.ts.server.ctx)) {
      for (const target of malformedPaths(route.path, route.pathParams)) {
        const outcome = await sendRaw(server.port, { method: route.method, target, headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'a=b' });
        const ok = outcome.kind === 'reply' && outcome.reply.status === 400 && !outcome.resetAfter && /^text\/html/.test(outcome.reply.headers['content-type'] ?? '') && outcome.reply.text.startsWith('<!doctype html>');
        if (!ok) wrong.push(`${route.method} ${target} → ${describeOutcome(outcome)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
