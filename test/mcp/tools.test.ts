/**
 * The MCP tools through the SDK's own client against a real server: what tools/list shows,
 * and sessions that create, append, query, render and process, as an agent would.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents, TRANSPILED_DIR } from '../wasm/components.ts';
import { answerOf, callTool, connectMcp, errorOf } from './mcp-client.ts';

let components: Record<'order-summary' | 'customer-profile' | 'process-order', Uint8Array>;
let ts: TestServer;
let api: TestClient;
let mcp: Client;

beforeAll(async () => {
  components = await loadComponents('order-summary', 'customer-profile', 'process-order');
  // Transpiled components are kept between runs, so no test waits for jco.
  ts = await startTestServer({ storage: 'file', componentCacheDir: TRANSPILED_DIR });
  api = ts.client;
  mcp = await connectMcp(ts.server.url);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await mcp?.close();
  await ts?.stop();
});

let dbSeq = 0;
async function newDatabase(): Promise<string> {
  const name = `mcp-${++dbSeq}`;
  expect((await answerOf(mcp, 'create_database', { name })).database).toMatchObject({ name, latest_revision: 0 });
  return name;
}

/** Publishes a component the way users do: the HTTP API's multipart upload. */
async function publish(db: string, kind: 'state-views' | 'state-changes', metadata: unknown, wasm: Uint8Array): Promise<void> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }), 'component.wasm');
  const res = await fetch(`${api.baseUrl}/databases/${db}/${kind}`, { method: 'POST', body: form });
  expect(res.status, await res.clone().text()).toBe(201);
}

const order = (type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  cloudEvent({ source: 'shop', type, subject: String(data.orderId), datacontenttype: 'application/json', data, ...extra });

describe('tools/list', () => {
  it('lists every tool with a name, a description and a self-contained JSON Schema built from openapi.yaml', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['append_events', 'create_database', 'describe_database', 'list_databases', 'list_state_changes', 'list_state_views', 'process_command', 'query_events', 'render_state_view'].sort(),
    );
    const addFormats = (addFormatsModule as unknown as { default?: (a: Ajv2020) => void }).default ?? (addFormatsModule as unknown as (a: Ajv2020) => void);
    for (const tool of tools) {
      expect(tool.description, tool.name).toMatch(/\w{3,}/);
      expect(tool.inputSchema.type).toBe('object');
      // Every reference points into the schema itself: a client needs nothing else to use it.
      const refs = JSON.stringify(tool.inputSchema).match(/"\$ref":"[^"]*"/g) ?? [];
      for (const ref of refs) expect(ref, tool.name).toMatch(/^"\$ref":"#\/\$defs\/\w+"$/);
      // A fresh JSON Schema 2020-12 validator compiles it (no unknown keyword, no missing $ref).
      const ajv = new Ajv2020({ logger: false });
      addFormats(ajv);
      expect(() => ajv.compile(tool.inputSchema), tool.name).not.toThrow();
    }
    const query = tools.find((t) => t.name === 'query_events')!.inputSchema as any;
    expect(query.required).toEqual(['database']);
    expect(Object.keys(query.properties).sort()).toEqual(['cursor', 'database', 'direction', 'effective_time_range', 'limit', 'revision_range', 'selector', 'selectors']);
    expect(query.$defs.Selector.description).toMatch(/field form/);
    expect(query.$defs.CompositeSelector.properties.selectors.items).toEqual({ $ref: '#/$defs/Selector' });
    const processing = tools.find((t) => t.name === 'process_command')!.inputSchema as any;
    expect(processing.required.sort()).toEqual(['command', 'database', 'name']);
    expect(processing.properties.dry_run).toMatchObject({ type: 'boolean', default: false });
    const render = tools.find((t) => t.name === 'render_state_view')!;
    expect(render.annotations).toMatchObject({ readOnlyHint: true });
    expect(Object.keys((render.inputSchema as any).properties).sort()).toEqual(['database', 'effective_time', 'name', 'parameters', 'revision', 'version']);
  });
});

describe('events', () => {
  it('creates a database, appends with constraints, refuses a failing one and pages a selector query with its cursor', async () => {
    const db = await newDatabase();
    expect((await answerOf(mcp, 'list_databases')).databases.map((d: { name: string }) => d.name)).toContain(db);
    const unique = { type: 'max_revision', revision: 0, selector: { subject: 'o-1' } };
    const first = await answerOf(mcp, 'append_events', {
      database: db,
      events: [order('OrderCreated', { orderId: 'o-1', total: 10 }), order('OrderPaid', { orderId: 'o-1' })],
      constraints: [unique],
    });
    expect(first).toEqual({ revision: 2, events_count: 2 });
    await answerOf(mcp, 'append_events', { database: db, events: [order('OrderCreated', { orderId: 'o-2', total: 5 })] });

    // o-1 exists now: the same constraint fails, naming the event that broke it, and writes nothing.
    const failed = await errorOf(mcp, 'append_events', { database: db, events: [order('OrderCreated', { orderId: 'o-1', total: 99 })], constraints: [unique] });
    expect(failed.code).toBe('FAILED_PRECONDITION');
    expect(failed.details.violations[0]).toMatchObject({ index: 0, actual_revision: 2, first_breaking_event: { revision: 1, type: 'OrderCreated', subject: 'o-1' } });
    // "Nothing about o-1 changed since revision 2": o-2's event at 3 does not break it.
    expect(await answerOf(mcp, 'append_events', { database: db, events: [order('OrderShipped', { orderId: 'o-1' })], constraints: [{ type: 'max_revision', revision: 2, selector: { subject: 'o-1' } }] })).toEqual({
      revision: 4,
      events_count: 1,
    });
    expect(await answerOf(mcp, 'describe_database', { database: db })).toMatchObject({ name: db, latest_revision: 4, event_count: 4, state_views: [], state_changes: [] });

    const query = { database: db, selectors: [{ stream: 'shop', subject: 'o-1' }], limit: 2 };
    const page1 = await answerOf(mcp, 'query_events', query);
    expect(page1.events.map((e: { revision: number; type: string }) => [e.revision, e.type])).toEqual([
      [1, 'OrderCreated'],
      [2, 'OrderPaid'],
    ]);
    expect(page1).toMatchObject({ has_more: true, next_cursor: expect.any(String), revision: 4 });
    expect(page1.events[0]).toMatchObject({ specversion: '1.0', source: 'shop', subject: 'o-1', data: { orderId: 'o-1', total: 10 }, recordedtime: expect.any(String) });
    // Appends after the first page do not move the pages after it.
    await answerOf(mcp, 'append_events', { database: db, events: [order('OrderCancelled', { orderId: 'o-1' })] });
    const page2 = await answerOf(mcp, 'query_events', { ...query, cursor: page1.next_cursor });
    expect(page2.events.map((e: { revision: number }) => e.revision)).toEqual([4]);
    expect(page2).toMatchObject({ has_more: false, next_cursor: null, revision: 4 });

    const backward = await answerOf(mcp, 'query_events', { database: db, selector: { type: 'equals', attr: { event_type: 'OrderCreated' } }, revision_range: { start: 1, end: 4 }, direction: 'backward' });
    expect(backward.events.map((e: { revision: number }) => e.revision)).toEqual([3, 1]);
    const wrongCursor = await errorOf(mcp, 'query_events', { database: db, cursor: page1.next_cursor });
    expect(wrongCursor).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'cursor' } });
  });

  it('keeps a page within its byte bound and lowers a limit over its event bound; the cursor goes on after the last event given', async () => {
    const db = await newDatabase();
    const big = 'x'.repeat(100 * 1024);
    await answerOf(mcp, 'append_events', { database: db, events: Array.from({ length: 5 }, (_, i) => cloudEvent({ subject: `big-${i}`, data: { big } })) });
    const revisions: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = await answerOf(mcp, 'query_events', { database: db, limit: 10, ...(cursor ? { cursor } : {}) });
      revisions.push(page.events.map((e: { revision: number }) => e.revision));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    // 256 KiB a page: two events of 100 KiB, never half an event.
    expect(revisions).toEqual([[1, 2], [3, 4], [5]]);

    const many = await newDatabase();
    await answerOf(mcp, 'append_events', { database: many, events: Array.from({ length: 150 }, () => cloudEvent()) });
    const page = await answerOf(mcp, 'query_events', { database: many, limit: 1000 });
    expect(page.events).toHaveLength(100);
    expect(page.has_more).toBe(true);
    const rest = await answerOf(mcp, 'query_events', { database: many, limit: 1000, cursor: page.next_cursor });
    expect(rest.events.map((e: { revision: number }) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
  });

  it('answers bad arguments and failures of the use cases as error results, and an unknown tool as a protocol error', async () => {
    const db = await newDatabase();
    expect(await errorOf(mcp, 'describe_database', {})).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'database' } });
    expect(await errorOf(mcp, 'describe_database', { database: 'Not A Name' })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'database', reason: 'pattern' } });
    expect(await errorOf(mcp, 'describe_database', { database: 'nowhere' })).toMatchObject({ code: 'NOT_FOUND', details: { database: 'nowhere' } });
    expect(await errorOf(mcp, 'list_state_views', { database: db, extra: 1 })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'extra' } });
    expect(await errorOf(mcp, 'query_events', { database: db, constructor: 1 })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'constructor' } });
    expect(await errorOf(mcp, 'create_database', { name: db })).toMatchObject({ code: 'ALREADY_EXISTS' });
    // The rules are openapi.yaml's, field paths and all.
    expect(await errorOf(mcp, 'append_events', { database: db, events: [{ ...cloudEvent(), specversion: '0.3' }] })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'events[0].specversion', index: 0 } });
    expect((await errorOf(mcp, 'query_events', { database: db, selectors: [{ type: 'OrderCreated' }] })).message).toMatch(/event_type/);
    expect(await errorOf(mcp, 'query_events', { database: db, limit: 0 })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'limit' } });
    expect(await errorOf(mcp, 'render_state_view', { database: db, name: 'nothing', revision: -1 })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'revision' } });
    expect(await errorOf(mcp, 'render_state_view', { database: db, name: 'nothing', parameters: { 'bad name': 'x' } })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'parameters' } });
    expect(await errorOf(mcp, 'process_command', { database: db, name: 'nothing', command: {}, dry_run: 'maybe' })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'dry_run' } });
    await expect(mcp.callTool({ name: 'drop_everything', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });
});

describe('state views and state changes', () => {
  const orderSelector = { type: 'or', selectors: ['OrderCreated', 'OrderCompleted', 'OrderCancelled'].map((t) => ({ type: 'equals', attr: { event_type: t } })) };

  it('lists and renders a view published over HTTP: at the latest revision, at an earlier one, and with parameters', async () => {
    const db = await newDatabase();
    await publish(db, 'state-views', { state_view_name: 'order-summary', content_type: 'application/json', event_selector: orderSelector, query_temporality: 'revision' }, components['order-summary']);
    await publish(db, 'state-views', { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
    await answerOf(mcp, 'append_events', { database: db, events: [order('OrderCreated', { orderId: 'o-1', total: 100 }), order('OrderCreated', { orderId: 'o-2', total: 50.25 })] });
    await answerOf(mcp, 'append_events', { database: db, events: [order('OrderCompleted', { orderId: 'o-1' })] });
    await answerOf(mcp, 'append_events', {
      database: db,
      events: [cloudEvent({ source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { customerId: 'c-1', name: 'Ada', creditLimit: 500 } })],
    });

    const { state_views } = await answerOf(mcp, 'list_state_views', { database: db });
    expect(state_views).toEqual([
      expect.objectContaining({ name: 'customer-profile', parameterized: true, parameters: ['customer_id'] }),
      expect.objectContaining({ name: 'order-summary', parameterized: false, content_type: 'application/json' }),
    ]);
    expect(await answerOf(mcp, 'render_state_view', { database: db, name: 'order-summary' })).toEqual({
      name: 'order-summary',
      version: 1,
      revision: 4,
      content_type: 'application/json',
      content: { total_orders: 2, orders_by_status: { created: 1, completed: 1, cancelled: 0 }, total_revenue: 100 },
    });
    const earlier = await answerOf(mcp, 'render_state_view', { database: db, name: 'order-summary', revision: 2 });
    expect(earlier).toMatchObject({ revision: 2, content: { total_orders: 2, orders_by_status: { created: 2, completed: 0 } } });
    const profile = await answerOf(mcp, 'render_state_view', { database: db, name: 'customer-profile', parameters: { customer_id: 'c-1' } });
    expect(profile.content).toMatchObject({ registered: true, available_credit: 500 });

    expect(await errorOf(mcp, 'render_state_view', { database: db, name: 'order-summary', revision: 99 })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'revision' } });
    expect(await errorOf(mcp, 'render_state_view', { database: db, name: 'order-summary', parameters: { customer_id: 'c-1' } })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'customer_id' } });
    expect(await errorOf(mcp, 'render_state_view', { database: db, name: 'no-such-view' })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('processes a command against process-order in a dry run, writing nothing, then for real; a business rejection is an error result', async () => {
    const db = await newDatabase();
    await publish(db, 'state-views', { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
    await publish(db, 'state-changes', { state_change_name: 'process-order', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] }, components['process-order']);
    await answerOf(mcp, 'append_events', {
      database: db,
      events: [cloudEvent({ source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { customerId: 'c-1', name: 'Ada', creditLimit: 1000 } })],
    });
    expect((await answerOf(mcp, 'list_state_changes', { database: db })).state_changes).toEqual([{ name: 'process-order', description: null, state_views: ['customer-profile'], latest_version: 1 }]);
    const command = { type: 'CreateOrder', order_id: 'o-1', customer_id: 'c-1', items: [{ product_id: 'p-1', quantity: 2, price: 29.99 }] };

    const dry = await answerOf(mcp, 'process_command', { database: db, name: 'process-order', command, dry_run: true });
    expect(dry).toEqual({ success: true, dry_run: true, revision: 2, events: [expect.objectContaining({ id: 'order-o-1', type: 'OrderCreated', subject: 'c-1', revision: 2 })] });
    expect((await answerOf(mcp, 'describe_database', { database: db })).latest_revision).toBe(1);

    const done = await answerOf(mcp, 'process_command', { database: db, name: 'process-order', command });
    expect(done).toMatchObject({ success: true, revision: 2, events: [{ id: 'order-o-1', revision: 2, recordedtime: expect.any(String), data: { total: 59.98 } }] });
    expect(done.dry_run).toBeUndefined();

    const rejected = await callTool(mcp, 'process_command', { database: db, name: 'process-order', command: { ...command, order_id: 'o-2', items: [{ product_id: 'p-1', quantity: 1, price: 5000 }] }, dry_run: true });
    expect(rejected).toEqual({ isError: true, content: { success: false, error: { code: 'INSUFFICIENT_CREDIT', message: 'Customer credit limit exceeded', details: expect.any(Object) } } });
    expect((await answerOf(mcp, 'describe_database', { database: db })).latest_revision).toBe(2);
  });
});
