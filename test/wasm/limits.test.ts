import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ComponentFailedError,
  ComponentHost,
  ComponentMemoryLimitError,
  ComponentOutputLimitError,
  ComponentTimeLimitError,
} from '../../src/wasm/index.ts';
import { BUILD_TIMEOUT_MS, json, loadComponents, storedEvent, TRANSPILED_DIR } from './components.ts';

const MiB = 1024 * 1024;
const TIME_LIMIT_MS = 2_000;

let host: ComponentHost;
const VIEW = 'shop/order-summary@1';
const HOSTILE = 'shop/misbehaving@1';

beforeAll(async () => {
  const components = await loadComponents('order-summary', 'misbehaving-view');
  host = new ComponentHost({
    cacheDir: TRANSPILED_DIR,
    limits: { timeMs: TIME_LIMIT_MS, memoryBytes: 64 * MiB, outputBytes: 1 * MiB },
    workers: 2,
  });
  await host.prepare(VIEW, components['order-summary']);
  await host.prepare(HOSTILE, components['misbehaving-view']);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
});

/** The well-behaved view still answers correctly. */
async function viewStillWorks(): Promise<void> {
  const events = [
    storedEvent('OrderCreated', { orderId: 'o-1', customerId: 'c-1', total: 20 }),
    storedEvent('OrderCompleted', { orderId: 'o-1' }),
  ];
  const state = await host.evolve(VIEW, await host.initialState(VIEW), events);
  expect(json(await host.render(VIEW, state))).toEqual({
    total_orders: 1,
    orders_by_status: { created: 0, completed: 1, cancelled: 0 },
    total_revenue: 20,
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('a well-behaved call of the misbehaving fixture', () => {
  it('works, so the failures below are its misbehaviour', async () => {
    const state = await host.evolve(HOSTILE, await host.initialState(HOSTILE), [storedEvent('X', {}), storedEvent('Y', {})]);
    expect(new TextDecoder().decode(await host.render(HOSTILE, state))).toBe('2');
  });
});

describe('time limit', () => {
  it('stops an endless loop at the deadline and keeps other components working', async () => {
    await viewStillWorks(); // warm: the view is instantiated in a worker
    const started = performance.now();
    const err = await failure(host.initialState(HOSTILE, { mode: 'loop' }));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(ComponentTimeLimitError);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', limit: 'time' });
    expect(err.message).toMatch(/time limit of 2000 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(TIME_LIMIT_MS - 50);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS + 10_000);
    await viewStillWorks();
  });

  it('lets other calls proceed on another worker while one loops', async () => {
    // Both workers get the view first (two calls at once take both), so what the other call
    // measures below is waiting for a worker, not instantiating the view.
    await Promise.all([viewStillWorks(), viewStillWorks()]);
    const started = performance.now();
    const looping = failure(host.render(HOSTILE, new Uint8Array(), { mode: 'loop' })).then((err) => ({ err, ms: performance.now() - started }));
    await viewStillWorks();
    const otherMs = performance.now() - started;
    const { err, ms: loopMs } = await looping;
    expect(err).toBeInstanceOf(ComponentTimeLimitError);
    expect(loopMs).toBeGreaterThanOrEqual(TIME_LIMIT_MS - 50);
    // Had the view waited for the loop's worker, it would have finished only after the time
    // limit fired; on the other worker it takes milliseconds, far ahead of it.
    expect(otherMs).toBeLessThan(loopMs - TIME_LIMIT_MS / 2);
  });
});

describe('memory limit', () => {
  it('stops a component that allocates without bound', async () => {
    // Its own host with a generous time limit: on a busy machine, filling 64 MiB inside the
    // component's interpreter can take longer than the 2 s the time-limit tests use, and the
    // memory limit, not the clock, is what this test is about.
    const roomy = new ComponentHost({ cacheDir: TRANSPILED_DIR, limits: { timeMs: 60_000, memoryBytes: 64 * MiB }, workers: 1 });
    try {
      await roomy.prepare(HOSTILE, (await loadComponents('misbehaving-view'))['misbehaving-view']);
      const err = await failure(roomy.initialState(HOSTILE, { mode: 'grow' }));
      expect(err).toBeInstanceOf(ComponentMemoryLimitError);
      expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', limit: 'memory' });
      expect(err.message).toMatch(/out of memory/);
      const used = (err as ComponentMemoryLimitError).details.memory_bytes as number;
      expect(used).toBeLessThanOrEqual(64 * MiB);
      expect(used).toBeGreaterThan(50 * MiB);
      // The fixture itself gets a fresh instance.
      expect(new TextDecoder().decode(await roomy.initialState(HOSTILE))).toBe('0');
    } finally {
      await roomy.close();
    }
    await viewStillWorks();
  }, 90_000);

  it('does not let garbage left by many calls add up to the limit', async () => {
    // Each call copies the 256 KiB state into the component, which collects it lazily: without
    // fresh instances, 400 calls would leave 100 MiB behind in a 64 MiB limit.
    const state = new Uint8Array(256 * 1024).fill(48);
    for (let i = 0; i < 400; i++) {
      const out = await host.render(HOSTILE, state);
      expect(out.byteLength).toBe(state.byteLength);
    }
  });

  it('refuses to start a component whose initial memory is above the limit', async () => {
    const small = new ComponentHost({ cacheDir: TRANSPILED_DIR, limits: { memoryBytes: 4 * MiB }, workers: 1 });
    try {
      await small.prepare(VIEW, (await loadComponents('order-summary'))['order-summary']);
      const err = await failure(small.initialState(VIEW));
      expect(err).toBeInstanceOf(ComponentMemoryLimitError);
      expect(err.message).toMatch(/starts with .* of memory, more than its limit of 4 MiB/);
    } finally {
      await small.close();
    }
  });
});

describe('output limit', () => {
  it('refuses a result larger than the limit', async () => {
    const err = await failure(host.render(HOSTILE, new Uint8Array(), { mode: 'big', size: String(4 * MiB) }));
    expect(err).toBeInstanceOf(ComponentOutputLimitError);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', limit: 'output' });
    expect(err.message).toMatch(/returned 4 MiB, more than the limit of 1 MiB/);
    await viewStillWorks();
  });

  it('accepts a result just under the limit', async () => {
    const out = await host.render(HOSTILE, new Uint8Array(), { mode: 'big', size: String(MiB - 1024) });
    expect(out.byteLength).toBe(MiB - 1024);
  });
});

describe('crashes', () => {
  it('reports a trap as a failure and gives the component a fresh instance', async () => {
    const err = await failure(host.evolve(HOSTILE, new TextEncoder().encode('0'), [storedEvent('X', {})], { mode: 'throw' }));
    expect(err).toBeInstanceOf(ComponentFailedError);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(err.message).toMatch(/component "shop\/misbehaving@1" failed: .*unreachable/);
    expect(new TextDecoder().decode(await host.initialState(HOSTILE))).toBe('0');
    await viewStillWorks();
  });
});
