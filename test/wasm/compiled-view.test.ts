/**
 * order-summary-c is order-summary compiled from C: for the same events it must render the same
 * bytes as the JavaScript view, in whatever batches the events come, including events it has to
 * skip and data that only a careful JSON reader gets right (escapes, duplicate keys, a byte
 * order mark, invalid UTF-8, deep nesting, numbers at the edges of rounding).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/core/events.ts';
import { ComponentHost, StateViewError, toWitEvent, type WitEvent } from '../../src/wasm/index.ts';
import { EXAMPLES_DIR } from '../../wasm-examples/build.ts';
import { compileCCoreModule } from '../../wasm-examples/compile-c.ts';
import { BUILD_TIMEOUT_MS, loadComponents, TRANSPILED_DIR } from './components.ts';

interface ViewModule {
  initialState(params: Array<[string, string]>): Uint8Array;
  evolve(state: Uint8Array, events: WitEvent[], params: Array<[string, string]>): Uint8Array;
  render(state: Uint8Array, params: Array<[string, string]>): Uint8Array;
}

const C_KEY = 'shop/order-summary-c@1';
const JS_KEY = 'shop/order-summary@1';
let host: ComponentHost;
let view: ViewModule;

beforeAll(async () => {
  const components = await loadComponents('order-summary', 'order-summary-c');
  host = new ComponentHost({ cacheDir: TRANSPILED_DIR, limits: { timeMs: 10_000 } });
  await host.prepare(C_KEY, components['order-summary-c']);
  await host.prepare(JS_KEY, components['order-summary']);
  view = (await import(pathToFileURL(join(EXAMPLES_DIR, 'order-summary', 'view.js')).href)) as ViewModule;
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
});

/** A deterministic pseudo-random sequence (a 32-bit LCG), so a failure can be replayed. */
function randomSource(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // The high bits: an LCG's low bits repeat with short periods.
    return Math.floor((x / 2 ** 32) * n);
  };
}

const ORDER_IDS = ['o-1', 'o-2', 'o-3', '__proto__', 'constructor', 'hasOwnProperty', 'o-é', 'o-😀', 'o-"q"', 'o\\1', 'o-\u0001', ''];
const TOTALS: unknown[] = [0, 0.1, 0.2, 99.99, 49.995, 1.005, 2.675, 0.07, 1e-7, 123456.785, 1e9 + 0.01, 3.5e11, 1e14, 4.2e20, 1e300, -0, -1, 'five', null, true, [1], { v: 1 }];
const TYPES = ['OrderCreated', 'OrderCompleted', 'OrderCancelled', 'CustomerRegistered', 'constructor', 'orderCreated'];

/** Data texts that JSON.stringify would never write, given as raw bytes. */
const RAW_DATA = [
  '{"order\\u0049d":"o-1","total":1.50}',
  '{"orderId":"o-2","orderId":"o-3","total":"x","total":7}',
  '\ufeff{"orderId":"o-1","total":3}',
  ' \t\r\n{ "orderId" : "o-\\ud83d\\ude00" , "total" : 2e2 }\n',
  '{"orderId":"o-\\ud800","total":1}',
  '{"orderId":"o-\\"q\\"","total":12.345e1}',
  '{"orderId":"o-1","total":1E-2,"nested":[{"a":[[[[{}]]]],"b":null},false,true,-0.5e+3,"\\/\\b\\f\\n\\r\\t"]}',
  `{"orderId":"o-1","deep":${'['.repeat(500)}${']'.repeat(500)},"total":4}`,
  `{"orderId":"o-1","deep":${'['.repeat(500)}${']'.repeat(499)},"total":4}`,
  '{"orderId":"o-1","total":0.1000000000000000055511151231257827}',
  '{"orderId":"o-1","total":123456789012345678901234567890}',
  '{"orderId":"o-1","total":1e400}',
  '{"orderId":"o-1","total":-1e-400}',
  '{"orderId":"o-1","total":01}',
  '{"orderId":"o-1","total":1.}',
  '{"orderId":"o-1","total":.5}',
  '{"orderId":"o-1","total":+1}',
  '{"orderId":"o-1","total":1,}',
  '{"orderId":"o-1" "total":1}',
  "{'orderId':'o-1'}",
  '{"orderId":"o-1\u0001"}',
  '{"orderId":"o-\\x"}',
  '{"orderId":"o-1"}   x',
  '[{"orderId":"o-1"}]',
  '"a string"',
  '42',
  'null',
  '',
  '   ',
  '{}',
  '{"orderId":null}',
  '{"orderId":"o-1","total":NaN}',
];
/** Bytes that are not UTF-8: TextDecoder reads each bad sequence as U+FFFD. */
const RAW_BYTES = [
  Buffer.concat([Buffer.from('{"orderId":"o-'), Buffer.from([0xff]), Buffer.from('","total":1}')]),
  Buffer.concat([Buffer.from('{"orderId":"o-'), Buffer.from([0xfe]), Buffer.from('","total":1}')]),
  Buffer.concat([Buffer.from('{"orderId":"o-'), Buffer.from([0xe2, 0x82]), Buffer.from('","total":1}')]),
  Buffer.concat([Buffer.from('{"orderId":"o-'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","total":1}')]),
  Buffer.concat([Buffer.from('{"orderId":"o-'), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"orderId":"o-1"'), Buffer.from([0xc3]), Buffer.from('}')]),
];

function randomEvents(count: number, seed: number): StoredEvent[] {
  const pick = randomSource(seed);
  const events: StoredEvent[] = [];
  for (let i = 0; i < count; i++) {
    const revision = i + 1;
    const type = TYPES[pick(TYPES.length)]!;
    const base: StoredEvent = {
      specversion: '1.0',
      id: pick(10) === 0 ? `e-${revision}-"\\\n\u0007é` : `e-${revision}`,
      source: 'shop',
      type,
      datacontenttype: 'application/json',
      revision,
      recordedtime: '2026-11-25T10:00:00Z',
    };
    const shape = pick(20);
    if (shape === 0) {
      events.push({ ...base, datacontenttype: undefined });
    } else if (shape === 1) {
      events.push({ ...base, data_base64: Buffer.from(RAW_DATA[pick(RAW_DATA.length)]!).toString('base64') });
    } else if (shape === 2) {
      events.push({ ...base, data_base64: RAW_BYTES[pick(RAW_BYTES.length)]!.toString('base64') });
    } else if (shape === 3) {
      events.push({ ...base, data: ['o-1'] });
    } else {
      const data: Record<string, unknown> = { orderId: ORDER_IDS[pick(ORDER_IDS.length)]!, note: 'n'.repeat(pick(40)) };
      // Totals mostly well-formed, sometimes missing, sometimes wrong.
      const total = pick(4) === 0 ? TOTALS[pick(TOTALS.length)] : pick(1_000_000) / 100;
      if (pick(6) !== 0 || type === 'OrderCreated') data.total = total;
      events.push({ ...base, data });
    }
  }
  return events;
}

function jsRender(events: StoredEvent[], batch: number): Buffer {
  let state = view.initialState([]);
  for (let i = 0; i < events.length; i += batch) state = view.evolve(state, events.slice(i, i + batch).map(toWitEvent), []);
  return Buffer.from(view.render(state, []));
}

async function componentRender(key: string, events: StoredEvent[], batch: number): Promise<Buffer> {
  let state = await host.initialState(key);
  for (let i = 0; i < events.length; i += batch) state = await host.evolve(key, state, events.slice(i, i + batch));
  return Buffer.from(await host.render(key, state));
}

describe('order-summary compiled from C', () => {
  it('renders the same bytes as the JavaScript view, for every prefix of a mixed history', async () => {
    const events = randomEvents(600, 7);
    let state = await host.initialState(C_KEY);
    let jsState = view.initialState([]);
    for (let i = 0; i < events.length; i++) {
      state = await host.evolve(C_KEY, state, [events[i]!]);
      jsState = view.evolve(jsState, [toWitEvent(events[i]!)], []);
      const rendered = Buffer.from(await host.render(C_KEY, state)).toString('utf8');
      expect(rendered, `after event ${i + 1}`).toBe(Buffer.from(view.render(jsState, [])).toString('utf8'));
    }
  });

  it('renders the same bytes as the JavaScript view and its component over thousands of events in batches', async () => {
    for (const [seed, batch] of [
      [1, 1000],
      [2, 37],
      [3, 250],
    ] as const) {
      const events = randomEvents(4000, seed);
      const expected = jsRender(events, batch);
      expect((await componentRender(C_KEY, events, batch)).toString('utf8')).toBe(expected.toString('utf8'));
      expect((await componentRender(JS_KEY, events, batch)).toString('utf8')).toBe(expected.toString('utf8'));
    }
  });

  it('prints revenue as JavaScript prints numbers, from cents to amounts no shop will see', async () => {
    const totals = [0.01, 0.1, 1.005, 2.675, 99.99, 1e-7, 123456.785, 3.5e11, 3.6e11, 1e14, 12345678901234.56, 4.2e20, 1e21, 1.7976931348623157e306, 5e-324];
    for (const total of totals) {
      const events: StoredEvent[] = ['OrderCreated', 'OrderCompleted'].map((type, i) => ({
        specversion: '1.0',
        id: `e-${i}`,
        source: 'shop',
        type,
        data: { orderId: 'o-1', total },
        revision: i + 1,
        recordedtime: '2026-11-25T10:00:00Z',
      }));
      expect((await componentRender(C_KEY, events, 2)).toString('utf8'), String(total)).toBe(jsRender(events, 2).toString('utf8'));
    }
  });

  it('skips what the JavaScript view skips, with the same reasons', async () => {
    const events = randomEvents(4000, 11);
    const rendered = JSON.parse((await componentRender(C_KEY, events, 500)).toString('utf8')) as { skipped_events: number };
    // The mix is meant to exercise the skipping paths: make sure it does.
    expect(rendered.skipped_events).toBeGreaterThan(100);
    for (const raw of [...RAW_DATA.map((text) => Buffer.from(text)), ...RAW_BYTES]) {
      const event: StoredEvent = {
        specversion: '1.0',
        id: 'raw',
        source: 'shop',
        type: 'OrderCreated',
        datacontenttype: 'application/json',
        data_base64: raw.toString('base64'),
        revision: 9,
        recordedtime: '2026-11-25T10:00:00Z',
      };
      expect((await componentRender(C_KEY, [event], 1)).toString('utf8'), raw.toString('utf8')).toBe(jsRender([event], 1).toString('utf8'));
    }
  });

  it('keeps its state small and binary, and refuses a state it did not write', async () => {
    const events = randomEvents(2000, 5);
    const cState = await host.evolve(C_KEY, await host.initialState(C_KEY), events);
    const jsState = view.evolve(view.initialState([]), events.map(toWitEvent), []);
    expect(Buffer.from(cState).subarray(0, 4).toString('latin1')).toBe('OSC1');
    expect(cState.byteLength).toBeLessThan(jsState.byteLength);
    for (const bad of [jsState, new Uint8Array(0), cState.subarray(0, cState.byteLength - 1), Buffer.concat([cState, Buffer.from([0])])]) {
      const err = await host.render(C_KEY, bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateViewError);
      expect(err).toMatchObject({ kind: 'internal' });
      expect((err as Error).message).toMatch(/not an order-summary state/);
    }
  });

  it('gives its memory back after every call', async () => {
    // The host would hide a leak (it replaces an instance that grows past half its limit), so
    // this drives the core module's exports directly, as the canonical ABI does: arguments in
    // through cabi_realloc, the call, the result read out, then the post-return function.
    const module = await WebAssembly.compile(await compileCCoreModule(join(EXAMPLES_DIR, 'order-summary-c')));
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    const { exports } = await WebAssembly.instantiate(module, {});
    const abi = exports as unknown as CoreExports;
    const view = new CoreView(abi);
    let state = view.call('initial-state', (realloc) => [realloc(0, 0, 4, 0), 0]);
    const events = Array.from({ length: 1000 }, (_, i) => ({
      type: 'OrderCreated',
      id: `e-${i}`,
      data: JSON.stringify({ orderId: `o-${i % 100}`, total: i / 100, note: 'n'.repeat(100) }),
    }));
    for (let call = 0; call < 200; call++) state = view.call('evolve', (realloc) => [...view.bytes(realloc, state), ...view.events(realloc, events), realloc(0, 0, 4, 0), 0]);
    const rendered = JSON.parse(Buffer.from(view.call('render', (realloc) => [...view.bytes(realloc, state), realloc(0, 0, 4, 0), 0])).toString('utf8'));
    expect(rendered).toMatchObject({ total_orders: 100, orders_by_status: { created: 100, completed: 0, cancelled: 0 } });
    // A call needs well under a megabyte; 200 calls that kept their memory would need 60.
    expect(abi.memory.buffer.byteLength).toBeLessThan(4 * 1024 * 1024);
  });
});

interface CoreExports {
  memory: WebAssembly.Memory;
  cabi_realloc(old: number, oldSize: number, align: number, size: number): number;
  [name: string]: unknown;
}

/** Lowers arguments into the core module's memory and lifts a result<list<u8>, view-error> out. */
class CoreView {
  readonly #abi: CoreExports;
  constructor(abi: CoreExports) {
    this.#abi = abi;
  }

  call(name: string, args: (realloc: CoreExports['cabi_realloc']) => number[]): Uint8Array {
    const fn = this.#abi[name] as (...params: number[]) => number;
    const post = this.#abi[`cabi_post_${name}`] as (ret: number) => void;
    const ret = fn(...args(this.#abi.cabi_realloc));
    const words = new DataView(this.#abi.memory.buffer);
    if (words.getUint8(ret) !== 0) throw new Error(`${name} returned its error variant`);
    const out = new Uint8Array(this.#abi.memory.buffer, words.getUint32(ret + 4, true), words.getUint32(ret + 8, true)).slice();
    post(ret);
    return out;
  }

  bytes(realloc: CoreExports['cabi_realloc'], bytes: Uint8Array): [number, number] {
    const ptr = realloc(0, 0, 1, bytes.length);
    new Uint8Array(this.#abi.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  /** A list<event> with the given type, id and data; every other string empty, every option none. */
  events(realloc: CoreExports['cabi_realloc'], events: Array<{ type: string; id: string; data: string }>): [number, number] {
    const base = realloc(0, 0, 8, events.length * 120);
    events.forEach((event, i) => {
      const [idPtr, idLen] = this.bytes(realloc, Buffer.from(event.id));
      const [typePtr, typeLen] = this.bytes(realloc, Buffer.from(event.type));
      const [dataPtr, dataLen] = this.bytes(realloc, Buffer.from(event.data));
      const record = new DataView(this.#abi.memory.buffer, base + i * 120, 120);
      for (let offset = 0; offset < 120; offset += 4) record.setUint32(offset, 0, true);
      record.setUint32(8, idPtr, true);
      record.setUint32(12, idLen, true);
      record.setUint32(24, typePtr, true);
      record.setUint32(28, typeLen, true);
      record.setUint8(80, 1); // data: some
      record.setUint32(84, dataPtr, true);
      record.setUint32(88, dataLen, true);
      record.setBigUint64(104, BigInt(i + 1), true);
    });
    return [base, events.length];
  }
}
