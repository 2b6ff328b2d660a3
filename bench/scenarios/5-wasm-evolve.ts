/**
 * 5. How fast the order-summary state view folds events as a WebAssembly component (through
 *    the server's component host: worker thread, WIT conversion, state in and out) against the
 *    same reducer as plain JavaScript in this process: the example's own view.js, imported as an
 *    ES module. The component comes twice: built from that view.js (componentize-js: its own
 *    engine, JSON state), and compiled from C (order-summary-c: the same reducer, a binary
 *    state). All three fold the same events from the same state and must render the same bytes.
 *
 *    The state holds STEADY_ORDERS orders and the events move them between statuses, so it
 *    keeps one size and every call pays the same cost (the view reads and writes its whole
 *    state on every call).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { StoredEvent } from '../../src/core/events.ts';
import { ComponentHost, toWitEvent, type WitEvent } from '../../src/wasm/index.ts';
import { buildExample, EXAMPLES_DIR } from '../../wasm-examples/build.ts';
import { best, inTurn, progress, type BenchContext } from '../lib/context.ts';
import { TRANSPILED_CACHE_DIR } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

const BATCH = 1000;
const STEADY_ORDERS = 1000;
/** Upper bound on calls per measurement, whatever the duration. */
const MAX_CALLS = 200_000;
const KEY = 'bench/order-summary';
const C_KEY = 'bench/order-summary-c';

interface ViewModule {
  initialState(params: Array<[string, string]>): Uint8Array;
  evolve(state: Uint8Array, events: WitEvent[], params: Array<[string, string]>): Uint8Array;
  render(state: Uint8Array, params: Array<[string, string]>): Uint8Array;
}

const TYPES = ['OrderCompleted', 'OrderCancelled', 'OrderCreated'] as const;

/** Event `j` of the stream: order `j mod STEADY_ORDERS` moves to the next status. */
function orderEvent(j: number, type: string): StoredEvent {
  const orderId = `o-${j % STEADY_ORDERS}`;
  const data: Record<string, unknown> = { orderId, customerId: `c-${j % 97}`, items: (j % 9) + 1, note: 'x'.repeat(120) };
  if (type === 'OrderCreated') data.total = (j % 10_000) / 100 + 1;
  return {
    specversion: '1.0',
    id: `e-${j}`,
    source: 'bench',
    type,
    subject: orderId,
    datacontenttype: 'application/json',
    data,
    revision: j + 1,
    recordedtime: '2024-01-01T00:00:00.000Z',
  };
}

/** Runs `step` for up to `seconds` (and MAX_CALLS calls); events per second. */
async function measure(seconds: number, eventsPerCall: number, step: (call: number) => Promise<void> | void): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let calls = 0;
  while (performance.now() < deadline && calls < MAX_CALLS) await step(calls++);
  return (calls * eventsPerCall) / ((performance.now() - started) / 1000);
}

export async function wasmEvolve(ctx: BenchContext): Promise<Row[]> {
  const seconds = Math.max(1, ctx.options.durationS / 2);
  const created = Array.from({ length: STEADY_ORDERS }, (_, j) => orderEvent(j, 'OrderCreated'));
  // Three passes over every order: completed, cancelled, created again; then it repeats.
  const stream = Array.from({ length: 3 * STEADY_ORDERS }, (_, j) => orderEvent(STEADY_ORDERS + j, TYPES[Math.floor(j / STEADY_ORDERS)]!));
  const batchOf = (call: number) => stream.slice((call * BATCH) % stream.length, ((call * BATCH) % stream.length) + BATCH);

  const view = (await import(pathToFileURL(join(EXAMPLES_DIR, 'order-summary', 'view.js')).href)) as ViewModule;
  const host = new ComponentHost({ cacheDir: TRANSPILED_CACHE_DIR });
  try {
    progress('5: preparing the order-summary components (JavaScript and C)');
    await host.prepare(KEY, new Uint8Array(await readFile(await buildExample('order-summary'))));
    await host.prepare(C_KEY, new Uint8Array(await readFile(await buildExample('order-summary-c'))));

    const wasmStart = await host.evolve(KEY, await host.initialState(KEY), created);
    const jsStart = view.evolve(view.initialState([]), created.map(toWitEvent), []);
    // The copy must be faithful: the same events give the same content.
    const wasmEnd = await host.render(KEY, await host.evolve(KEY, wasmStart, stream));
    const jsEnd = view.render(view.evolve(jsStart, stream.map(toWitEvent), []), []);
    const decode = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (!isDeepStrictEqual(decode(wasmEnd), decode(jsEnd))) throw new Error('the component and view.js rendered different content');
    const cStart = await host.evolve(C_KEY, await host.initialState(C_KEY), created);
    const cEnd = await host.render(C_KEY, await host.evolve(C_KEY, cStart, stream));
    if (!Buffer.from(cEnd).equals(Buffer.from(jsEnd))) throw new Error('the C component and view.js rendered different bytes');

    let state = wasmStart;
    let cState = cStart;
    let jsState = jsStart;
    const { rounds } = ctx.options;
    let round = 0;
    const results = await inTurn(rounds, {
      wasmBatched: () => {
        progress(`5: round ${++round}/${rounds}: WebAssembly from JavaScript, from C, then plain JavaScript, ${BATCH} events per call, then 1 per call (${seconds} s each)`);
        state = wasmStart;
        return measure(seconds, BATCH, async (call) => {
          state = await host.evolve(KEY, state, batchOf(call));
        });
      },
      cBatched: () => {
        cState = cStart;
        return measure(seconds, BATCH, async (call) => {
          cState = await host.evolve(C_KEY, cState, batchOf(call));
        });
      },
      jsBatched: () => {
        jsState = jsStart;
        return measure(seconds, BATCH, (call) => {
          jsState = view.evolve(jsState, batchOf(call).map(toWitEvent), []);
        });
      },
      wasmSingle: () => {
        state = wasmStart;
        return measure(seconds, 1, async (call) => {
          state = await host.evolve(KEY, state, [stream[call % stream.length]!]);
        });
      },
      cSingle: () => {
        cState = cStart;
        return measure(seconds, 1, async (call) => {
          cState = await host.evolve(C_KEY, cState, [stream[call % stream.length]!]);
        });
      },
      jsSingle: () => {
        jsState = jsStart;
        return measure(seconds, 1, (call) => {
          jsState = view.evolve(jsState, [toWitEvent(stream[call % stream.length]!)], []);
        });
      },
    });
    const fastest = (rates: number[]) => best(rates, (r) => r);
    const [wasmBatched, cBatched, jsBatched, wasmSingle, cSingle, jsSingle] = [
      results.wasmBatched,
      results.cBatched,
      results.jsBatched,
      results.wasmSingle,
      results.cSingle,
      results.jsSingle,
    ].map(fastest) as [number, number, number, number, number, number];

    const batchedRatio = ratio(wasmBatched, jsBatched);
    return [
      {
        id: '5a',
        what: `WebAssembly evolve (from JavaScript), ${BATCH} events per call`,
        result: { value: wasmBatched, unit: 'events/s' },
        baseline: { what: 'same reducer as plain JS', value: jsBatched, unit: 'events/s' },
        ratio: batchedRatio,
        target: '≥ 100 000 events/s',
        met: wasmBatched >= 100_000,
        notes: `order-summary over a state of ${STEADY_ORDERS} orders (${wasmStart.byteLength.toLocaleString('en-US')} bytes of JSON), ~${Buffer.byteLength(JSON.stringify(stream[0]!.data))} B of data per event; the component runs in the server's worker pool, the JS in-process; best of ${rounds} rounds each`,
      },
      {
        id: '5b',
        what: 'WebAssembly evolve (from JavaScript), 1 event per call',
        result: { value: wasmSingle, unit: 'events/s' },
        baseline: { what: 'same reducer as plain JS', value: jsSingle, unit: 'events/s' },
        ratio: ratio(wasmSingle, jsSingle),
      },
      {
        id: '5c',
        what: `WebAssembly evolve (compiled from C), ${BATCH} events per call`,
        result: { value: cBatched, unit: 'events/s' },
        baseline: { what: 'same reducer as plain JS', value: jsBatched, unit: 'events/s' },
        ratio: ratio(cBatched, jsBatched),
        target: '≥ 100 000 events/s and ≥ 0.50×',
        met: cBatched >= 100_000 && ratio(cBatched, jsBatched) >= 0.5,
        notes: `order-summary-c, a binary state of ${cStart.byteLength.toLocaleString('en-US')} bytes for the same ${STEADY_ORDERS} orders; renders the same bytes as view.js`,
      },
      {
        id: '5d',
        what: 'WebAssembly evolve (compiled from C), 1 event per call',
        result: { value: cSingle, unit: 'events/s' },
        baseline: { what: 'same reducer as plain JS', value: jsSingle, unit: 'events/s' },
        ratio: ratio(cSingle, jsSingle),
      },
    ];
  } finally {
    await host.close();
  }
}
