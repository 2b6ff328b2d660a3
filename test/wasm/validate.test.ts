import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import {
  componentHash,
  prepareComponent,
  validateStateChange,
  validateStateView,
  wasmBinaryKind,
} from '../../src/wasm/index.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from './components.ts';

/** The smallest valid core module: magic number and version 1, no sections. */
const CORE_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

let components: Awaited<ReturnType<typeof load>>;
const load = () => loadComponents('order-summary', 'place-order', 'wasi-view', 'mistyped-view');

beforeAll(async () => {
  components = await load();
}, BUILD_TIMEOUT_MS);

async function refusal(promise: Promise<unknown>): Promise<InvalidArgumentError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  return err as InvalidArgumentError;
}

describe('binary kinds', () => {
  it('tells components, core modules and other bytes apart', () => {
    expect(wasmBinaryKind(components['order-summary'])).toBe('component');
    expect(wasmBinaryKind(CORE_MODULE)).toBe('core-module');
    expect(wasmBinaryKind(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toBe('unknown');
    expect(wasmBinaryKind(new Uint8Array())).toBe('unknown');
  });
});

describe('validation at upload', () => {
  it('accepts the example state view', async () => {
    const transpiled = await validateStateView(components['order-summary']);
    expect(transpiled.imports).toEqual([]);
    expect(transpiled.exports.map(([name]) => name).sort()).toEqual(['evolve', 'initialState', 'render']);
  });

  it('accepts a state change for the state-change world', async () => {
    const transpiled = await validateStateChange(components['place-order']);
    expect(transpiled.exports).toEqual([['decide', 'function']]);
  });

  it('refuses a core module', async () => {
    const err = await refusal(validateStateView(CORE_MODULE));
    expect(err.message).toMatch(/core WebAssembly module, not a WebAssembly component/);
  });

  it('refuses random bytes', async () => {
    const random = new Uint8Array(4096).map(() => Math.floor(Math.random() * 256));
    const err = await refusal(validateStateView(random));
    expect(err.message).toMatch(/not a WebAssembly component/);
  });

  it('refuses bytes that start like a component but are not one', async () => {
    const truncated = components['order-summary'].slice(0, 1000);
    const err = await refusal(validateStateView(truncated));
    expect(err.message).toMatch(/not a valid WebAssembly component/);
  });

  it('refuses a component that imports WASI', async () => {
    const err = await refusal(validateStateView(components['wasi-view']));
    expect(err.message).toMatch(/imports wasi:/);
    expect(err.message).toMatch(/must import nothing/);
    expect((err.details.imports as string[]).length).toBeGreaterThan(0);
  });

  it('refuses a component of another world, naming the missing functions', async () => {
    const err = await refusal(validateStateView(components['place-order']));
    expect(err.message).toMatch(/does not export initial-state, evolve, render|does not export evolve, initial-state, render/);
    expect(err.message).toMatch(/exports decide which the world does not have/);
    expect(err.details).toMatchObject({ reason: 'wrong_world', world: 'state-view' });
  });

  it('refuses a state view offered as a state change', async () => {
    const err = await refusal(validateStateChange(components['order-summary']));
    expect(err.message).toMatch(/does not export decide/);
  });

  it('refuses a component whose functions have the right names but other types', async () => {
    const err = await refusal(validateStateView(components['mistyped-view']));
    expect(err.message).toMatch(/signatures differ from the state-view world/);
  });
});

describe('transpile cache', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'factum-wasm-cache-'));
  });
  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('transpiles a version once and finds it by content hash afterwards', async () => {
    const bytes = components['order-summary'];
    const first = await prepareComponent(bytes, 'state-view', cacheDir);
    expect(first.hash).toBe(componentHash(bytes));
    expect(first.moduleUrl).toMatch(/\/component\.mjs$/);
    const files = (await readdir(first.dir)).sort();
    expect(files).toContain('component.mjs');
    expect(files).toContain('manifest.json');
    expect(files.some((f) => f.endsWith('.wasm'))).toBe(true);
    const writtenAt = (await stat(join(first.dir, 'manifest.json'))).mtimeMs;

    const again = await prepareComponent(bytes, 'state-view', cacheDir);
    expect(again).toEqual(first);
    // Transpiling again would have rewritten the entry.
    expect((await stat(join(first.dir, 'manifest.json'))).mtimeMs).toBe(writtenAt);
  });

  it('does not cache refusals', async () => {
    await refusal(prepareComponent(components['wasi-view'], 'state-view', cacheDir));
    expect(await readdir(cacheDir)).not.toContain(componentHash(components['wasi-view']));
  });

  it('re-checks cached bytes against another world', async () => {
    await prepareComponent(components['order-summary'], 'state-view', cacheDir);
    await refusal(prepareComponent(components['order-summary'], 'state-change', cacheDir));
  });
});
