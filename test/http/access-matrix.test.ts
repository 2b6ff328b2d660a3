/**
 * Who may call what, for every operation of openapi.yaml: the list of operations is read from
 * the document the server serves, so a new route is in this matrix the day it is added. For each
 * operation that needs a permission: no key, an unknown key, a revoked key and an expired key are
 * 401; a key for another database and a key without the permission are 403; the right key gets
 * past the check (whatever the route then says of the request itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../src/core/access.ts';
import { operations, type OperationValidators } from '../../src/schema/openapi.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const ADMIN_KEY = 'factum_matrix-admin-key-0123456789abcdef';
const TARGET = 'alpha';
const OTHER = 'beta';

/** A value for each path parameter the document uses; the route may refuse it, the check may not. */
const PATH_VALUES: Record<string, string> = {
  database: TARGET,
  name: 'some-view',
  revision: '1',
  version: '1',
  consumer: 'some-consumer',
  key_id: 'ffffffffffffffff',
  attribute: 'stream',
};

interface Sent {
  status: number;
  code?: string;
  authenticate?: string | null;
}

describe('the access matrix of every operation', () => {
  let ts: TestServer;
  const keys: Record<string, string> = {};

  const send = async (op: OperationValidators, key: string | undefined): Promise<Sent> => {
    const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = PATH_VALUES[name];
      if (value === undefined) throw new Error(`no test value for the path parameter ${name} of ${op.operationId}: add one`);
      return encodeURIComponent(value);
    });
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const mediaType = [...op.body.keys()][0];
    let body: string | undefined;
    if (mediaType === 'multipart/form-data') {
      headers['content-type'] = 'multipart/form-data; boundary=x';
      body = '--x--\r\n';
    } else if (mediaType !== undefined) {
      headers['content-type'] = mediaType;
      body = mediaType.includes('json') ? '{}' : '';
    }
    const controller = new AbortController();
    const res = await fetch(ts.server.url + path, { method: op.method, headers, body, signal: controller.signal, redirect: 'manual' });
    // Streams (subscriptions) answer their status at once and never end: read no further.
    const text = (res.headers.get('content-type') ?? '').includes('json') ? await res.text() : '';
    controller.abort();
    let code: string | undefined;
    try {
      // MCP answers in JSON-RPC's shape, with the API's code in error.data.
      const error = (JSON.parse(text) as { error?: { code?: unknown; data?: { code?: string } } }).error;
      code = typeof error?.code === 'string' ? error.code : error?.data?.code;
    } catch {
      code = undefined;
    }
    return { status: res.status, code, authenticate: res.headers.get('www-authenticate') };
  };

  const createKey = async (name: string, databases: string[], permissions: Permission[], expiresAt?: string) => {
    const reply = await ts.client.post('/keys', { name, databases, permissions, ...(expiresAt ? { expires_at: expiresAt } : {}) }, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(reply.status, reply.text).toBe(201);
    return reply.body as { key: { id: string }; secret: string };
  };

  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    for (const name of [TARGET, OTHER]) expect((await ts.client.post('/databases', { name }, admin)).status).toBe(201);
    for (const permission of PERMISSIONS) {
      keys[`only:${permission}`] = (await createKey(`only ${permission}`, [TARGET], [permission])).secret;
      keys[`all-but:${permission}`] = (await createKey(`all but ${permission}`, [TARGET], PERMISSIONS.filter((p) => p !== permission && p !== 'admin'))).secret;
      keys[`everywhere:${permission}`] = (await createKey(`everywhere ${permission}`, ['*'], [permission])).secret;
    }
    keys.other = (await createKey('another database', [OTHER], ['read', 'write', 'deploy', 'admin', 'metrics'])).secret;
    const revoked = await createKey('revoked', ['*'], ['admin']);
    expect((await ts.client.delete(`/keys/${revoked.key.id}`, admin)).status).toBe(204);
    keys.revoked = revoked.secret;
    keys.expiring = (await createKey('expiring', ['*'], ['admin'], new Date(Date.now() + 60_000).toISOString())).secret;
  });
  afterAll(() => ts?.stop());

  const guarded = [...operations.values()].filter((op) => op.requirement !== 'public');
  const open = [...operations.values()].filter((op) => op.requirement === 'public');

  it('covers every operation, each saying what it needs', () => {
    expect(guarded.length + open.length).toBe(operations.size);
    expect(guarded.length).toBeGreaterThan(40);
    expect(open.map((op) => op.operationId).sort()).toEqual(['health', 'llmsTxt', 'onboard', 'openapiDocument']);
  });

  it.each(guarded.map((op) => [op.operationId, op] as const))('%s: 401 without a valid key', async (_id, op) => {
    for (const [what, key] of [['no key', undefined], ['an unknown key', 'factum_not-a-key-anyone-made-000000000000'], ['a revoked key', keys.revoked]] as const) {
      const sent = await send(op, key);
      expect({ what, status: sent.status, code: sent.code }).toEqual({ what, status: 401, code: 'UNAUTHENTICATED' });
      expect(sent.authenticate).toMatch(/^Bearer/);
    }
  });

  it('401 for an expired key, on every operation', async () => {
    const realNow = ts.server.ctx.now;
    ts.server.ctx.now = () => new Date(Date.now() + 120_000);
    try {
      for (const op of guarded) {
        const sent = await send(op, keys.expiring);
        expect({ op: op.operationId, status: sent.status, code: sent.code }).toEqual({ op: op.operationId, status: 401, code: 'UNAUTHENTICATED' });
      }
    } finally {
      ts.server.ctx.now = realNow;
    }
  });

  it.each(guarded.map((op) => [op.operationId, op] as const))('%s: 403 for a key of another database or without the permission', async (_id, op) => {
    const permission = op.requirement as Permission;
    if (op.database !== 'none') {
      const sent = await send(op, keys.other);
      expect({ what: 'another database', status: sent.status, code: sent.code }).toEqual({ what: 'another database', status: 403, code: 'PERMISSION_DENIED' });
    }
    const without = await send(op, keys[`all-but:${permission}`]);
    expect({ what: `no ${permission}`, status: without.status, code: without.code }).toEqual({ what: `no ${permission}`, status: 403, code: 'PERMISSION_DENIED' });
  });

  it.each(guarded.map((op) => [op.operationId, op] as const))('%s: the right key gets past the check', async (_id, op) => {
    const permission = op.requirement as Permission;
    const key = op.database === '*' ? keys[`everywhere:${permission}`] : keys[`only:${permission}`];
    const sent = await send(op, key);
    expect([401, 403], `${op.method} ${op.path} answered ${sent.status} ${sent.code ?? ''}`).not.toContain(sent.status);
  });

  it.each(open.filter((op) => op.operationId !== 'onboard').map((op) => [op.operationId, op] as const))('%s: answers without a key, and ignores a bad one', async (_id, op) => {
    expect((await send(op, undefined)).status).toBe(200);
    expect((await send(op, 'factum_stale-key-of-a-health-check-000000000')).status).toBe(200);
  });
});
