/**
 * The README's walk-through, run: the shell blocks of "A walk through the API", "State views"
 * and "State changes" against a fresh server (file store, temp dir), each curl sent with fetch
 * in README order and its answer compared with the `# → …` lines written after it (see
 * test/support/readme.ts for how both are read). Then the report that prompted this test: the
 * example views must outlive events they cannot read, and process-order views it cannot trust.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExample, EXAMPLES, type ExampleName } from '../wasm-examples/build.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { BUILD_TIMEOUT_MS, TRANSPILED_DIR } from './wasm/components.ts';
import { compareAnswer, matchPattern, mutations, parseAnswer, parseCurl, parsePattern, shellBlocks, splitScript, toFetch, walkthroughSteps, type Answer } from './support/readme.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const SECTIONS = ['A walk through the API', 'State views', 'State changes'] as const;
/** Where the README's commands send their requests. */
const README_ORIGIN = 'http://127.0.0.1:8080';

// Read at collection time, so each command is a test of its own, named by its README line.
const steps = walkthroughSteps(shellBlocks(README, SECTIONS));

let ts: TestServer;
const built = new Map<string, string>();

beforeAll(async () => {
  // What `npm run build:examples` does; the README's <hash> placeholders become these paths.
  for (const name of EXAMPLES) built.set(name, await buildExample(name));
  ts = await startTestServer({ storage: 'file', componentCacheDir: TRANSPILED_DIR });
}, BUILD_TIMEOUT_MS);
afterAll(() => ts?.stop());

/** `.cache/wasm/<name>-<hash>.wasm` in the README is the example as built now. */
function builtPath(path: string): string {
  const placeholder = path.match(/^\.cache\/wasm\/([a-z0-9-]+)-<hash>\.wasm$/);
  if (!placeholder) return path;
  const file = built.get(placeholder[1]!);
  if (!file) throw new Error(`the README uploads ${path}, which is not one of the examples (${EXAMPLES.join(', ')})`);
  return file;
}

interface Ran {
  line: number;
  answer: Answer;
  response: { status: number; headers: Headers; text: string };
}
const ran: Ran[] = [];

describe('the README walk-through', () => {
  it('has commands in each section, and every curl shows the answer it gets', () => {
    for (const section of SECTIONS) {
      expect(steps.filter((s) => s.section === section && s.words[0] === 'curl').length, section).toBeGreaterThan(0);
    }
    const unanswered = steps.filter((s) => s.words[0] === 'curl' && s.answer === undefined).map((s) => `line ${s.line}`);
    expect(unanswered, 'curl commands without a "# →" answer').toEqual([]);
  });

  for (const step of steps) {
    const summary = step.words.filter((w) => !w.startsWith('-') && !w.includes('\n')).slice(0, 3).join(' ');
    it(`${step.section}, line ${step.line}: ${summary}`, async () => {
      if (step.words.join(' ') === 'npm run build:examples') {
        expect(step.answer, 'an answer after npm run build:examples, which the test cannot compare').toBeUndefined();
        expect([...built.keys()]).toEqual(EXAMPLES);
        return;
      }
      if (step.words[0] !== 'curl') throw new Error(`README line ${step.line} runs "${step.words[0]}", which this test does not know how to check`);
      const request = parseCurl(step.words.slice(1));
      const { url, init } = toFetch(request, { readmeOrigin: README_ORIGIN, baseUrl: ts.server.url, cwd: ROOT, resolvePath: builtPath });
      const res = await fetch(url, init);
      const response = { status: res.status, headers: res.headers, text: await res.text() };
      const answer = parseAnswer(step.answer!);
      const problems = compareAnswer(answer, response);
      if (problems.length === 0) ran.push({ line: step.line, answer, response });
      expect(problems, `README line ${step.line} shows "${step.answer}", the server answered ${response.status} ${response.text.slice(0, 600)}`).toEqual([]);
    });
  }

  it('would notice any change to what it shows: every value, member, status and header is compared', () => {
    // Over the commands whose answers matched; the others failed above already.
    expect(ran.length, 'commands that ran and matched').toBeGreaterThan(0);
    let tried = 0;
    const unnoticed: string[] = [];
    for (const { line, answer, response } of ran) {
      const variants: Array<[string, Answer]> = [[`status ${answer.status + 1}`, { ...answer, status: answer.status + 1 }]];
      answer.headers.forEach((header, i) => {
        if (header.value === undefined) return;
        variants.push([`${header.name}: changed`, { ...answer, headers: answer.headers.map((h, j) => (j === i ? { ...h, value: `${h.value}-changed` } : h)) }]);
      });
      if (answer.body) for (const body of mutations(answer.body)) variants.push([JSON.stringify(body).slice(0, 200), { ...answer, body }]);
      for (const [what, variant] of variants) {
        tried++;
        if (compareAnswer(variant, response).length === 0) unnoticed.push(`line ${line}: ${what}`);
      }
    }
    expect(unnoticed).toEqual([]);
    expect(tried).toBeGreaterThan(100);
  });
});

describe('how the walk-through is read', () => {
  it('reads shell words, continued lines and answers like sh and the README mean them', () => {
    const script = [
      `curl -X POST 'http://h/a?x=1' \\`,
      `  -H "Content-Type: application/json" -d '{"a":`,
      ` 1}'`,
      '# → 201, Location: /a',
      '# →  {"a":1}',
      '# a plain comment',
      'curl http://h/b   # says nothing',
    ].join('\n');
    expect(splitScript(script, 10).commands.map((c) => [c.line, c.endLine, c.words])).toEqual([
      [10, 12, ['curl', '-X', 'POST', 'http://h/a?x=1', '-H', 'Content-Type: application/json', '-d', '{"a":\n 1}']],
      [16, 16, ['curl', 'http://h/b']],
    ]);
    const read = walkthroughSteps([{ section: 's', line: 10, text: script }]);
    expect(read.map((s) => s.answer)).toEqual(['201, Location: /a\n {"a":1}', undefined]);
    expect(() => walkthroughSteps([{ section: 's', line: 1, text: 'curl http://h/\n\n# → {}' }])).toThrow(/follows no command/);
    expect(() => splitScript('curl http://h/ | jq .', 1)).toThrow(/real shell/);
    expect(() => splitScript('curl "$URL"', 1)).toThrow(/substitutions/);
  });

  it('reads curl options: methods, headers, data, forms with files and types, -i', () => {
    expect(parseCurl(['-si', 'http://h/x'])).toMatchObject({ method: 'GET', include: true, url: 'http://h/x' });
    expect(parseCurl(['-XPUT', '-d', 'a=1', '--data', 'b=2', 'http://h/x'])).toMatchObject({ method: 'PUT', data: ['a=1', 'b=2'] });
    expect(parseCurl(['-F', 'meta={"a": 1};type=application/json', '-F', 'file=@dir/f.wasm;type=application/wasm', 'http://h/x'])).toMatchObject({
      method: 'POST',
      form: [
        { name: 'meta', value: '{"a": 1}', file: false, type: 'application/json' },
        { name: 'file', value: 'dir/f.wasm', file: true, type: 'application/wasm' },
      ],
    });
    expect(() => parseCurl(['--compressed', 'http://h/x'])).toThrow(/not supported/);
    expect(() => toFetch(parseCurl(['http://elsewhere/x']), { readmeOrigin: README_ORIGIN, baseUrl: 'http://t', cwd: ROOT })).toThrow(/not to/);
    const { url, init } = toFetch(parseCurl(['-d', 'a=1', `${README_ORIGIN}/x?y=1`]), { readmeOrigin: README_ORIGIN, baseUrl: 'http://t:1', cwd: ROOT });
    expect(url).toBe('http://t:1/x?y=1');
    expect(new Headers(init.headers).get('content-type')).toBe('application/x-www-form-urlencoded');
  });

  it('compares JSON structurally, with … for what the README leaves out', () => {
    const ok = (pattern: string, actual: unknown) => matchPattern(parsePattern(pattern), actual);
    expect(ok('{"events":[…],"has_more":false}', { has_more: false, events: [1, 2] })).toEqual([]);
    expect(ok('{"a":1}', { a: 1, b: 2 })).toEqual(['$: also has b, which the README does not show (no "…")']);
    expect(ok('{"a":1,…}', { a: 1, b: 2 })).toEqual([]);
    expect(ok('[{"id":"x",…},…]', [{ id: 'x', n: 1 }, {}, {}])).toEqual([]);
    expect(ok('[…,{"id":"z"}]', [{ id: 'x' }, { id: 'z' }])).toEqual([]);
    expect(ok('[…,{"id":"z"}]', [{ id: 'z' }, { id: 'x' }])).not.toEqual([]);
    expect(ok('{"at":"2026-…Z","n":…}', { at: '2026-12-01T00:00:00Z', n: null })).toEqual([]);
    expect(ok('{"at":"…"}', { at: 5 })).not.toEqual([]);
    expect(ok('{"n":…}', {})).toEqual(['$.n: missing']);
    expect(parseAnswer('409, ETag: "…", Factum-Revision\n {"a":[1]}')).toEqual({
      status: 409,
      headers: [{ name: 'ETag', value: '"…"' }, { name: 'Factum-Revision', value: undefined }],
      body: { kind: 'object', open: false, members: [['a', { kind: 'array', items: [{ kind: 'literal', value: 1 }] }]] },
    });
    expect(() => parseAnswer('or 409 {}')).toThrow(/neither/);
  });
});

// -------------------------------------------------------------------------------------------
// The report behind this test: the walk-through's CustomerRegistered had no data, after which
// customer-profile answered 500 for c-7 for good, and order-summary failed on events without an
// orderId. The examples now skip such events and count them (wasm-examples/README.md).

async function publish(db: string, kind: 'state-views' | 'state-changes', metadata: unknown, example: ExampleName) {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('wasm', new Blob([readFileSync(built.get(example)!)], { type: 'application/wasm' }), `${example}.wasm`);
  const res = await fetch(`${ts.server.url}/databases/${db}/${kind}`, { method: 'POST', body: form });
  expect(res.status, await res.text()).toBe(201);
}

const event = (id: string, type: string, subject: string, data?: unknown) => ({ specversion: '1.0', id, source: 'report', type, subject, ...(data === undefined ? {} : { data }) });

async function append(db: string, ...events: unknown[]) {
  const reply = await ts.client.post(`/databases/${db}/events`, { events });
  expect(reply.status, reply.text).toBe(200);
}

describe('the example views outlive events they cannot read', () => {
  const db = 'report';
  const PROFILE = { state_view_name: 'customer-profile', content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' };
  const ORDER_TYPES = { type: 'or', selectors: ['OrderCreated', 'OrderCompleted', 'OrderCancelled'].map((t) => ({ type: 'equals', attr: { event_type: t } })) };

  beforeAll(async () => {
    expect((await ts.client.post('/databases', { name: db })).status).toBe(201);
    await publish(db, 'state-views', PROFILE, 'customer-profile');
    await publish(db, 'state-views', { state_view_name: 'order-summary', content_type: 'application/json', event_selector: ORDER_TYPES, query_temporality: 'revision' }, 'order-summary');
    await publish(db, 'state-changes', { state_change_name: 'process-order', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] }, 'process-order');
  }, BUILD_TIMEOUT_MS);

  it('customer-profile skips a registration without data, counts it, and keeps rendering', async () => {
    await append(db, event('c-7-registered', 'CustomerRegistered', 'c-7'));
    const first = await ts.client.get(`/databases/${db}/state-views/customer-profile?customer_id=c-7`);
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({
      customer_id: 'c-7',
      registered: false,
      name: null,
      credit_limit: 0,
      order_count: 0,
      total_spent: 0,
      available_credit: 0,
      skipped_events: 1,
      last_skipped_event: { revision: 1, id: 'c-7-registered', type: 'CustomerRegistered', reason: 'it has no data' },
    });
    // Nobody is refused an order on a guess: an unregistered customer is UNKNOWN_CUSTOMER.
    const order = { type: 'CreateOrder', order_id: 'o-1', customer_id: 'c-7', items: [{ product_id: 'p', quantity: 1, price: 1 }] };
    const refused = await ts.client.post(`/databases/${db}/state-changes/process-order/process`, { command: order });
    expect(refused.status, refused.text).toBe(404);
    expect(refused.body.error.code).toBe('UNKNOWN_CUSTOMER');

    // The correction is another event; the skipped one stays counted.
    await append(db, event('c-7-registered-again', 'CustomerRegistered', 'c-7', { customerId: 'c-7', name: 'Ada', creditLimit: 50 }));
    const fixed = await ts.client.get(`/databases/${db}/state-views/customer-profile?customer_id=c-7`);
    expect(fixed.headers.get('factum-evolved-events')).toBe('1');
    expect(fixed.body).toMatchObject({ registered: true, name: 'Ada', credit_limit: 50, skipped_events: 1, last_skipped_event: { revision: 1 } });
    const accepted = await ts.client.post(`/databases/${db}/state-changes/process-order/process`, { command: order });
    expect(accepted.status, accepted.text).toBe(200);
  });

  it('order-summary skips order events without an orderId, and takes any other string as one', async () => {
    await append(
      db,
      event('x-1', 'OrderCreated', 'order-x', { customerId: 'c-7', total: 99.99 }),
      event('x-2', 'OrderCreated', 'order-y', { orderId: '__proto__', total: 3 }),
      event('x-3', 'OrderCompleted', 'order-y', { orderId: '__proto__' }),
      event('x-4', 'OrderCreated', 'order-z', { orderId: 'constructor', total: 2 }),
    );
    const summary = await ts.client.get(`/databases/${db}/state-views/order-summary`);
    expect(summary.status, summary.text).toBe(200);
    expect(summary.body).toEqual({
      // o-1 from process-order above, __proto__ and constructor
      total_orders: 3,
      orders_by_status: { created: 2, completed: 1, cancelled: 0 },
      total_revenue: 3,
      skipped_events: 1,
      last_skipped_event: { revision: 4, id: 'x-1', type: 'OrderCreated', reason: 'orderId is not a non-empty string' },
    });
  });

  it('process-order refuses to decide on a profile it cannot trust', async () => {
    const order = (customer: string) => ({ type: 'CreateOrder', order_id: `o-${customer}`, customer_id: customer, items: [{ product_id: 'p', quantity: 1, price: 1 }] });
    // Another component published as customer-profile: its content has no "registered".
    const odd = 'report-odd';
    expect((await ts.client.post('/databases', { name: odd })).status).toBe(201);
    await publish(odd, 'state-views', PROFILE, 'order-summary');
    await publish(odd, 'state-changes', { state_change_name: 'process-order', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] }, 'process-order');
    const invalid = await ts.client.post(`/databases/${odd}/state-changes/process-order/process`, { command: order('c-7') });
    expect(invalid.status, invalid.text).toBe(500);
    expect(invalid.body).toMatchObject({ success: false, error: { code: 'INVALID_VIEW', message: 'the customer-profile view has no boolean "registered"' } });
    expect((await ts.client.get(`/databases/${odd}`)).body.latest_revision).toBe(0);
  });
});
