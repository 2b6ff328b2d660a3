/**
 * The components the wasm tests use: the two examples and the fixtures under ./fixtures, each
 * built once and cached under .cache/wasm (see wasm-examples/build.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredEvent } from '../../src/core/events.ts';
import { buildComponent, buildExample, BUILD_CACHE_DIR, ALL_FEATURES, type ComponentSource, type ExampleName } from '../../wasm-examples/build.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** Where the tests keep transpiled components between runs. */
export const TRANSPILED_DIR = join(BUILD_CACHE_DIR, 'transpiled');

/** A first build of every component takes about a minute on two cores. */
export const BUILD_TIMEOUT_MS = 300_000;

export const FIXTURE_SOURCES = {
  'misbehaving-view': {
    name: 'misbehaving-view',
    sourcePath: join(FIXTURES, 'misbehaving-view', 'view.js'),
    world: 'state-view',
  },
  'wasi-view': {
    name: 'wasi-view',
    sourcePath: join(FIXTURES, 'wasi-view', 'view.js'),
    world: 'state-view',
    features: ALL_FEATURES,
  },
  'mistyped-view': {
    name: 'mistyped-view',
    sourcePath: join(FIXTURES, 'mistyped-view', 'view.js'),
    witPath: join(FIXTURES, 'mistyped-view', 'mistyped.wit'),
    world: 'state-view',
  },
  'misbehaving-change': {
    name: 'misbehaving-change',
    sourcePath: join(FIXTURES, 'misbehaving-change', 'decide.js'),
    world: 'state-change',
  },
  'place-order': {
    name: 'place-order',
    sourcePath: join(FIXTURES, 'place-order', 'decide.js'),
    world: 'state-change',
  },
} satisfies Record<string, ComponentSource>;

export type FixtureName = keyof typeof FIXTURE_SOURCES;
export type ComponentName = FixtureName | ExampleName;

export async function buildTestComponent(name: ComponentName): Promise<string> {
  if (name in FIXTURE_SOURCES) return buildComponent(FIXTURE_SOURCES[name as FixtureName]);
  return buildExample(name as ExampleName);
}

/** Builds (once, one after the other) and reads the named components. */
export async function loadComponents<N extends ComponentName>(...names: N[]): Promise<Record<N, Uint8Array>> {
  const out = {} as Record<N, Uint8Array>;
  for (const name of names) out[name] = new Uint8Array(await readFile(await buildTestComponent(name)));
  return out;
}

let revision = 0;

/** A stored event as the store hands it out, with the next revision. */
export function storedEvent(type: string, data: unknown, extra: Partial<StoredEvent> = {}): StoredEvent {
  revision += 1;
  return {
    specversion: '1.0',
    id: `evt-${revision}`,
    source: 'shop',
    type,
    time: '2026-11-25T10:00:00Z',
    datacontenttype: 'application/json',
    data,
    revision,
    recordedtime: '2026-11-25T10:00:01Z',
    ...extra,
  };
}

const decoder = new TextDecoder();

export function json(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}
